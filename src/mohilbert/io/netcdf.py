"""The one way mohilbert writes and reads netCDF files.

* Engine: h5netcdf (netCDF-4/HDF5), zlib level 4 on floating-point variables.
* Complex variables are stored as two real variables ``<name>_real`` and ``<name>_imag`` (with
  ``complex_part`` attributes) so that any netCDF tool can read them; :func:`load_dataset`
  joins them again.
* CF-style attributes: every data variable and coordinate must carry ``units`` and
  ``long_name`` (checked here, so no file without them can be written); global ``Conventions``,
  ``title``, ``source`` and a ``history`` line per step (UTC time, step, package version,
  inputs).
* Atomic: written to a temporary file in the target directory, flushed, then renamed, so an
  interrupted job never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import numpy as np
import xarray as xr

from mohilbert import __version__
from mohilbert.io.atomic import atomic_path

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
    out.attrs["mohilbert_version"] = __version__
    encoding = {}
    for name, var in out.data_vars.items():
        if np.issubdtype(var.dtype, np.floating) and var.ndim > 0 and var.size > 16:
            encoding[name] = {"zlib": True, "complevel": 4}
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine=ENGINE, encoding=encoding, invalid_netcdf=False)
    return path


def load_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Read a file written by :func:`save_dataset` eagerly (no handle outlives the call)."""
    ds = xr.load_dataset(path, engine=ENGINE)
    return _join_complex(ds)
