"""Atomic file output: write to a temporary name in the target directory, then rename.

A full disk (or a missing permission) becomes one :class:`~mohilbert.errors.OutputError` line
naming the file, the temporary file is removed and a previous version of the file is left as
it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mohilbert.errors import OutputError

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def output_error(exc: OSError, path: str | os.PathLike) -> OutputError:
    """The one-line error for an OSError met while writing ``path``."""
    if exc.errno in _NO_SPACE:
        try:
            st = os.statvfs(Path(path).parent)
            room = f" ({st.f_bavail * st.f_frsize / 2**20:.1f} MB free)"
        except OSError:
            room = ""
        return OutputError(
            f"no space left on device while writing {path}{room}; free some space (or move "
            "results/ to a larger disk) and run again: the previous version of the file, if any, "
            "is unchanged"
        )
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched, so an
    interrupted job never leaves a half-written file that looks complete. An ``OSError`` of
    the file system (full disk, permissions) is raised as :class:`OutputError`.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise output_error(exc, path) from None
        raise


def write_bytes_atomic(path: str | os.PathLike, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
    return Path(path)
