"""Every real export in ../shared/data/scope-samples and the HIP LeCroy files parses as its
PROVENANCE.md says (point count, sample interval, channels, time range)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr
from conftest import hip_raw_dir, shared_path

from mohilbert.io import detect_format, read_scope

# file, format, N, channels, dt [s], t0 [s] (None: not checked)
SAMPLES = [
    ("tek_MSO64_analog_waveform.csv", "tek_mso_csv", 50000, ["REF7"], 4e-11, -9.99966e-7),
    ("tek_MSO64_analog_waveform.wfm", "tek_wfm", 50000, ["CH1"], 4e-11, -1e-6),
    ("keysight_scope_0.csv", "keysight_csv", 2000, ["CH1", "CH2"], 1e-9, -1e-6),
    ("keysight_DSOX1102G_dual.bin", "keysight_bin", 4000, ["CH1", "CH2"], 5e-10, -1e-6),
    ("keysight_DSOX1102G_digital.bin", "keysight_bin", 20000, ["CH1"], 1e-9, -1e-5),
    ("rigol_DS1054Z-A.csv", "rigol_csv", 1200, ["CH1", "CH2", "CH3", "CH4"], 5e-10, -3e-7),
    ("rigol_DS1054Z-A.wfm", "rigol_wfm", 278, ["CH1", "CH2", "CH3", "CH4"], 4e-9, -5.56e-7),
    ("rigol_DS2072A-5.csv", "rigol_csv", 1400, ["CH1", "CH2"], 1e-8, -2.52e-6),
    ("rigol_DS2072A-5.wfm", "rigol_wfm", 14000, ["CH1", "CH2"], 1e-9, -2.52e-6),
    ("rigol_DS4024-A.csv", "rigol_csv", 1356, ["CH1", "CH2"], 2e-6, -1.356e-3),
    ("rigol_DS1102E-D.csv", "rigol_time_csv", 600, ["CH1", "CH2"], 2e-6, -6e-4),
    ("rigol_DS1204B-F.csv", "rigol_time_csv", 8192, ["CH2", "CH4"], 4e-6, -1.6384e-2),
    ("rigol_DS1204B-F.wfm", "rigol_wfm", 8192, ["CH2", "CH4"], 4e-6, -1.6384e-2),
    ("rigol_DS1052E.csv", "rigol_ultrascope_csv", 8192, ["CH1", "CH2"], 2e-9, 0.0),
    ("rigol_DS1052E.wfm", "rigol_wfm", 8192, ["CH1", "CH2"], 2e-9, -8.192e-6),
    ("lecroy_WP254HD-MS_lecroy_2.trc", "lecroy_trc", 100002, ["C2"], 1e-7, -1.00007e-3),
]


@pytest.mark.parametrize(
    ("name", "fmt", "n", "channels", "dt", "t0"), SAMPLES, ids=[s[0] for s in SAMPLES]
)
def test_sample_parses_as_provenance_says(name, fmt, n, channels, dt, t0):
    path = shared_path("data", "scope-samples", name)
    assert detect_format(path) == fmt
    ds = read_scope(path)
    assert ds.sizes["time"] == n
    assert list(ds.data_vars) == channels
    assert ds.attrs["sample_interval_s"] == pytest.approx(dt, rel=1e-6)
    np.testing.assert_allclose(np.diff(ds.time.values), dt, rtol=1e-6)
    assert ds.time.values[0] == pytest.approx(t0, rel=1e-4, abs=dt * 1e-3)
    assert ds.time.attrs["units"] == "s"
    for var in ds.data_vars.values():
        assert var.attrs["units"] in ("V", "A")
        assert var.attrs["long_name"]
        assert np.isfinite(var.values).all()
    assert len(ds.attrs["source_sha256"]) == 64
    assert ds.attrs["source_name"] == name


def test_csv_and_wfm_twins_agree():
    """DS1204B-F CSV and WFM are the same acquisition: identical samples and time axes."""
    csv = read_scope(shared_path("data", "scope-samples", "rigol_DS1204B-F.csv"))
    wfm = read_scope(shared_path("data", "scope-samples", "rigol_DS1204B-F.wfm"))
    np.testing.assert_allclose(csv.CH2.values, wfm.CH2.values, atol=1e-6)
    # RigolWFM's rounded 4.00049e-6 s interval is snapped back to the true 4e-6 s
    np.testing.assert_allclose(csv.time.values, wfm.time.values, atol=1e-9)


def test_mso_csv_equals_wfm():
    csv = read_scope(shared_path("data", "scope-samples", "tek_MSO64_analog_waveform.csv"))
    wfm = read_scope(shared_path("data", "scope-samples", "tek_MSO64_analog_waveform.wfm"))
    np.testing.assert_allclose(csv.REF7.values, wfm.CH1.values, atol=1e-8)


def test_lecroy_sequence_mode_is_segmented():
    ds = read_scope(shared_path("data", "scope-samples", "lecroy_WR64Xi-A_lecroy_3.trc"))
    assert ds.C2.dims == ("segment", "time")
    assert ds.sizes == {"segment": 20, "time": 502}
    assert ds.attrs["sample_interval_s"] == pytest.approx(1e-9, rel=1e-6)
    trig = ds.segment_trigger_time.values
    assert trig[0] == 0.0 and (np.diff(trig) > 0).all()
    assert ds.attrs["model"] == "LECROYWR64Xi-A"


def test_lecroy_trc_metadata():
    ds = read_scope(shared_path("data", "scope-samples", "lecroy_WP254HD-MS_lecroy_2.trc"))
    assert ds.attrs["model"] == "LECROYWP254HD-MS"
    assert ds.attrs["trigger_time"].startswith("2023-05-16T18:51")
    assert ds.attrs["nominal_bits"] == 14


def test_keysight_bin_matches_header():
    ds = read_scope(shared_path("data", "scope-samples", "keysight_DSOX1102G_dual.bin"))
    assert ds.attrs["model"] == "DSO-X 1102G"
    assert ds.attrs["serial_number"] == "CN00000000"


@pytest.mark.parametrize("power", ["0.32uW", "0.56uW"])
@pytest.mark.parametrize(
    "kind", ["C2--{p}.csv", "C4--{p}.csv", "C2--{p}-baseline.csv", "C4--{p}-baseline.csv"]
)
def test_hip_lecroy_csv(power, kind):
    path = shared_path("data", "real", "hip-elecsus-2mm-0.6T-faraday", "raw", kind.format(p=power))
    ds = read_scope(path)
    assert ds.attrs["scope_format"] == "lecroy_csv"
    assert ds.sizes["time"] == 50002
    assert list(ds.data_vars) == [kind[:2]]
    assert ds.attrs["sample_interval_s"] == pytest.approx(1e-6, rel=1e-6)
    assert ds.attrs["model"] == "LECROYWR610Zi"
    raw = np.loadtxt(path, delimiter=",", skiprows=5)
    np.testing.assert_array_equal(ds[kind[:2]].values, raw[:, 1])
    np.testing.assert_allclose(ds.time.values, raw[:, 0], atol=1e-9)
    assert isinstance(ds, xr.Dataset)


def test_git_link_file_is_read_as_its_target(tmp_path):
    """A git symbolic link checked out as a plain file (its content: the target's relative
    path, no newline) is read as the target; a real export, a link to nothing and a text with
    a newline are read as themselves (and then fail as what they are)."""
    from mohilbert.errors import FormatError
    from mohilbert.io.scope import followed_link_file

    raw = hip_raw_dir()
    (tmp_path / "beam").mkdir()
    link = tmp_path / "beam" / "C4--0.32uW.csv"
    target = raw / "C4--0.32uW.csv"
    link.write_text(os.path.relpath(target, link.parent))
    assert followed_link_file(link) == target.resolve()
    ds = read_scope(link)
    assert ds.attrs["source_file"] == str(target.resolve())
    assert ds.attrs["source_sha256"] == read_scope(target).attrs["source_sha256"]
    assert followed_link_file(target) == target  # a real export
    dangling = tmp_path / "beam" / "C2--1uW.csv"
    dangling.write_text("../nowhere/C2--1uW.csv")
    assert followed_link_file(dangling) == dangling
    with pytest.raises(FormatError, match="C2--1uW.csv: unknown format"):
        read_scope(dangling)
    note = tmp_path / "beam" / "notes.csv"
    note.write_text(os.path.relpath(target, note.parent) + "\n")
    assert followed_link_file(note) == note
