"""Unit tests of mohilbert.io.netcdf: the only way pipeline files are written and read."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mohilbert.errors import DamagedFileError
from mohilbert.io.netcdf import file_problem, load_dataset, quick_file_problem, save_dataset


def _ds():
    return xr.Dataset(
        {
            "chi": ("x", np.array([1 + 2j, 3 - 4j]), {"units": "1", "long_name": "susceptibility"}),
            "flag": ("x", np.array([True, False]), {"units": "1", "long_name": "a flag"}),
        },
        coords={"x": ("x", [0.0, 1.0], {"units": "MHz", "long_name": "detuning"})},
        attrs={"fitted": True, "skip": None, "vals": [1, 2]},
    )


def test_round_trip_keeps_complex_values_units_and_provenance(tmp_path):
    path = save_dataset(_ds(), tmp_path / "a.nc", step="test step", inputs=["in.csv"])
    back = load_dataset(path)
    np.testing.assert_array_equal(back["chi"].values, [1 + 2j, 3 - 4j])
    assert back["chi"].attrs["units"] == "1" and back["x"].attrs["units"] == "MHz"
    assert back.attrs["fitted"] == 1 and "skip" not in back.attrs and back.attrs["vals"] == "[1, 2]"
    assert "test step" in back.attrs["history"] and "in.csv" in back.attrs["history"]
    assert back.attrs["mohilbert_version"]
    assert quick_file_problem(path) is None and file_problem(path) is None


def test_a_variable_without_units_is_refused_and_nothing_is_written(tmp_path):
    ds = _ds()
    ds["bare"] = ("x", [1.0, 2.0])
    with pytest.raises(ValueError, match=r"variables without units/long_name attrs: \['bare'\]"):
        save_dataset(ds, tmp_path / "b.nc")
    assert list(tmp_path.iterdir()) == []


def test_truncated_and_foreign_files_are_named_as_damaged(tmp_path):
    path = save_dataset(_ds(), tmp_path / "c.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert quick_file_problem(path).startswith("truncated file:")
    with pytest.raises(DamagedFileError, match=r"c.nc is damaged \(truncated file"):
        load_dataset(path)
    path.write_text("time,signal\n0,1\n")
    assert quick_file_problem(path).startswith("not a netCDF-4/HDF5 file")
    foreign = tmp_path / "f.nc"
    xr.Dataset({"v": ("x", [1.0])}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(DamagedFileError, match="not written by mohilbert"):
        load_dataset(foreign)
