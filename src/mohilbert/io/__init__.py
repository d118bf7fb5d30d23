"""Reading raw oscilloscope exports and writing/reading the pipeline's netCDF files."""

from mohilbert.io.netcdf import load_dataset, save_dataset
from mohilbert.io.scope import FORMATS, detect_format, read_scope, sha256_file

__all__ = ["FORMATS", "detect_format", "load_dataset", "read_scope", "save_dataset", "sha256_file"]
