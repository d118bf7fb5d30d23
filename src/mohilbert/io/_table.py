"""Fast, strict numeric-table reading shared by every text (CSV) scope format.

The readers hand over the line number where the numbers start and how many columns they
expect; this module reads them with pandas' C parser and, when that fails, finds the first
offending line so that the error names it (truncated row, non-numeric cell, decimal comma,
wrong delimiter, NaN/inf sample).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mohilbert.errors import FormatError, InputError

UTF8_BOM = b"\xef\xbb\xbf"
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+([eE][-+]?\d+)?\s*$")


def excerpt(text: str, limit: int = 40, *, quote: bool = True) -> str:
    """A short, printable excerpt of file content for a message (at most ``limit``
    characters, non-printable characters replaced by '?', quoted unless ``quote=False``).

    Parameters
    ----------
    text : str
        The text to shorten.
    limit : int
        Longest excerpt [characters].
    quote : bool
        Wrap the excerpt in quotes.
    """
    clean = "".join(c if c.isprintable() else "?" for c in " ".join(str(text).split()))
    short = clean[:limit] + ("..." if len(clean) > limit else "")
    return repr(short) if quote else short


def read_lines(path: Path, n: int) -> list[str]:
    """Return the first ``n`` lines of a text file (decoded leniently, line ends stripped)."""
    lines: list[str] = []
    with open(path, "rb") as fh:
        for raw in fh:
            if not lines:
                raw = raw.removeprefix(UTF8_BOM)  # a byte-order mark would hide the first cell
            lines.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            if len(lines) >= n:
                break
    return lines


def numeric_table(
    path: Path,
    skiprows: int,
    usecols: list[int],
    *,
    sep: str = ",",
    min_fields: int | None = None,
) -> np.ndarray:
    """Read columns ``usecols`` of the numeric block starting at line ``skiprows`` (0-based).

    Returns a float64 array of shape (rows, len(usecols)). Raises :class:`InputError` naming
    the file and line for anything that is not a clean table of finite numbers.

    Parameters
    ----------
    path : pathlib.Path
        The text export.
    skiprows : int
        Header lines before the numbers.
    usecols : list of int
        Columns to read.
    sep : str
        Field separator.
    min_fields : int, optional
        Fewest fields a data line has (shorter lines are refused).
    """
    width = max(usecols) + 1 if min_fields is None else max(min_fields, max(usecols) + 1)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            header=None,
            skiprows=skiprows,
            usecols=usecols,
            names=list(range(width)) if min_fields is not None else None,
            dtype=np.float64,
            engine="c",
            skip_blank_lines=True,
            skipinitialspace=True,
            on_bad_lines="error",
            low_memory=False,
        )
    except pd.errors.EmptyDataError:  # a ValueError too: caught first
        raise InputError(
            f"{path}: no data rows after the header (line {skiprows + 1} on)"
        ) from None
    except (ValueError, pd.errors.ParserError, IndexError) as exc:
        raise _diagnose(path, skiprows, usecols, sep, exc) from None
    data = frame.to_numpy(dtype=np.float64)
    # trailing lines made of delimiters only (',,' as UltraScope writes) are not data
    while data.shape[0] and np.isnan(data[-1]).all():
        data = data[:-1]
    if data.shape[0] == 0:
        raise InputError(f"{path}: no data rows after the header (line {skiprows + 1} on)")
    if not np.isfinite(data).all():
        bad_rows = np.flatnonzero(~np.isfinite(data).all(axis=1))
        first = int(bad_rows[0])
        if first == data.shape[0] - 1 and np.isnan(data[first]).any() and len(bad_rows) == 1:
            raise InputError(
                f"{path}: the last data row (line {_line_of(path, skiprows, first)}) is "
                "incomplete: the file looks truncated; export it again"
            )
        raise InputError(
            f"{path}: {len(bad_rows)} data row(s) hold an empty, NaN or infinite sample "
            f"(first at line {_line_of(path, skiprows, first)}); mohilbert does not guess "
            "missing samples: re-export or crop the file"
        )
    return data


def _line_of(path: Path, skiprows: int, row: int) -> int:
    """1-based file line number of data row ``row`` (counting non-blank lines)."""
    seen = -1
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno <= skiprows:
                continue
            if raw.strip():
                seen += 1
                if seen == row:
                    return lineno
    return skiprows + row + 1


def _diagnose(path: Path, skiprows: int, usecols: list[int], sep: str, exc: Exception):
    """Find the first line of the numeric block that cannot be parsed and explain it."""
    need = max(usecols) + 1
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno <= skiprows:
                continue
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            fields = [f.strip() for f in next(csv.reader([line], delimiter=sep))]
            if len(fields) < need:
                if ";" in line or "\t" in line:
                    return InputError(
                        f"{path}: line {lineno} is not '{sep}'-separated ({excerpt(line)}); "
                        "wrong delimiter: export with commas or set the format explicitly"
                    )
                if any(_DECIMAL_COMMA.match(f) for f in fields):
                    return InputError(
                        f"{path}: line {lineno} uses a decimal comma ({excerpt(line)}); "
                        "export with a decimal point (set the scope/PC locale to English)"
                    )
                return InputError(
                    f"{path}: line {lineno} has {len(fields)} field(s), expected at least "
                    f"{need}: the file looks truncated or damaged"
                )
            for col in usecols:
                cell = fields[col]
                try:
                    float(cell)
                except ValueError:
                    if _DECIMAL_COMMA.match(cell.replace(" ", "")):
                        return InputError(
                            f"{path}: line {lineno} uses a decimal comma ({excerpt(cell, 30)}); export "
                            "with a decimal point (set the scope/PC locale to English)"
                        )
                    if cell == "":
                        continue
                    return InputError(
                        f"{path}: line {lineno}, column {col + 1}: {excerpt(cell, 30)} is not a number"
                    )
    return FormatError(f"{path}: cannot read the numeric table from line {skiprows + 1}: {exc}")
