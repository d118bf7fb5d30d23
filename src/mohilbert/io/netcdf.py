"""The one way mohilbert writes and reads netCDF files.

* Engine: h5netcdf (netCDF-4/HDF5), zlib level 4 on floating-point variables.
* Complex variables are stored as two real variables ``<name>_real`` and ``<name>_imag`` (with
  ``complex_part`` attributes) so that any netCDF tool can read them; :func:`load_dataset`
  joins them again.
* CF-style attributes: every data variable and coordinate must carry ``units`` and
  ``long_name`` (checked here, so no file without them can be written); global ``Conventions``,
  ``title``, ``source`` and a ``history`` line per step (UTC time, step, package version,
  inputs).
* Atomic: serialised in memory, written to a temporary file in the target directory, flushed,
  then renamed, so an interrupted job or a full disk never leaves a half-written file that
  looks complete (and a previous version stays as it was).
* Checked on reading: :func:`load_dataset` turns an unreadable file, or one without the
  ``mohilbert_version`` marker, into one :class:`~mohilbert.errors.DamagedFileError` line;
  :func:`quick_file_problem` is the check the workflow runs on every pipeline file before it
  starts.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mohilbert import __version__
from mohilbert.errors import DamagedFileError
from mohilbert.io.atomic import write_bytes_atomic

if TYPE_CHECKING:  # xarray is imported where a file is read: the DAG build checks files cheaply
    import xarray as xr

ENGINE = "h5netcdf"


def history_line(step: str, inputs: str | list[str] = "") -> str:
    """One ``history`` entry: UTC time, step, package version and inputs."""
    if isinstance(inputs, (list, tuple)):
        inputs = ", ".join(str(i) for i in inputs)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{now} {step} (mohilbert {__version__}){': ' + inputs if inputs else ''}"


def _check_attrs(ds: xr.Dataset, path: Path) -> None:
    missing = [
        name
        for name, var in list(ds.data_vars.items()) + list(ds.coords.items())
        if not ({"units", "long_name"} <= set(var.attrs))
    ]
    if missing:
        raise ValueError(f"{path}: variables without units/long_name attrs: {missing}")


def _attr_value(v):
    """A value netCDF can store: bools as 0/1, numbers and strings as they are, else str."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, float, str, np.integer, np.floating)):
        return v
    return str(v)


def _clean(attrs: dict) -> dict:
    return {k: _attr_value(v) for k, v in attrs.items() if v is not None}


