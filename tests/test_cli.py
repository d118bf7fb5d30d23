"""The mohilbert command line (run as a real subprocess through the installed entry point)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np

from mohilbert.io import load_dataset
from mohilbert.io.writers import write_lecroy_csv
from mohilbert.theory import Cell, spectrum


def _cli(*args, cwd=None):
    exe = shutil.which("mohilbert") or str(
        __import__("pathlib").Path(sys.executable).with_name("mohilbert")
    )
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=120
    )


def test_theory_netcdf_matches_library(tmp_path):
    out = tmp_path / "sp.nc"
    res = _cli(
        "theory",
        "--temperature-C",
        "80",
        "--field-T",
        "0.6",
        "--length-m",
        "0.002",
        "--polarisation",
        "sigma_plus",
        "--detuning-MHz=-20000:20000:801",
        "-o",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert "faraday geometry" in res.stdout
    ds = load_dataset(out)
    ref = spectrum(
        np.linspace(-20000, 20000, 801),
        Cell(length_m=0.002, temperature_C=80, field_T=0.6),
        "sigma_plus",
    )
    np.testing.assert_allclose(ds.S0.values, ref.S0.values, rtol=1e-12)
    np.testing.assert_allclose(ds.chi.values, ref.chi.values, rtol=1e-12)
    assert ds.S0.attrs["units"] == "1" and "history" in ds.attrs


def test_theory_csv_and_elecsus_conventions(tmp_path):
    out = tmp_path / "v.csv"
    res = _cli(
        "theory",
        "--temperature-C",
        "100",
        "--field-T",
        "0.6",
        "--length-m",
        "0.002",
        "--field-theta-deg",
        "90",
        "--polarisation",
        "linear:45",
        "--conventions",
        "elecsus",
        "--detuning-MHz=-10000:12000:12",
        "--outputs",
        "S0,S1,retardance",
        "-o",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (12, 4)
    assert out.read_text().splitlines()[0] == "detuning_MHz,S0,S1,retardance"


def test_cli_errors_are_one_line(tmp_path):
    res = _cli("theory", "--polarisation", "diagonal", "-o", str(tmp_path / "x.nc"))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "unknown polarisation 'diagonal'" in res.stderr
    res = _cli("ingest", str(tmp_path / "missing.csv"))
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_ingest_command(tmp_path):
    p = write_lecroy_csv(tmp_path / "C4--scan.csv", -0.025, 1e-6, np.linspace(0, 1, 500))
    res = _cli("ingest", str(p), "-o", str(tmp_path / "scan.nc"))
    assert res.returncode == 0, res.stderr
    assert "lecroy_csv" in res.stdout and "500 samples" in res.stdout
    assert load_dataset(tmp_path / "scan.nc").C4.size == 500


def test_theory_options_are_the_library_names_and_help_shows_defaults():
    """One vocabulary: every cell option is a theory.Cell field (dashes for underscores) with
    the field's default, every intense-probe option an intense.Probe field."""
    import argparse
    import dataclasses

    from mohilbert import cli
    from mohilbert.intense import Probe
    from mohilbert.theory import Cell

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli._add_theory(sub)
    theory = sub.choices["theory"]
    options = {a.dest: a for a in theory._actions}
    cell = {f.name: f.default for f in dataclasses.fields(Cell)}
    for name in cli.CELL_OPTIONS:
        assert "--" + name.replace("_", "-") in options[name].option_strings
        expected = "natural" if name == "isotope_percent" else cell[name]
        assert options[name].default == expected, name
    probe = {f.name for f in dataclasses.fields(Probe)}
    assert set(cli.PROBE_OPTIONS) <= probe
    assert "--field-theta-deg" in options["field_theta_deg"].option_strings
    help_text = _cli("theory", "--help").stdout
    assert "(default: 0.075)" in help_text and "(default: boltzmann)" in help_text
    assert "(default: -30000:30000:6001)" in help_text
    assert "(default: None)" not in help_text


def test_theory_warns_about_a_temperature_in_kelvin_and_other_unit_slips(tmp_path):
    res = _cli(
        "theory",
        "--temperature-C",
        "358.15",
        "--length-m",
        "2",
        "--field-T",
        "6000",
        "--detuning-MHz=-1000:1000:5",
        "-o",
        str(tmp_path / "k.nc"),
    )
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines == [
        "mohilbert theory: warning: --temperature-C = 358.15 °C looks like a temperature in "
        "kelvin (85.00 °C); vapour cells run at about 20–200 °C",
        "mohilbert theory: warning: --length-m = 2 m is longer than vapour cells are made "
        "(≲ 0.3 m): was it in millimetres (0.002 m) or centimetres (0.02 m)?",
        "mohilbert theory: warning: --field-T = 6000 T is stronger than vapour-cell magnets "
        "(≲ 2 T): was it in mT (6 T) or gauss (0.6 T)?",
    ]


def test_implausible_values_and_their_causes():
    from mohilbert.theory import implausible

    assert implausible(85.0, 0.002, 0.6) == []
    assert implausible(260.0) == [
        "temperature_C = 260 °C is hotter than vapour cells are run (about 20–200 °C): the "
        "vapour would be opaque over the whole line"
    ]
    assert implausible(-5.0) == [
        "temperature_C = -5 °C is below freezing: the vapour density is negligible (was a "
        "sign or a unit lost?)"
    ]


