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
        "--theta-deg",
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
