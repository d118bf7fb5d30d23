"""The whole demo campaign through the real workflow, twice: identical numbers (xarray) and
byte-identical figures, whatever the number of cores; the HTML report, in a real browser.
The campaign: a Faraday and a Voigt experiment (six runs) and a power series (three runs of
an enriched 87Rb cell at 3 uW, 60 uW and 3 mW, each also an experiment of its own)."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
import xarray as xr
from conftest import demo_workspace, run_snakemake, scheduled_jobs, unowned_results

from mohilbert.io import load_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    dirs = []
    for cores in ("1", "2"):
        # the first with its own copy of the package: the code-edit test edits it
        wd = demo_workspace(tmp_path_factory.mktemp(f"demo{cores}") / "wf", with_src=cores == "1")
        res = run_snakemake(wd, "--cores", cores, timeout=1200, env=_src_env(wd))
        assert res.returncode == 0, res.stderr[-4000:]
        (wd / "console.txt").write_text(res.stderr)  # what the user saw
        dirs.append(wd)
    return dirs


def _src_env(wd):
    """The environment that runs the workspace's own copy of the package, if it has one."""
    return {"PYTHONPATH": str(wd / "src")} if (wd / "src").is_dir() else None


def _files(wd, pattern):
    return sorted(p.relative_to(wd) for p in (wd / "results").rglob(pattern))


def test_every_netcdf_identical(two_runs):
    a, b = two_runs
    files = _files(a, "*.nc")
    assert (
        len(files) == 9 + 9 + 5 + 5 + 1 + 1
    )  # raw, calibrated, fits, hilbert, series, line centre
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
    # experiment, group index and calibration (PNG: the experiment PDFs are made on request),
    # the overview, the series' spectra, line centres and spectra by beam (PDF + PNG)
    assert len(figs) == 5 + 5 + 5 + 2 + 2 * 3
    for rel in figs:
        assert (
            hashlib.sha256((a / rel).read_bytes()).digest()
            == hashlib.sha256((b / rel).read_bytes()).digest()
        ), rel