def test_get_spectra_warns_about_a_temperature_in_kelvin():
    import pytest

    from mohilbert.theory import get_spectra

    with pytest.warns(UserWarning, match=r"get_spectra p_dict: T = 353.15 °C looks like a "):
        get_spectra(np.linspace(-1000, 1000, 5), [1, 0, 0], {"T": 353.15, "lcell": 0.002})


def test_sheet_warnings_name_the_run_and_the_column():
    import pandas as pd

    from mohilbert.runs import sheet_warnings

    runs = pd.DataFrame(
        {"temperature_C": [85.0, 358.15], "cell_length_m": [0.002, 75.0], "field_T": [0.6, 0.6]},
        index=pd.Index(["ok", "bad"], name="run"),
    )
    assert sheet_warnings(runs, "config/runs.tsv") == [
        "config/runs.tsv, run bad: temperature_C = 358.15 °C looks like a temperature in "
        "kelvin (85.00 °C); vapour cells run at about 20–200 °C",
        "config/runs.tsv, run bad: cell_length_m = 75 m is longer than vapour cells are made "
        "(≲ 0.3 m): was it in millimetres (0.075 m) or centimetres (0.75 m)?",
    ]


def test_plot_draws_each_kind_of_file(tmp_path):
    """mohilbert plot on a theory file (and the kinds the workflow writes, from a tiny
    synthetic set): a PNG is written and the kind is recognised."""
    from mohilbert.io.netcdf import load_dataset
    from mohilbert.plotting.quick_look import file_kind

    nc = tmp_path / "t.nc"
    assert (
        _cli(
            "theory", "--field-T", "0.6", "--detuning-MHz=-9000:9000:301", "-o", str(nc)
        ).returncode
        == 0
    )
    assert file_kind(load_dataset(nc)) == "theory"
    res = _cli("plot", str(nc), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "wrote t.png" and (tmp_path / "t.png").stat().st_size > 10_000
    res = _cli("plot", str(nc), "-o", str(tmp_path / "q.pdf"))
    assert res.returncode == 0 and (tmp_path / "q.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_refuses_what_it_cannot_draw(tmp_path):
    import pytest
    import xarray as xr

    (tmp_path / "s.csv").write_text("a,b\n1,2\n")
    res = _cli("plot", str(tmp_path / "s.csv"))
    assert res.returncode == 2
    assert res.stderr.strip() == (
        f"mohilbert plot: ValueError: {tmp_path / 's.csv'}: not a netCDF file (.nc); mohilbert "
        "plot draws the files of mohilbert theory, mohilbert ingest and the workflow's "
        "results/*/*.nc"
    )
    res = _cli("plot", str(tmp_path / "none.nc"))
    assert res.returncode == 2 and res.stderr.strip().endswith("none.nc: no such file")
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("y", [1.0, 2.0])}).to_netcdf(other, engine="h5netcdf")
    res = _cli("plot", str(other), "-o", str(tmp_path / "o.png"))
    assert res.returncode == 2
    assert res.stderr.strip().endswith(
        "other.nc: not written by mohilbert (no mohilbert_version attribute); mohilbert plot "
        "draws the files of mohilbert theory, mohilbert ingest and the workflow's results/*/*.nc"
    )
    from mohilbert.io.netcdf import save_dataset
    from mohilbert.plotting.quick_look import quick_look

    save_dataset(xr.Dataset({"x": ("y", [1.0, 2.0], {"units": "1", "long_name": "x"})}), other)
    with pytest.raises(ValueError, match="other.nc: not a file mohilbert writes \\(a theory "):
        quick_look(xr.load_dataset(other), "other.nc")
    res = _cli("plot", str(other), "-o", str(tmp_path / "o.svg"))
    assert res.returncode == 2 and "o.svg: the figure must end in .png or .pdf" in res.stderr


def test_config_reference_prints_updates_and_refuses_a_file_without_markers(tmp_path):
    from conftest import REPO

    res = _cli("config-reference", cwd=tmp_path)  # the package's schema, from any folder
    assert res.returncode == 0 and "| `fit.free` |" in res.stdout
    res = _cli("config-reference", "--schema", "nowhere.yaml", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "mohilbert config-reference: ValueError: nowhere.yaml not found: pass the schema's "
        "path to --schema"
    )
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    schema = str(REPO / "src" / "mohilbert" / "schemas" / "config.schema.yaml")
    res = _cli("config-reference", "--schema", schema, "--update", str(readme))
    assert res.returncode == 2
    assert res.stderr.strip().endswith(
        "README.md: no '<!-- BEGIN config keys' … '<!-- END config keys -->' lines to replace; "
        "add the two lines where the table belongs"
    )
    from mohilbert.config import REFERENCE_BEGIN, REFERENCE_END

    readme.write_text(f"intro\n{REFERENCE_BEGIN}\nold\n{REFERENCE_END}\noutro\n")
    res = _cli("config-reference", "--schema", schema, "--update", str(readme))
    assert res.returncode == 0 and res.stdout.strip() == f"{readme}: updated"
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "| `fit.free` |" in text
