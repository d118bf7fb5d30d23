"""Support for the Snakemake rule scripts: code dependencies and uniform error reporting.

Snakemake does not notice edits inside an installed package, so each rule declares the source
files of the library modules it runs as inputs (:func:`code_files`): editing the Hilbert code
reruns exactly the Hilbert jobs and what follows.

:func:`rule_step` wraps a rule script: it writes a log, turns a
:class:`~mohilbert.errors.MohilbertError` into one line on stderr (naming the run and file,
no traceback) and a non-zero exit, and lets real bugs show their traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mohilbert.errors import MohilbertError, one_line

_COMMON = ["mohilbert.errors", "mohilbert.io.netcdf", "mohilbert.io.atomic", "mohilbert.pipeline"]

#: library modules each pipeline stage runs (its rerun trigger)
STAGE_MODULES: dict[str, list[str]] = {
    "ingest": _COMMON
    + ["mohilbert.io.scope", "mohilbert.io._table", "mohilbert.io.ingest", "mohilbert.runs"],
    "calibrate": _COMMON
    + [
        "mohilbert.signal",
        "mohilbert.calibration.core",
        "mohilbert.calibration.fringes",
        "mohilbert.theory",
        "mohilbert.atoms.susceptibility",
        "mohilbert.atoms.hamiltonian",
        "mohilbert.atoms.lineshape",
        "mohilbert.atoms.constants",
        "mohilbert.atoms.density",
        "mohilbert.optics.propagation",
        "mohilbert.optics.polarisation",
    ],
}
STAGE_MODULES["fit"] = STAGE_MODULES["calibrate"] + ["mohilbert.experiment", "mohilbert.fitting"]
STAGE_MODULES["hilbert"] = STAGE_MODULES["fit"] + ["mohilbert.kramers_kronig"]
STAGE_MODULES["summary"] = _COMMON + ["mohilbert.experiment"]
STAGE_MODULES["figures"] = _COMMON + ["mohilbert.plotting"]


def code_files(stage: str) -> list[str]:
    """Source files of the library modules that ``stage`` runs (absolute paths, sorted)."""
    paths = set()
    for name in STAGE_MODULES[stage]:
        # find the source without importing it: parsing the Snakefile stays fast
        spec = importlib.util.find_spec(name)
        paths.add(str(Path(spec.origin).resolve()))
        if name == "mohilbert.plotting":  # the committed style file is part of the figures' code
            paths.add(str(Path(spec.origin).with_name("mohilbert.mplstyle").resolve()))
    return sorted(paths)


@contextlib.contextmanager
def rule_step(log_path: str | None, what: str) -> Iterator[None]:
    """Run one rule's work: log start/end, one-line errors, non-zero exit on failure."""
    log = open(log_path, "a") if log_path else None
    start = time.perf_counter()

    def say(msg: str) -> None:
        if log:
            log.write(msg + "\n")
            log.flush()

    import os
    import socket

    job = os.environ.get("SLURM_JOB_ID")
    say(
        f"{what}: start on {socket.gethostname()}"
        + (f" (slurm_job_id={job})" if job else " (local)")
    )
    try:
        yield
    except MohilbertError as exc:
        line = f"mohilbert: {what}: {one_line(exc)}"
        say(line)
        print(line, file=sys.stderr, flush=True)
        if log:
            log.close()
        raise SystemExit(1) from None
    say(f"{what}: done in {time.perf_counter() - start:.2f} s")
    if log:
        log.close()
