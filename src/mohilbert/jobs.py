"""One workflow job: its log, its one-line error, and its end when Snakemake is gone.

:func:`rule_step` wraps a rule script: it writes a log, turns a
:class:`~mohilbert.errors.MohilbertError` into one line on stderr (naming the run and file,
no traceback) and a non-zero exit, and lets real bugs show their traceback. Every rule script
imports this module, so it stays small and changes rarely (an edit reruns every job).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mohilbert.errors import MohilbertError, one_line


def _blas_threads() -> str:
    """How the job's log names its BLAS threads."""
    n = os.environ.get("OPENBLAS_NUM_THREADS")
    return f"BLAS {n} thread{'' if n == '1' else 's'}" if n else "BLAS a thread per core"


class _Log:
    """The job's log file; a log that cannot be written (full disk) never hides the error."""

    def __init__(self, path: str | None):
        self.fh = None
        if path:
            try:
                self.fh = open(path, "a")
            except OSError:
                self.fh = None

    def say(self, msg: str) -> None:
        if self.fh is None:
            return
        try:
            self.fh.write(msg + "\n")
            self.fh.flush()
        except OSError:
            self.close()

    def warn(self, msg) -> None:
        """A soft gate's warning (or note, :class:`mohilbert.gates.GateWarning`): one line
        in the log and on stderr."""
        kind = getattr(msg, "severity", "warning")
        line = f"mohilbert: {kind}: {msg}"
        self.say(line)
        print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.fh is not None:
            try:
                self.fh.close()
            except OSError:
                pass
            self.fh = None


@contextlib.contextmanager
def rule_step(log_path: str | None, what: str, threads: int = 1) -> Iterator[_Log]:
    """Run one rule's work: log start/end, one-line errors, non-zero exit on failure.

    Yields the job's log (``log.warn(msg)`` reports a soft gate's warning).

    A :class:`~mohilbert.errors.MohilbertError` becomes one line ``mohilbert: <what>:
    <Error>: ...`` on stderr and in the log, and exit status 1. Any other exception (a bug)
    is logged as failed and shows its traceback. While the job runs, a watchdog ends it if
    the Snakemake process that started it dies (see :func:`watch_parent`).

    Parameters
    ----------
    log_path : str or None
        The rule's log file (None: no log; a one-line error still goes to stderr).
    what : str
        How the log and a one-line error name the job (``"calibrate run1"``).
    threads : int
        The cores Snakemake gave the rule (``snakemake.threads``): the compiled kernels
        (:func:`mohilbert.caches.compiled`) run on that many threads, so that jobs side by
        side do not share cores they were not given.
    """
    import socket

    log = _Log(log_path)
    start = time.perf_counter()
    threads = max(1, int(threads))
    os.environ["NUMBA_NUM_THREADS"] = str(threads)  # read when numba is first imported
    if "numba" in sys.modules:
        sys.modules["numba"].set_num_threads(
            min(threads, sys.modules["numba"].config.NUMBA_NUM_THREADS)
        )
    job = os.environ.get("SLURM_JOB_ID")
    log.say(
        f"{what}: start on {socket.gethostname()}"
        + (f" (slurm_job_id={job})" if job else " (local)")
        + f", {threads} thread{'s' if threads > 1 else ''} ({_blas_threads()})"
    )
    watch_parent()
    try:
        yield log
    except MohilbertError as exc:
        line = f"mohilbert: {what}: {one_line(exc)}"
        log.say(line)
        print(line, file=sys.stderr, flush=True)
        log.close()
        raise SystemExit(1) from None
    except BaseException as exc:
        log.say(f"{what}: failed after {time.perf_counter() - start:.2f} s ({type(exc).__name__})")
        log.close()
        raise
    log.say(f"{what}: done in {time.perf_counter() - start:.2f} s")
    log.close()


def _is_snakemake(argv: list[bytes]) -> bool:
    """Is this command line Snakemake itself (not a shell or script it started)?"""
    for i, arg in enumerate(argv[:4]):
        if arg.endswith((b"/snakemake", b"snakemake/__main__.py")) or arg == b"snakemake":
            return True
        if arg == b"-m" and i + 1 < len(argv) and argv[i + 1] == b"snakemake":
            return True
    return False


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (index 1: ppid, 19: start time)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _snakemake_ancestor() -> int | None:
    """PID of the nearest ancestor process running Snakemake (Linux /proc), else None."""
    pid = os.getppid()
    for _ in range(8):
        if pid <= 1:
            return None
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            return None
        if _is_snakemake(argv):
            return pid
        stat = _proc_stat(pid)
        if stat is None:
            return None
        pid = int(stat[1])
    return None


def watch_parent(interval_s: float = 0.5) -> bool:
    """End this job if the Snakemake process that started it dies.

    Snakemake runs a rule script as ``snakemake -> bash -> python``; when Snakemake is killed
    with SIGKILL, its jobs would run on as orphans and write outputs after the fact. A daemon
    thread polls the Snakemake ancestor and, when it is gone, ends this process before it can
    write (outputs are renamed into place only at the very end, so nothing half-written is
    left). Returns whether a Snakemake ancestor was found and is watched.
    """
    import threading

    pid = _snakemake_ancestor()
    stat = _proc_stat(pid) if pid is not None else None
    if stat is None:
        return False
    start = stat[19]

    def alive() -> bool:  # the same process, not a new one with a reused pid
        now = _proc_stat(pid)
        return now is not None and now[19] == start

    def poll() -> None:
        while alive():
            time.sleep(interval_s)
        print(
            f"mohilbert: Snakemake (pid {pid}) is gone; stopping this job without writing",
            file=sys.stderr,
            flush=True,
        )
        os._exit(1)

    threading.Thread(target=poll, name="mohilbert-watch-parent", daemon=True).start()
    return True
