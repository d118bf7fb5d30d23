"""A real power series through the real workflow (issue 19, reduced): five powers of the
HIP-ElecSus 0.5 mm series at 62 °C, four decades of intensity, from the raw LeCroy exports.

The test sheet is the paper's (config/hip-paper/runs.tsv) for these runs with the authors'
model choices that make it fast (pure 87Rb, flat beam); the paper target fits a Gaussian beam
and the measured 1 % 85Rb (benchmarks/bench_paper.py). As in the paper target, the probe is
propagated through the cell and the transit rate is fitted.

Measured here: T = 61.33 ± 0.25 °C (authors 62.0), B = 0.6021 ± 0.0004 T, intensity scale
0.209 ± 0.039 for the four runs of detection setting 0 and 0.072 ± 0.006 for the 3.1 mW run
(setting 1; with one scale for all, 0.197 ± 0.042 and that run's own spectrum said 0.36 of
it), transit scale 3.4 ± 0.6; the weak-probe fits of the single powers 61.7, 60.1, 53.7, 45.0,
35.0 °C."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, SCHEMA_PATH, copy_workflow, hip_paper, run_snakemake, unowned_results

from mohilbert.io.netcdf import load_dataset

pytestmark = pytest.mark.slow

RUNS = ("T62_0.32uW", "T62_3.2uW", "T62_32uW", "T62_320uW", "T62_3.1mW")
SERIES = "hip_0.5mm_T62"


def _sheet(dest, runs=RUNS, edits=None):
    """The paper sheet's rows of ``runs``, with the fast model choices (pure 87Rb, flat beam)
    and the cells of ``edits`` (run → column → value)."""
    lines = (REPO / "config" / "hip-paper" / "runs.tsv").read_text().splitlines()
    rows = [ln for ln in lines if not ln.startswith("#")]
    header = rows[0].split("\t")
    keep = [rows[0]]
    for ln in rows[1:]:
        cells = dict(zip(header, ln.split("\t"), strict=True))
        if cells["run"] in runs:
            cells.update(isotope_percent="87Rb:100", beam_profile="flat")
            cells.update((edits or {}).get(cells["run"], {}))
            keep.append("\t".join(cells[h] for h in header))
    dest.write_text("\n".join(keep) + "\n")


def test_power_series_through_the_workflow(tmp_path):
    root = hip_paper("data")
    wd = copy_workflow(tmp_path / "wf")
    _sheet(wd / "config" / "runs.tsv")
    cfg = yaml.safe_load((REPO / "config" / "hip-paper" / "config.yaml").read_text())
    cfg.update(runs="config/runs.tsv", data_root=str(root))
    # the model's own error from halves of five powers (two and three runs) is not what this
    # reduced series tests (with it the 0.5 mm series said 61.45 +- 3.21 C); the term has its
    # own test (test_power_series) and the full series' numbers are in the issue 36 note
    cfg["series"]["model_error"] = "none"
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = run_snakemake(wd, timeout=1500)
    assert res.returncode == 0, res.stderr[-4000:]
    series = load_dataset(wd / "results" / "series" / f"{SERIES}.nc")
    names = series["parameter"].values.tolist()

    def value(name):
        i = names.index(name)
        return float(series["value"].values[i]), float(series["stderr_total"].values[i])

    t, ut = value("temperature_C")
    b, ub = value("field_T")
    # the paper config fits the intensity scale per detection setting: the first four runs
    # (setting 0) share the one of T62_0.32uW, the 3.1 mW run (setting 1) has its own
    scale, uscale = value("intensity_scale__T62_0.32uW")
    scale1, uscale1 = value("intensity_scale__T62_3.1mW")
    assert value("intensity_scale__T62_320uW") == (scale, uscale)
    transit, utransit = value("transit_scale")
    print(
        f"series: T = {t:.3f} ± {ut:.3f} C, B = {b:.5f} ± {ub:.5f} T, scale {scale:.4f} ± "
        f"{uscale:.4f} (3.1 mW: {scale1:.4f} ± {uscale1:.4f}), transit scale {transit:.3f} ± "
        f"{utransit:.3f}"
    )
    assert abs(t - 62.0) < 1.5 and 0 < ut < 1.5  # the authors' 62.0 °C
    # 1 % high: each run's axis scale is fitted against the theory (the authors scale theirs
    # to the 0.6 T line spacing), so the field is only as good as that degeneracy allows
    assert abs(b - 0.6) < 0.0075 and ub > 0
    assert 0 < uscale < 0.5 * scale and 0 < uscale1 < 0.5 * scale1
    # the light in the cell changed with the detection: the 3.1 mW run has about half the
    # intensity per sheet watt of the others (full series: 0.171 +- 0.009 against 0.359 +- 0.022)
    assert scale1 / scale < 0.7 and scale - scale1 > 3 * np.hypot(uscale, uscale1)
    # the open line's pumping (I / γ_t) against the closed line's saturation (I) sets the
    # transit rate: faster than 1/τ, as the full series says (2.7 ± 0.2 at 62 °C)
    assert 0 < utransit < 0.5 * transit and transit > 1
    # four decades of sheet power, 3.3–3.7 of effective intensity (the top run's light in the
    # cell per watt is 0.31 ± 0.08 of the others' in this reduced series, 0.48 in the full one:
    # measured 3000×); the weak probe holds at none of these powers for this beam
    s = series["saturation_parameter"].values
    assert s.max() / s.min() > 2e3
    holds = series["weak_probe_holds"].values
    assert not holds[np.argmax(s)]
    assert series.attrs["weak_probe_limit_saturation"] < s.max()
    # the weak-probe fit of each power on its own drifts with power; the joint one does not
    weak_t = []
    for run in RUNS:
        fit = load_dataset(wd / "results" / "fits" / f"{run}.nc")
        i = fit["parameter"].values.tolist().index("temperature_C")
        weak_t.append(float(fit["value"].values[i]))
    print("weak-probe temperatures by power:", dict(zip(RUNS, np.round(weak_t, 2), strict=True)))
    assert weak_t[0] - weak_t[-1] > 10
    # the Hilbert stage transforms the linear optical depth of the saturated runs, and says so
    for run, ok in zip(series["run"].values.tolist(), holds, strict=True):
        hil = load_dataset(wd / "results" / "hilbert" / f"{run}.nc")
        assert (run in hil.attrs["saturated_runs"]) == (not ok)
        if not ok:
            assert "linear optical depth recovered with the" in hil.attrs["warnings"]
    # line-centre absorption of the data against the model at the fitted parameters
    from mohilbert.plotting import power_series as ps
    from mohilbert.runs import load_runs, stage_record
    from mohilbert.stages import line_centre as lc

    sheet = load_runs(wd / "config" / "runs.tsv", SCHEMA_PATH, root)
    from mohilbert.records import Experiment

    records = Experiment.of({r: stage_record(sheet, r, "fit", root) for r in RUNS})
    cal = {r: load_dataset(wd / "results" / "calibrated" / f"{r}.nc") for r in RUNS}
    data = lc.series_line_centres(series, cal, records).sort_values("saturation")
    ratio = {}
    for line in ("open", "closed"):
        sub = data[data["line"] == line]
        model = lc.model_line_centre_alpha(series, records, sub["saturation"].values)[line]
        a = sub["alpha"].values
        print(line, np.round(sub["saturation"].values, 3), np.round(a, 1), np.round(model, 1))
        # where the flat-beam model is a fair description (s <= 0.1): within 15 % (measured
        # with the transit rate fitted: open line 9 % and 1 % above the model, closed 4 % and
        # 3 % above)
        assert np.all(np.abs(a[:2] / model[:2] - 1) < 0.15)
        # the open line is pumped empty by 1 I_sat, in the data and in the model
        ratio[line] = a[2] / a[0]
        assert ratio[line] < (0.6 if line == "open" else 0.8)
        assert model[2] / model[0] < (0.6 if line == "open" else 0.8)
        assert np.all(np.diff(a) < 0)  # less absorption at every higher power
    assert ratio["open"] < ratio["closed"]  # the open line saturates first
    # the products of the paper target
    for name in (f"{SERIES}_spectra", "line_centre", "spectra_by_beam"):
        assert (wd / "results" / "figures" / "power_series" / f"{name}.png").stat().st_size > 1e4
    assert "<h3>Spectra of every beam</h3>" in (wd / "results" / "report.html").read_text()
    # the detection chain: the 3.1 mW run was recorded at a ~120x lower gain (3.6e3 -> 30
    # V/W) — a new detection setting, marked in the figure and its table
    run_ids = series["run"].values.tolist()
    response = dict(zip(run_ids, series["detector_response"].values, strict=True))
    setting = dict(zip(run_ids, series["detector_setting"].values, strict=True))
    print("detector response [V/W]:", response)
    assert [setting[r] for r in RUNS] == [0, 0, 0, 0, 1]
    assert 50 < response["T62_320uW"] / response["T62_3.1mW"] < 300
    # each run's own intensity against the series' (the power axis checked run by run)
    ratio_of = dict(zip(run_ids, series["intensity_ratio"].values, strict=True))
    ratio_u = dict(zip(run_ids, series["intensity_ratio_uncertainty"].values, strict=True))
    print("own intensity / series':", {r: (ratio_of[r], ratio_u[r]) for r in RUNS})
    for run in RUNS[2:]:  # saturated enough to tell
        assert np.isfinite(ratio_of[run]) and 0 < ratio_u[run] < 0.3 * ratio_of[run]
    # with its setting's own scale the 3.1 mW run's spectrum agrees with its intensity (with
    # one scale for all it absorbed as if it had 0.36 +- 0.01 of it), so no warning names it
    assert abs(ratio_of["T62_3.1mW"] - 1) < 0.3
    says = "run T62_3.1mW: its own spectrum says its effective intensity is"
    assert says not in series.attrs["warnings"]
    points = pd.read_csv(wd / "results" / "series_line_centre.csv")
    assert len(points) == 2 * len(RUNS) and points["alpha_uncertainty_per_m"].gt(0).all()
    high = points[points["run"] == "T62_3.1mW"]
    assert (high["detector_setting"] == 1).all() and np.isfinite(high["pull"]).all()
    # the figure draws the line-centre file as the stage wrote it
    written = lc.read_line_centre(load_dataset(wd / "results" / "line_centre" / f"{SERIES}.nc"))
    assert "V/W at 3.1 mW" in ps.settings_text(written[0])
    fresh = lc.line_centre_points(series, cal, records)
    pd.testing.assert_frame_equal(written.points, fresh.points, check_dtype=False)
    # the model's own uncertainty (the fit's covariance): there, and small beside the model
    for line in ("closed", "open"):
        u, model = written.alpha_u[line], written.alpha[line]
        assert np.all(u > 0) and np.all(u < 0.2 * model), (line, u / model)
    assert points["alpha_model_uncertainty_per_m"].gt(0).all()
    table = pd.read_csv(wd / "results" / "series_table.csv")
    assert {"temperature_C", "field_T", "intensity_scale", "transit_scale"} <= set(
        table["quantity"]
    )
    assert (table.loc[table.quantity == "temperature_C", "u_statistical"] > 0).all()
    # one number, the same digits in the series file, the table, the report and the figure
    from mohilbert.formatting import pm

    report = (wd / "results" / "report.html").read_text()
    row = table[table.quantity == "temperature_C"].iloc[0]
    text = pm(t, ut)  # the series file's full values
    assert pm(row.value, row.uncertainty) == text
    assert f"{row.value:.12g}" == text.split(" ± ")[0]  # the table carries those digits, no more
    assert f"<td>{row.value:.6g}</td><td>{row.uncertainty:.6g}</td>" in report
    figure = ps.spectra_figure(series, cal, records)
    assert f"T = {text} °C" in figure.axes[0].get_title()
    # one row per detection setting for the intensity scale, naming its runs, in the report
    scales = table[table.quantity == "intensity_scale"]
    assert scales["runs"].tolist() == ["T62_0.32uW, T62_3.2uW, T62_32uW, T62_320uW", "T62_3.1mW"]
    assert (
        "T62_0.32uW, T62_3.2uW, T62_32uW, T62_320uW" in (wd / "results" / "report.html").read_text()
    )


RUNS_1MM = ("D1_T81_0.05uW", "D1_T81_0.56uW", "D1_T81_5.6uW", "D1_T81_56uW", "D1_T81_560uW")


def test_1mm_series_with_borrowed_darks_through_the_workflow(tmp_path):
    """The 1.0 mm beam at 17.5 V (authors: 81.5 C), reduced: five powers over four decades,
    two of them (56 and 560 uW) with a dark borrowed from another acquisition of their
    vertical setting, as the lab recorded them (560 uW the 10 mW one's; 56 uW here the
    0.56 uW run's, recorded 11 min before its signal, where the lab lent it the 1 uW one's:
    so that the dark's own run is in the series and the series' darks measure how far the
    level moved, the borrower's dark uncertainty in its fit, line-centre points and Hilbert
    transform). The paper sheet and configuration as they
    are (runs_without_files: leave_out), data_root at the shared copy of the authors' layout,
    with the fast model choices of the 0.5 mm test (pure 87Rb, flat beam).

    A sixth run (1 uW) whose etalon cable was plugged into the dark (its etalon file is the
    dark trace: no fringes) cannot be calibrated: it is left out of the series with its one
    line, and the series, its figures, the summary and the report are made without it."""
    root = hip_paper("data")
    wd = copy_workflow(tmp_path / "wf")
    bad = "D1_T81_1uW"
    _sheet(
        wd / "config" / "runs.tsv",
        (*RUNS_1MM, bad),
        {
            bad: {"etalon": "C4", "etalon_file": "1.0mm_0.6T_17.5V/C4--1uW-baseline.csv"},
            "D1_T81_56uW": {"dark_file": "1.0mm_0.6T_17.5V/C4--0.56uW-baseline.csv"},
        },
    )
    cfg = yaml.safe_load((REPO / "config" / "hip-paper" / "config.yaml").read_text())
    cfg.update(runs="config/runs.tsv", data_root=str(root))
    # the model's own error from halves of five powers (two and three runs) is not what this
    # reduced series tests (with it the 0.5 mm series said 61.45 +- 3.21 C); the term has its
    # own test (test_power_series) and the full series' numbers are in the issue 36 note
    cfg["series"]["model_error"] = "none"
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = run_snakemake(wd, timeout=1500)
    assert res.returncode == 0, res.stderr[-4000:]
    series = load_dataset(wd / "results" / "series" / "hip_1.0mm_T81.nc")
    names = series["parameter"].values.tolist()
    values = dict(zip(names, series["value"].values, strict=True))
    errors = dict(zip(names, series["stderr_total"].values, strict=True))
    print("1.0 mm series:", {n: (round(values[n], 5), round(errors[n], 5)) for n in names})
    assert abs(values["temperature_C"] - 81.5) < 1.5 and 0 < errors["temperature_C"] < 1.0
    assert abs(values["field_T"] - 0.6) < 0.006 and errors["field_T"] > 0
    for name in names:  # every free parameter with a finite, positive uncertainty
        assert np.isfinite(values[name]) and 0 < errors[name] < np.inf, name
    assert set(series["run"].values.tolist()) == set(RUNS_1MM)
    # the run that could not be calibrated: left out, with its reason, everything else made
    left = load_dataset(wd / "results" / "calibrated" / f"{bad}.nc")
    reason = left.attrs["left_out"]
    assert reason.startswith("CalibrationError: run D1_T81_1uW:") and "fringe" in reason, reason
    assert json.loads(series.attrs["runs_left_out"]) == {bad: reason}
    line = f"mohilbert: warning: run {bad}: left out of power series hip_1.0mm_T81: {reason}"
    assert line in res.stderr, res.stderr[-3000:]
    assert not (wd / "results" / "fits" / f"{bad}.nc").exists()
    assert not (wd / "results" / "figures" / "calibration" / f"{bad}.png").exists()
    # issue 35: on a laptop (the default profile) a series fit runs on one core, side by
    # side with the other jobs; the rule's 2 threads are for a cluster job's own cores; and
    # numpy's BLAS does not start a thread per core in every job (the Snakefile's default)
    log = (wd / "results" / "logs" / "series" / "hip_1.0mm_T81.log").read_text()
    assert log.splitlines()[0].endswith("(local), 1 thread (BLAS 1 thread)"), log.splitlines()[0]
    report = (wd / "results" / "report.html").read_text()
    assert (
        f"run {bad}: left out of power series" in report and "not calibrated (left out)" in report
    )
    points = load_dataset(wd / "results" / "line_centre" / "hip_1.0mm_T81.nc")
    assert bad not in set(points["run"].values.tolist())
    # the borrowed darks are in the calibrated files, each at its run's own setting
    for run, dark, times in (
        ("D1_T81_56uW", "C4--0.56uW-baseline.csv", ("10:39:58", "10:51:24")),
        ("D1_T81_560uW", "C4--10mW-baseline.csv", ("10:59:43", "10:54:48")),
    ):
        raw = load_dataset(wd / "results" / "raw" / f"{run}.nc")
        assert raw["dark"].attrs["source_file"].endswith(dark)
        cal = load_dataset(wd / "results" / "calibrated" / f"{run}.nc")
        assert cal.attrs["dark_uncertainty_V"] == pytest.approx(2.6e-5)
        # when each trace was recorded (the LeCroy header's, ISO 8601): whose dark it is
        recorded = (cal.attrs["dark_trigger_time"], cal.attrs["signal_trigger_time"])
        assert recorded == tuple(f"2023-03-29T{t}" for t in times)
    # the dark uncertainty the series fit gave each run (a borrower: the series' measured
    # reproducibility where it exceeds the sheet's) is the one in its line-centre points
    from mohilbert.runs import load_runs, stage_record
    from mohilbert.stages.line_centre import series_line_centres
    from mohilbert.stages.series import with_dark_uncertainty

    dark = dict(zip(series["run"].values.tolist(), series["dark_uncertainty"].values, strict=True))
    assert series["dark_uncertainty"].attrs["units"] == "V"
    print("dark uncertainty [uV]:", {r: round(v * 1e6, 1) for r, v in dark.items()})
    raised = {r for r, v in dark.items() if v > 2.6e-5 * (1 + 1e-9)}
    assert raised == {"D1_T81_56uW"}, dark  # 560 uW's dark is its own here (10 mW is not)
    assert all(v == pytest.approx(2.6e-5) for r, v in dark.items() if r not in raised)
    sheet = load_runs(wd / "config" / "runs.tsv", SCHEMA_PATH, root, without_files="leave_out")
    exp = {r: stage_record(sheet, r, "fit", root) for r in RUNS_1MM}
    cals = {r: load_dataset(wd / "results" / "calibrated" / f"{r}.nc") for r in RUNS_1MM}
    sheet_u = series_line_centres(series, cals, exp).set_index(["run", "line"])["alpha_u"]
    written = pd.Series(
        points["alpha_u"].values,
        index=pd.MultiIndex.from_arrays([points["run"].values, points["line"].values]),
    )
    for (run, line), u in written.items():
        if run in raised:  # larger than with the sheet's, and what the series' sigma gives
            moved = with_dark_uncertainty({run: cals[run]}, {run: dark[run]})
            expected = series_line_centres(series, moved, {run: exp[run]})
            assert u > sheet_u[(run, line)], (run, line)
            assert u == pytest.approx(expected.set_index("line").at[line, "alpha_u"])
        else:
            assert u == pytest.approx(sheet_u[(run, line)]), (run, line)
    # and in its Hilbert transform (linearised: the paper config): the optical depth's
    # uncertainty the series' dark gives, wider than the sheet's where the light is absorbed
    (run,) = raised
    hil = load_dataset(wd / "results" / "hilbert" / f"{run}.nc").squeeze("mode")
    grid = hil["detuning"]
    moved = with_dark_uncertainty({run: cals[run]}, {run: dark[run]})[run]
    stated = cals[run]["optical_depth_uncertainty"].interp(detuning=grid).values
    expected = moved["optical_depth_uncertainty"].interp(detuning=grid).values
    np.testing.assert_allclose(hil["optical_depth_uncertainty"].values, expected, rtol=1e-9)
    deep = hil["optical_depth"].values > 1
    ratio = expected[deep] / stated[deep]
    print("Hilbert OD uncertainty, series' dark / sheet's, where OD > 1:", ratio.min(), ratio.max())
    assert deep.any() and ratio.min() > 1 and ratio.max() > 1.05
    # more saturation at higher power: the line-centre absorption falls
    s = series["saturation_parameter"].values
    assert s.max() / s.min() > 1e3
    # every file the series run wrote is known to prune, and none of it is stale; a series
    # that leaves the sheet leaves its files to prune, campaign-wide ones stay
    from mohilbert.pipeline import stale_results

    results = wd / "results"
    assert unowned_results(results) == []
    every = (*RUNS_1MM, bad)
    assert stale_results(results, every, every, ["hip_1.0mm_T81"]) == []
    gone = {p.relative_to(results).as_posix() for p in stale_results(results, every, every)}
    assert {
        "series/hip_1.0mm_T81.nc",
        "figures/power_series/hip_1.0mm_T81_spectra.png",
        "logs/series/hip_1.0mm_T81.log",
    } <= gone
    assert not any(g.startswith(("calibrated/", "series_table")) for g in gone)
