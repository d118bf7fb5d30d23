"""The exception family of mohilbert.

Every predictable problem with user input raises a subclass of :class:`MohilbertError` whose
message is one line naming the file or run, what was found, and what to do about it. Workflow
scripts catch :class:`MohilbertError` and print only that line; anything else is a bug.
"""

from __future__ import annotations


class MohilbertError(Exception):
    """Base class of every error mohilbert raises on purpose."""


class InputError(MohilbertError, ValueError):
    """A raw data file cannot be read or does not contain what was asked for."""


class FormatError(InputError):
    """A file's format is unknown, or the file does not follow the format it claims."""


class OutputError(MohilbertError, OSError):
    """An output file cannot be written (no space left on the device, no permission, ...)."""


class DamagedFileError(InputError):
    """A pipeline file (results/...) is unreadable or was not written by mohilbert."""


class SheetError(MohilbertError, ValueError):
    """The runs sheet or the configuration is invalid (names the row and column)."""


class CalibrationError(MohilbertError, RuntimeError):
    """Calibration of a run failed (no fringes, no reference absorption, T <= 0, ...)."""


class FitError(MohilbertError, RuntimeError):
    """A theory fit did not converge or was given unusable data."""


class AnalysisError(MohilbertError, RuntimeError):
    """The Hilbert-transform analysis cannot proceed with the given data."""


def one_line(exc: BaseException) -> str:
    """Collapse an exception message to a single line (for logs and the console)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"
