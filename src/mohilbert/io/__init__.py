"""Reading raw oscilloscope exports and writing/reading the pipeline's netCDF files.

The names below are loaded on first use, so that importing one light submodule (the DAG
build's file checks in :mod:`mohilbert.io.netcdf`) does not import xarray.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # also what mohilbert.pipeline.code_files sees of this package
    from mohilbert.io.netcdf import load_dataset, save_dataset
    from mohilbert.io.scope import FORMATS, detect_format, read_scope, sha256_file

_HOME = {
    "load_dataset": "mohilbert.io.netcdf",
    "save_dataset": "mohilbert.io.netcdf",
    "FORMATS": "mohilbert.io.scope",
    "detect_format": "mohilbert.io.scope",
    "read_scope": "mohilbert.io.scope",
    "sha256_file": "mohilbert.io.scope",
}

__all__ = ["FORMATS", "detect_format", "load_dataset", "read_scope", "save_dataset", "sha256_file"]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'mohilbert.io' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
