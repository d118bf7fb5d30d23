"""Runs sheet validation and run ingest: one-line errors naming the row/column or run/file."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from mohilbert.errors import InputError, SheetError
from mohilbert.io import read_scope
from mohilbert.io.ingest import ingest_run
from mohilbert.io.writers import write_lecroy_csv, write_tek_mso_csv
from mohilbert.runs import load_runs, run_record

SCHEMA = REPO / "src" / "mohilbert" / "schemas" / "runs.schema.yaml"
HEADER = [
    "run",
    "experiment",
    "file",
    "signal",
    "signal_file",
    "etalon",
    "etalon_file",
    "dark",
    "dark_file",
    "geometry",
    "polarisation",
    "cell_length_m",
    "temperature_C",
    "field_T",
    "etalon_fsr_MHz",
]
V = np.random.default_rng(3).normal(1.0, 0.01, 400)


@pytest.fixture
def data(tmp_path):
    write_tek_mso_csv(
        tmp_path / "multi.csv", -2e-3, 1e-5, {"CH1": V, "CH2": V * 0.5, "CH3": V * 0.01}
    )
    write_lecroy_csv(tmp_path / "C4--a.csv", -2e-3, 1e-5, V)
    write_lecroy_csv(tmp_path / "C2--a.csv", -2e-3 + 2e-6, 1e-5, V * 0.3)
    write_lecroy_csv(tmp_path / "C2--short.csv", -2e-3, 1e-5, V[:300])
    return tmp_path


def sheet(tmp_path, rows, header=HEADER):
    p = tmp_path / "runs.tsv"
    lines = ["\t".join(header)] + ["\t".join(str(r.get(h, "")) for h in header) for r in rows]
    p.write_text("\n".join(lines) + "\n")
    return p


GOOD_MULTI = dict(
    run="m1",
    experiment="e1",
    file="multi.csv",
    signal="CH1",
    etalon="CH2",
    dark="CH3",
    geometry="faraday",
    polarisation="sigma_plus",
    cell_length_m=0.002,
    temperature_C=100,
    field_T=0.6,
    etalon_fsr_MHz=1500,
)
GOOD_LECROY = dict(
    run="l1",
    experiment="e1",
    signal="C4",
    signal_file="C4--a.csv",
    etalon="C2",
    etalon_file="C2--a.csv",
    geometry="faraday",
    polarisation="sigma_minus",
    cell_length_m=0.002,
    temperature_C=100,
    field_T=0.6,
    etalon_fsr_MHz=360,
)


def test_good_sheet_defaults_and_paths(data):
    runs = load_runs(sheet(data, [GOOD_MULTI, GOOD_LECROY]), SCHEMA, data_root=data)
    assert list(runs.index) == ["m1", "l1"]
    rec = run_record(runs, "m1")
    assert rec["element"] == "Rb" and rec["line"] == "D2" and rec["format"] == "auto"
    assert rec["field_theta_deg"] == 0.0 and rec["isotope_percent"] == "natural"
    assert rec["signal_path"] == str(data / "multi.csv")
    assert rec["reference_path"] is None
    assert run_record(runs, "l1")["etalon_path"] == str(data / "C2--a.csv")


def test_absolute_paths_and_comments(data, tmp_path):
    row = dict(
        GOOD_LECROY, signal_file=str(data / "C4--a.csv"), etalon_file=str(data / "C2--a.csv")
    )
    p = sheet(data, [row])
    p.write_text("# a comment line\n" + p.read_text())
    runs = load_runs(p, SCHEMA, data_root="/nonexistent", allow_outside=True)
    assert runs.loc["l1", "signal_path"] == str(data / "C4--a.csv")


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_paths_outside_data_root_refused(data, tmp_path, how):
    """A sheet cannot make the workflow read files outside data_root (issue 14: /etc/passwd
    passed the sheet checks and its first line was echoed) unless the config allows it."""
    root = tmp_path / "root"
    root.mkdir()
    if how == "absolute":
        name = "/etc/passwd"
    elif how == "dotdot":
        name = "../secret.csv"
        (tmp_path / "secret.csv").write_text("x")
    else:
        (root / "link.csv").symlink_to("/etc/passwd")
        name = "link.csv"
    p = sheet(data, [dict(GOOD_LECROY, signal_file=name)])
    with pytest.raises(SheetError) as info:
        load_runs(p, SCHEMA, data_root=root)
    assert str(info.value) == (
        f"{p}: row 2 (run 'l1'), column 'signal_file': file {name!r} is outside data_root "
        f"({root.resolve()}); move it under data_root, point data_root at its folder, or set "
        "allow_paths_outside_data_root: true in the config"
    )


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            {"geometry": "sideways"},
            r"row 2 \(run 'm1'\), column 'geometry': 'sideways' is invalid: allowed: faraday, voigt, zero_field",
        ),
        ({"polarisation": "diagonal"}, r"column 'polarisation': 'diagonal' is invalid"),
        (
            {"polarisation": "parallel"},
            r"column 'polarisation': 'parallel' is a Voigt eigen-polarisation",
        ),
        ({"temperature_C": "hot"}, r"column 'temperature_C': 'hot' is invalid"),
        ({"temperature_C": ""}, r"column 'temperature_C'.*required"),
        ({"run": "../evil"}, r"column 'run': '../evil' is invalid"),
        ({"run": "a/b"}, r"column 'run': 'a/b' is invalid"),
        (
            {"file": "missing.csv"},
            r"row 2 \(run 'm1'\), column 'file': file 'missing.csv' not found",
        ),
        ({"etalon_fsr_MHz": ""}, r"column 'etalon_fsr_MHz': an etalon channel is named"),
    ],
)
def test_bad_row(data, change, pattern):
    with pytest.raises(SheetError, match=pattern) as info:
        load_runs(sheet(data, [dict(GOOD_MULTI, **change)]), SCHEMA, data_root=data)
    assert "\n" not in str(info.value)


def test_duplicate_run_ids(data):
    with pytest.raises(SheetError, match=r"duplicate run id 'm1' in rows 2 and 3, column 'run'"):
        load_runs(sheet(data, [GOOD_MULTI, GOOD_MULTI]), SCHEMA, data_root=data)


def test_unknown_column(data):
    with pytest.raises(SheetError, match=r"unknown column\(s\) \['colour'\]; known columns"):
        load_runs(sheet(data, [GOOD_MULTI], header=HEADER + ["colour"]), SCHEMA, data_root=data)
    with pytest.raises(SheetError, match=r"\['temprature_C'\] \(did you mean 'temperature_C'\?\)"):
        load_runs(
            sheet(data, [GOOD_MULTI], header=HEADER + ["temprature_C"]), SCHEMA, data_root=data
        )


def test_sheet_missing_or_unreadable(tmp_path):
    with pytest.raises(SheetError, match="runs sheet does not exist"):
        load_runs(tmp_path / "nope.tsv", SCHEMA)
    d = tmp_path / "dir.tsv"
    d.mkdir()
    with pytest.raises(SheetError, match="cannot read"):
        load_runs(d, SCHEMA)


def test_ingest_multichannel(data):
    runs = load_runs(sheet(data, [GOOD_MULTI]), SCHEMA, data_root=data)
    ds = ingest_run(run_record(runs, "m1"))
    assert set(ds.data_vars) == {"signal", "etalon", "dark"}
    np.testing.assert_allclose(ds.etalon.values, V * 0.5, rtol=1e-7)
    assert ds.signal.attrs["source_channel"] == "CH1"
    assert ds.signal.attrs["units"] == "V" and ds.signal.attrs["long_name"]
    assert ds.attrs["run"] == "m1" and "geometry" not in ds.attrs  # physics: calibration
    src = read_scope(data / "multi.csv")
    assert src.attrs["source_sha256"] in ds.attrs["source_sha256"]


def test_ingest_one_file_per_channel(data):
    runs = load_runs(sheet(data, [GOOD_LECROY]), SCHEMA, data_root=data)
    ds = ingest_run(run_record(runs, "l1"))
    assert set(ds.data_vars) == {"signal", "etalon"}
    np.testing.assert_allclose(ds.signal.values, V, rtol=1e-5)  # 6 significant digits in the file


def test_ingest_missing_channel(data):
    runs = load_runs(sheet(data, [dict(GOOD_MULTI, etalon="CH4")]), SCHEMA, data_root=data)
    with pytest.raises(
        InputError,
        match=r"run m1: channel 'CH4' for role 'etalon' is not in .*multi.csv \(it has CH1, CH2, CH3\)",
    ):
        ingest_run(run_record(runs, "m1"))


def test_ingest_mismatched_time_axes(data):
    runs = load_runs(
        sheet(data, [dict(GOOD_LECROY, etalon_file="C2--short.csv")]), SCHEMA, data_root=data
    )
    with pytest.raises(
        InputError, match=r"run l1: time axes differ: etalon .*C2--short.csv: 300 samples"
    ):
        ingest_run(run_record(runs, "l1"))


def test_channel_without_file_names_the_role_column(data):
    row = dict(GOOD_LECROY, dark="C1", dark_file="")
    p = sheet(data, [row])
    with pytest.raises(SheetError) as info:
        load_runs(p, SCHEMA, data_root=data)
    assert str(info.value) == (
        f"{p}: row 2 (run 'l1'), column 'dark_file': role 'dark' names a channel but no file "
        "(fill 'file' or 'dark_file')"
    )


@pytest.mark.parametrize(
    ("column", "value"), [("cell_length_m", 0.005), ("geometry", "voigt"), ("temperature_C", 95)]
)
def test_runs_of_one_experiment_must_agree(data, column, value):
    """Issue 16, item 3: a second run of an experiment with another cell length (or geometry,
    or nominal temperature) was silently fitted with the first run's values."""
    other = dict(GOOD_LECROY, run="l2", **{column: value})
    if column == "geometry":
        other["polarisation"] = "parallel"
    p = sheet(data, [dict(GOOD_LECROY, experiment="e1"), dict(other, experiment="e1")])
    with pytest.raises(SheetError) as info:
        load_runs(p, SCHEMA, data_root=data)
    found = float(value) if isinstance(value, (int, float)) else value
    assert str(info.value).startswith(
        f"{p}: row 3 (run 'l2'), column {column!r}: {found!r} differs from "
    )
    assert "of run 'l1' (row 2) in the same experiment 'e1'" in str(info.value)
    assert str(info.value).endswith("make them agree or put the run in an experiment of its own")