def _split_complex(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    for name in list(ds.data_vars):
        var = ds[name]
        if np.iscomplexobj(var.values):
            attrs = dict(var.attrs)
            out = out.drop_vars(name)
            out[f"{name}_real"] = var.real.assign_attrs(
                {
                    **attrs,
                    "long_name": f"{attrs['long_name']} (real part)",
                    "complex_part": "real",
                    "complex_variable": name,
                }
            )
            out[f"{name}_imag"] = var.imag.assign_attrs(
                {
                    **attrs,
                    "long_name": f"{attrs['long_name']} (imaginary part)",
                    "complex_part": "imag",
                    "complex_variable": name,
                }
            )
    return out


def _join_complex(ds: xr.Dataset) -> xr.Dataset:
    for name in list(ds.data_vars):
        if name not in ds or ds[name].attrs.get("complex_part") != "real":
            continue
        base = ds[name].attrs["complex_variable"]
        im = f"{base}_imag"
        if im not in ds:
            continue
        attrs = {
            k: v for k, v in ds[name].attrs.items() if k not in ("complex_part", "complex_variable")
        }
        attrs["long_name"] = attrs["long_name"].removesuffix(" (real part)")
        ds[base] = (ds[name] + 1j * ds[im]).assign_attrs(attrs)
        ds = ds.drop_vars([name, im])
    return ds


def save_dataset(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    step: str | None = None,
    inputs: str | list[str] = "",
    title: str | None = None,
) -> Path:
    """Write ``ds`` to ``path`` atomically (temporary file + rename).

    Parameters
    ----------
    ds
        The dataset; every variable and coordinate needs ``units`` and ``long_name``.
    path
        Target file; its directory is created if needed.
    step
        Pipeline step name; when given, a ``history`` line is appended.
    inputs
        Input files of the step, recorded in the history line.
    title
        Global ``title`` attribute (kept from ``ds`` if not given).
    """
    path = Path(path)
    _check_attrs(ds, path)
    out = _split_complex(ds)
    out.attrs = _clean(ds.attrs)
    for var in list(out.data_vars.values()) + list(out.coords.values()):
        var.attrs = _clean(var.attrs)
    out.attrs.setdefault("Conventions", "CF-1.10")
    if title:
        out.attrs["title"] = title
    out.attrs.setdefault("title", path.stem)
    out.attrs.setdefault("source", "mohilbert")
    if step:
        prev = out.attrs.get("history", "")
        out.attrs["history"] = (prev + "\n" if prev else "") + history_line(step, inputs)
    out.attrs[MARKER] = __version__
    encoding = {}
    for name, var in out.data_vars.items():
        if np.issubdtype(var.dtype, np.floating) and var.ndim > 0 and var.size > 16:
            encoding[name] = {"zlib": True, "complevel": 4}
    # Serialised in memory, then written with plain writes: HDF5 itself must never meet a
    # full disk (h5py crashes with SIGSEGV there), and a failed write leaves nothing behind.
    payload = out.to_netcdf(None, engine=ENGINE, encoding=encoding, invalid_netcdf=False)
    write_bytes_atomic(path, bytes(payload))
    return path


#: the global attribute every file written by :func:`save_dataset` carries
MARKER = "mohilbert_version"


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a complete netCDF file written by mohilbert, or ``None`` if it is.

    Opens the HDF5 file, checks the mohilbert marker attribute and reads every variable
    (which detects damaged compressed chunks): the diagnosis :func:`load_dataset` gives when
    a file that passed :func:`quick_file_problem` cannot be read.
    """
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            if MARKER not in fh.attrs:
                return "not written by mohilbert (no mohilbert_version attribute)"
            for obj in fh.values():
                if isinstance(obj, h5py.Dataset):
                    obj[()]
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return " ".join(str(exc).split())[:100]
    return None


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def quick_file_problem(path: str | os.PathLike) -> str | None:
    """A cheap check (a 48-byte read, no HDF5 library): is ``path`` an HDF5 file of its full
    length?

    Reads the superblock: the signature (a file overwritten by anything else has none) and
    the stored end-of-file address (a truncated file is shorter than it says). Returns the
    problem in words, or ``None``. :func:`load_dataset` finds everything else.
    """
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(48)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        return f"cannot be opened: {exc.strerror}"
    if not head.startswith(_HDF5_SIGNATURE):
        return "not a netCDF-4/HDF5 file: the file was overwritten or is not a mohilbert output"
    version = head[8] if len(head) > 8 else -1
    if version in (0, 1) and len(head) >= 14:
        n_off = head[13]
        at = 24 + 2 * n_off + (4 if version == 1 else 0)
    elif version in (2, 3) and len(head) >= 10:
        n_off = head[9]
        at = 12 + 2 * n_off
    else:
        return f"unknown HDF5 superblock version {version}"
    if n_off != 8 or len(head) < at + 8:
        return "damaged HDF5 superblock"
    eof = struct.unpack_from("<Q", head, at)[0]
    if eof > size:
        return f"truncated file: {size} of {eof} bytes"
    return None


def damaged_message(path: str | os.PathLike, problem: str) -> str:
    return (
        f"{path} is damaged ({problem}); rerun the workflow (bash run.sh demo): it moves "
        "damaged files to results/damaged/ and rebuilds them"
    )


def load_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Read a file written by :func:`save_dataset` eagerly (no handle outlives the call).

    Raises
    ------
    mohilbert.errors.DamagedFileError
        The file is unreadable (truncated, overwritten, ...) or was not written by mohilbert;
        the message names the file and how to rebuild it.
    """
    import xarray as xr

    try:
        ds = xr.load_dataset(path, engine=ENGINE)
    except FileNotFoundError:
        raise
    except Exception as exc:  # h5py/h5netcdf raise OSError, ValueError, KeyError, ...
        problem = quick_file_problem(path) or file_problem(path) or " ".join(str(exc).split())[:100]
        raise DamagedFileError(damaged_message(path, problem)) from None
    if MARKER not in ds.attrs:
        raise DamagedFileError(
            damaged_message(path, "not written by mohilbert (no mohilbert_version attribute)")
        )
    return _join_complex(ds)