def test_summary_and_forced_figures(two_runs):
    a, b = two_runs
    ta, tb = pd.read_csv(a / "results" / "summary.csv"), pd.read_csv(b / "results" / "summary.csv")
    pd.testing.assert_frame_equal(ta, tb)
    assert sorted(set(ta.experiment)) == [
        "faraday",
        "series_3mW",
        "series_3uW",
        "series_60uW",
        "voigt",
    ]
    temps = ta[(ta.quantity == "temperature_C") & ta.experiment.isin(["faraday", "voigt"])]
    assert len(temps) == 2 and (abs(temps.value - 88.0) < 2 * temps.uncertainty).all()
    # one number, the same digits everywhere: the summary, the report and the fit file as the
    # figures print it (the report showed 0.6000060 +- 0.0000076 T where the fit had 0.6000057)
    from mohilbert.formatting import pm
    from mohilbert.io.netcdf import load_dataset

    report = (a / "results" / "report.html").read_text()
    for exp in ("faraday", "voigt"):
        fit = load_dataset(a / "results" / "fits" / f"{exp}.nc")
        names = fit["parameter"].values.tolist()
        for q in ("temperature_C", "field_T"):
            k = names.index(q)
            text = pm(float(fit["value"].values[k]), float(fit["stderr_total"].values[k]))
            row = ta[(ta.experiment == exp) & (ta.quantity == q) & ta.run.isna()].iloc[0]
            assert pm(row.value, row.uncertainty) == text
            assert text in report, (exp, q, text)
            # summary.csv carries those digits, no more
            assert f"{row.value:.12g}" == f"{float(text.split(' ± ')[0]):.12g}"
    # every figure regenerated from the same files is byte-identical
    before = {rel: (a / rel).read_bytes() for rel in _files(a, "*.png")}
    res = run_snakemake(
        a,
        "--forcerun",
        "figure_experiment",
        "figure_overview",
        env=_src_env(a),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    after = {rel: (a / rel).read_bytes() for rel in _files(a, "*.png")}
    assert before == after


def test_report_is_part_of_the_run_and_identical(two_runs):
    a, b = two_runs
    ra, rb = (
        (a / "results" / "report.html").read_bytes(),
        (b / "results" / "report.html").read_bytes(),
    )
    assert ra == rb
    html = ra.decode()
    assert html.count("data:image/png;base64,") == 5 + 5 + 5 + 1 + 3
    assert "All quality gates passed" in html
    assert 'id="summary-table"' in html and "88.0" in html


def test_plot_quick_looks_every_kind_of_result(two_runs, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from mohilbert.plotting.quick_look import file_kind

    a, _ = two_runs
    exe = Path(sys.executable).with_name("mohilbert")
    for rel, kind in [
        ("raw/faraday_sp.nc", "raw"),
        ("calibrated/faraday_sp.nc", "calibrated"),
        ("fits/voigt.nc", "fit"),
        ("hilbert/voigt.nc", "hilbert"),
    ]:
        src = a / "results" / rel
        assert file_kind(load_dataset(src)) == kind
        out = tmp_path / f"{kind}.png"
        res = subprocess.run(
            [str(exe), "plot", str(src), "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == f"wrote {out}" and out.stat().st_size > 50_000


def _browser():
    """Headless Chromium through chromedriver (Debian's packages), or a skip reason."""
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(
            "no chromium/chromedriver on PATH: `bash run.sh test` installs Debian's chromium "
            "and chromium-driver when run as root with apt-get"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_report_in_a_real_browser_opens_on_the_results(two_runs):
    """The page a user lands on (1280 × 900) shows the summary table and the first
    experiment's comparison figure; every figure on the page has loaded."""
    a, _ = two_runs
    browser = _browser()
    try:
        browser.get((a / "results" / "report.html").as_uri())
        state = browser.execute_script(
            """
            const box = (id) => { const e = document.getElementById(id);
                return e ? e.getBoundingClientRect().top : null; };
            const imgs = Array.from(document.images);
            return {height: window.innerHeight, table: box('summary-table'),
                    figure: box('figure-faraday'), gates: box('gates'),
                    n: imgs.length,
                    loaded: imgs.filter(i => i.complete && i.naturalWidth > 800).length,
                    rows: document.querySelectorAll('#summary-table tr').length,
                    first: document.querySelector('#summary-table tr:nth-child(2)').innerText};
            """
        )
    finally:
        browser.quit()
    # loaded and decoded: the narrowest, the series' line-centre figure of one beam, is 880 px
    assert state["n"] == 19 and state["loaded"] == 19, state
    assert state["gates"] is not None and state["gates"] < state["height"], state
    assert state["table"] is not None and state["table"] < state["height"], state
    assert state["figure"] is not None and state["figure"] < state["height"], state
    assert state["rows"] == 7  # header, five experiments, the power series
    assert "faraday" in state["first"] and "±" in state["first"], state


def test_the_power_series_is_analysed_and_reported(two_runs):
    """Issue 36 item 2: the demo's power series (an enriched 87Rb cell at 60 C, 0.6 T, a 1 mm
    Gaussian beam at 3 uW, 60 uW and 3 mW, i.e. 0.3-350 I_sat; the power meter reads 1/0.8
    of the light in the cell; etalon, reference cell and a dark of its own per power) through
    the default workflow: the joint intense-probe fit finds the truth, each power's weak-probe
    fit is marked as biased (notes, not warnings), the saturated runs' Hilbert transforms are
    linearised, and the report shows it all.

    Measured: T 59.93 +- 0.11 C (truth 60.0, -0.6 sigma), B 0.60015 +- 0.00023 T (+0.7
    sigma), intensity scale 0.760 +- 0.034 (truth 0.8, -1.2 sigma). No quality gate warns
    (the data are good)."""
    a, _ = two_runs
    console = (a / "console.txt").read_text()
    assert "mohilbert: warning:" not in console, console[-4000:]
    assert "mohilbert: note: run series_3mW: beyond the weak probe" in console
    # the weak-probe fit of a single power: its misfit is the series' question, a note
    assert (
        "mohilbert: note: experiment series_60uW: the theory fits the data with reduced chi-square"
    ) in console
    assert (
        "; these runs have a probe power and a power series: its intense-probe fit says per "
        "run whether the weak probe holds (series file, weak_probe_holds)"
    ) in console
    series = load_dataset(a / "results" / "series" / "demo_series.nc")
    names = series["parameter"].values.tolist()
    truth = {"temperature_C": 60.0, "field_T": 0.6, "intensity_scale": 0.8}
    for name, true in truth.items():
        i = names.index(name)
        value, sigma = float(series["value"].values[i]), float(series["stderr_total"].values[i])
        print(
            f"{name}: {value:.5g} +- {sigma:.2g} (truth {true}, pull {(value - true) / sigma:+.2f})"
        )
        assert abs(value - true) < 3 * sigma, name
    runs = series["run"].values.tolist()
    holds = dict(zip(runs, series["weak_probe_holds"].values.tolist(), strict=True))
    assert holds == {"series_3uW": 0, "series_60uW": 0, "series_3mW": 0}
    for exp in ("series_3uW", "series_60uW", "series_3mW"):
        hil = load_dataset(a / "results" / "hilbert" / f"{exp}.nc")
        assert (
            "linear optical depth recovered with the intense-probe model" in hil.attrs["warnings"]
        )
    table = pd.read_csv(a / "results" / "series_table.csv")
    assert set(table["quantity"]) >= set(truth)
    report = (a / "results" / "report.html").read_text()
    assert "<section id='series'><h2>Power series</h2>" in report
    assert "<td>series demo_series (intense-probe fit)</td>" in report
    assert "biased by design; the series row is the measurement" in report


def test_noop_rerun_runs_nothing(two_runs):
    a, _ = two_runs
    res = run_snakemake(a, "--dry-run", env=_src_env(a))
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def test_every_result_file_is_known_to_prune(two_runs):
    """Every file a full run writes under results/ is either campaign-wide or owned by one run
    or experiment of the sheet (the table `mohilbert prune` uses cannot drift from the rules),
    and nothing of the current sheet counts as stale."""
    from mohilbert.pipeline import stale_results

    a, _ = two_runs
    results = a / "results"
    assert unowned_results(results) == []
    runs = ["faraday_sp", "faraday_sm", "faraday_pol", "voigt_par", "voigt_perp", "voigt_pol"]
    series_runs = ["series_3uW", "series_60uW", "series_3mW"]
    experiments = ["faraday", "voigt", *series_runs]
    assert stale_results(results, runs + series_runs, experiments, ["demo_series"]) == []


def test_an_experiments_pdfs_are_made_on_request(two_runs):
    """The full run writes each experiment's figures as PNG; the vector PDFs of one experiment,
    or of all, are one target away, run only their own jobs, and are the same drawing."""
    _, b = two_runs
    res = run_snakemake(b, "results/figures/experiment/faraday.pdf", "--quiet", "host")
    assert res.returncode == 0, res.stderr[-3000:]
    assert scheduled_jobs(res, "figure_experiment_pdf") == 1
    assert scheduled_jobs(res, "figure_experiment") == 0
    for family in ("experiment", "group_index"):
        assert (b / "results" / "figures" / family / "faraday.pdf").read_bytes()[:4] == b"%PDF"
    dry = run_snakemake(b, "experiment_pdfs", "--dry-run", "--quiet", "host")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert scheduled_jobs(dry, "figure_experiment_pdf") == 4  # the other four experiments
    assert unowned_results(b / "results") == []


#: jobs of each rule of the demo campaign (9 runs, 5 experiments, a power series)
_DEMO_JOBS = {
    "ingest": 9,
    "calibrate": 9,
    "fit": 5,
    "fit_series": 1,
    "line_centre": 1,
    "hilbert": 5,
    "figure_experiment": 5,
    "figure_overview": 1,
    "figure_series_spectra": 1,
    "figure_series_line_centre": 1,
    "series_tables": 1,
    "summary": 1,
    "report": 1,
}


@pytest.mark.parametrize(
    ("module", "reruns"),
    [
        # the Hilbert transform: the Hilbert stage and what reads its files, never the fits
        (
            "kramers_kronig.py",
            {
                "hilbert": 5,
                "figure_experiment": 5,
                "summary": 1,
                "report": 1,
            },
        ),
        # the summary table: itself and the report
        ("stages/summary.py", {"summary": 1, "report": 1}),
        # one figure family: its figures only (the report embeds them)
        ("plotting/calibration.py", {"figure_experiment": 5, "report": 1}),
        ("plotting/overview.py", {"figure_overview": 1, "report": 1}),
    ],
)
def test_a_code_edit_reruns_only_what_it_touches(two_runs, module, reruns):
    """Issue 37: a rule's code inputs are the modules its stage imports, so an edit of one
    stage or one figure family schedules that stage's jobs and what reads their files, and
    nothing upstream. The edit is undone (content and time) afterwards."""
    import os

    a, _ = two_runs
    path = a / "src" / "mohilbert" / module
    text, st = path.read_text(), path.stat()
    try:
        path.write_text(text + "\n# edited by the code-edit test\n")
        dry = run_snakemake(a, "--dry-run", "--quiet", "host", env=_src_env(a))
    finally:
        path.write_text(text)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert dry.returncode == 0, dry.stderr[-2000:]
    scheduled = {rule: scheduled_jobs(dry, rule) for rule in _DEMO_JOBS}
    assert scheduled == {rule: reruns.get(rule, 0) for rule in _DEMO_JOBS}, (
        dry.stdout + dry.stderr
    )[-3000:]


def test_a_series_job_on_two_threads_keeps_numpys_blas_on_one(two_runs):
    """Issue 35: a job's threads are its compiled kernels' (a cluster job of the series rule
    gets two); numpy's BLAS, to which Snakemake gives as many, stays on one: its threads spun
    on the kernels' cores (a paper series fit on 2 threads 41.7 s with BLAS on 2, 31.7 s on 1)."""
    _, b = two_runs
    res = run_snakemake(
        b,
        "results/series/demo_series.nc",
        "--forcerun",
        "fit_series",
        "--allowed-rules",
        "fit_series",
        "--set-threads",
        "fit_series=2",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    log = (b / "results" / "logs" / "series" / "demo_series.log").read_text().splitlines()
    starts = [line for line in log if ": start on " in line]
    assert starts[-1].endswith("(local), 2 threads (BLAS 1 thread)"), starts