def test_probe_and_series_columns(data):
    """probe_power_W needs beam_diameter_m; a power series needs every run's power and one
    beam; the values reach the stages that model the probe (narrow params)."""
    from mohilbert.records import STAGE_COLUMNS

    header = [*HEADER, "series", "probe_power_W", "beam_diameter_m"]
    ok = dict(GOOD_LECROY, series="s1", probe_power_W="1e-5", beam_diameter_m="5e-4")
    runs = load_runs(sheet(data, [ok], header), SCHEMA, data_root=data)
    rec = runs.loc["l1"]
    assert rec["probe_power_W"] == 1e-5 and rec["beam_profile"] == "gaussian"
    for stage in ("calibrate", "fit", "hilbert"):
        assert {"probe_power_W", "beam_diameter_m", "beam_profile"} <= set(STAGE_COLUMNS[stage])
    assert "series" in STAGE_COLUMNS["fit"]
    p = sheet(data, [dict(ok, beam_diameter_m="")], header)
    with pytest.raises(SheetError) as info:
        load_runs(p, SCHEMA, data_root=data)
    assert str(info.value) == (
        f"{p}: row 2 (run 'l1'), column 'beam_diameter_m': empty, but probe_power_W is given; "
        "the intensity is the power over the beam area"
    )
    p = sheet(data, [dict(ok, probe_power_W="", beam_diameter_m="")], header)
    with pytest.raises(SheetError) as info:
        load_runs(p, SCHEMA, data_root=data)
    assert str(info.value) == (
        f"{p}: row 2 (run 'l1'), column 'probe_power_W': empty, but the run is in power "
        "series 's1', which is fitted with each run's power"
    )
    other = dict(ok, run="l2", experiment="e2", beam_diameter_m="1e-3")
    p = sheet(data, [ok, other], header)
    with pytest.raises(SheetError) as info:
        load_runs(p, SCHEMA, data_root=data)
    assert str(info.value).endswith(
        "in the same series 's1'; the runs of a series share one cell and geometry: make them "
        "agree or put the run in a series of its own"
    )
