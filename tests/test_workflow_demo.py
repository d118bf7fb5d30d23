"""The whole demo campaign through the real workflow, twice: identical numbers (xarray) and
byte-identical figures, whatever the number of cores; the paper target; the HTML report."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
import xarray as xr
from conftest import demo_workspace, run_snakemake

from mohilbert.io import load_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    dirs = []
    for cores in ("1", "2"):
        wd = demo_workspace(tmp_path_factory.mktemp(f"demo{cores}") / "wf")
        res = run_snakemake(wd, "--cores", cores, timeout=1200)
        assert res.returncode == 0, res.stderr[-4000:]
        dirs.append(wd)
    return dirs


def _files(wd, pattern):
    return sorted(p.relative_to(wd) for p in (wd / "results").rglob(pattern))


def test_every_netcdf_identical(two_runs):
    a, b = two_runs
    files = _files(a, "*.nc")
    assert len(files) == 6 + 6 + 2 + 2  # raw, calibrated, fits, hilbert
    assert files == _files(b, "*.nc")
    for rel in files:
        da, db = load_dataset(a / rel), load_dataset(b / rel)
        xr.testing.assert_equal(da, db)  # values and coordinates (attrs hold paths and times)
        for name in da.data_vars:
            assert da[name].attrs.get("units") is not None and da[name].attrs.get("long_name"), (
                rel,
                name,
            )


def test_figures_byte_identical(two_runs):
    a, b = two_runs
    figs = _files(a, "*.png") + _files(a, "*.pdf")
    assert len(figs) == 2 * (2 + 2 + 6 + 1)
    for rel in figs:
        assert (
            hashlib.sha256((a / rel).read_bytes()).digest()
            == hashlib.sha256((b / rel).read_bytes()).digest()
        ), rel


def test_summary_and_paper_target(two_runs):
    a, b = two_runs
    ta, tb = pd.read_csv(a / "results" / "summary.csv"), pd.read_csv(b / "results" / "summary.csv")
    pd.testing.assert_frame_equal(ta, tb)
    assert sorted(set(ta.experiment)) == ["faraday", "voigt"]
    temps = ta[ta.quantity == "temperature_C"]
    assert len(temps) == 2 and (abs(temps.value - 88.0) < 2 * temps.uncertainty).all()
    # the paper target regenerates every figure: force it and compare with the first run
    before = {rel: (a / rel).read_bytes() for rel in _files(a, "*.png")}
    res = run_snakemake(
        a,
        "paper",
        "--forcerun",
        "figure_experiment",
        "figure_group_index",
        "figure_calibration",
        "figure_overview",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    after = {rel: (a / rel).read_bytes() for rel in _files(a, "*.png")}
    assert before == after


def test_report_builds(two_runs):
    a, _ = two_runs
    res = run_snakemake(a, "--report", "results/report.html")
    assert res.returncode == 0, res.stderr[-3000:]
    html = (a / "results" / "report.html").read_text(errors="replace")
    assert "Comparison with theory" in html and "Calibration" in html
    assert len(html) > 100_000


def test_noop_rerun_runs_nothing(two_runs):
    a, _ = two_runs
    res = run_snakemake(a, "--dry-run")
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def test_every_result_file_is_known_to_prune(two_runs):
    """Every file a full run writes under results/ is either campaign-wide or owned by one run
    or experiment of the sheet (the table `mohilbert prune` uses cannot drift from the rules),
    and nothing of the current sheet counts as stale."""
    from mohilbert.pipeline import CAMPAIGN_FILES, result_owner, stale_results

    a, _ = two_runs
    results = a / "results"
    unknown = [
        rel
        for p in results.rglob("*")
        if p.is_file()
        and (rel := p.relative_to(results).as_posix()) not in CAMPAIGN_FILES
        and result_owner(rel) is None
    ]
    assert unknown == []
    runs = ["faraday_sp", "faraday_sm", "faraday_pol", "voigt_par", "voigt_perp", "voigt_pol"]
    assert stale_results(results, runs, ["faraday", "voigt"]) == []
