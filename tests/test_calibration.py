"""Calibration: demo campaign against its ground truth, real HIP-ElecSus data against the
authors' hand processing, and one-line CalibrationErrors for broken inputs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HIP_FREE, demo_campaign, hip_paper, hip_record, shared_path
from scipy.optimize import least_squares
from scipy.signal import find_peaks

from mohilbert.calibration.core import calibrate_run
from mohilbert.calibration.fringes import detect_fringes, linearise, segment_scan
from mohilbert.errors import CalibrationError
from mohilbert.io.ingest import ingest_run
from mohilbert.runs import run_record
from mohilbert.signal import dark_reproducibility_V
from mohilbert.simulate import Acquisition, simulate_acquisition

DEMO_RUNS = ["faraday_sp", "faraday_sm", "faraday_pol", "voigt_par", "voigt_perp", "voigt_pol"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo campaign regenerated with its ground truth, and its runs sheet."""
    root = tmp_path_factory.mktemp("data")
    return root, demo_campaign(root)


@pytest.mark.parametrize("run", DEMO_RUNS)
def test_demo_against_ground_truth(demo, run):
    root, runs = demo
    from mohilbert.io import load_dataset

    rec = run_record(runs, run)
    ds = calibrate_run(ingest_run(rec), rec)
    gt = load_dataset(root / "demo" / "truth" / f"{run}.nc")
    t_lo, t_hi = (float(v) for v in ds.attrs["calibration_segment_s"].split(" .. "))
    tt, det = gt.time.values, gt.detuning.values
    sel = (tt >= t_lo) & (tt <= t_hi)
    # detuning: calibrated axis at the fringe times vs the true detuning there
    a = ds.attrs
    nu_cal = a["axis_offset_MHz"] + a["axis_sign"] * a["axis_scale"] * ds.fringe_frequency.values
    nu_true = np.interp(ds.fringe_time.values, tt, det)
    assert np.sqrt(np.mean((nu_cal - nu_true) ** 2)) <= 5.0
    # transmission on the grid vs the true optical transmission
    order = np.argsort(det[sel])
    true_t = np.interp(ds.detuning.values, det[sel][order], gt.true_signal.values[sel][order])
    assert np.sqrt(np.mean((ds.transmission.values - true_t) ** 2)) <= 2e-3
    # the turnaround at the start of the scan is cut, and the report says so
    assert "cut" in a["calibration_segment_cuts"]
    assert a["linearisation_rms_MHz"] < 1.0
    # units on every variable, diagnostics stored
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        assert var.attrs.get("units") and var.attrs.get("long_name"), name
    assert {
        "fringe_time",
        "fringe_residual",
        "baseline",
        "off_resonance",
        "reference_model",
    } <= set(ds.data_vars)
    # the per-point uncertainty matches the scatter of the residual
    resid = ds.transmission.values - true_t
    pull = resid / ds.transmission_uncertainty.values
    assert 0.6 < np.std(pull) < 2.0


HIP_CONFIG = {"self_fit": HIP_FREE}


@pytest.mark.parametrize("power", ["0.32uW", "0.56uW"])
def test_real_hip_data_fully_automatic(power):
    """No reference cell: the axis comes from the signal's own theory. The fit finds the
    authors' 62 °C and 0.6 T (and an 87Rb-enriched cell, whose line pattern the data show)."""
    ds = _calibrated_hip(f"hip_{power}")
    a = ds.attrs
    assert a["absolute_method"] == "self"
    assert a["self_fit_temperature_C"] == pytest.approx(62.0, abs=2.0)
    assert a["self_fit_field_T"] == pytest.approx(0.6, abs=0.01)
    assert a["self_fit_percent_85Rb"] < 10
    assert a["absolute_correlation"] > 0.85
    # against the authors' hand processing (HIP-ElecSus paper_figures/preprocess_data.py),
    # like with like: their script subtracts the dark trace of the lowest power (0.32 uW) from
    # every power. The 0.56 uW dark sits 0.027 mV higher (1.5 % of the 1.8 mV signal), which
    # alone makes their lines shallower by up to 0.006, so compare with the same dark input.
    # Measured: 0.32 uW within 0.003 at every line, 0.56 uW within 0.0065 (with its own dark:
    # within 0.012, and within 0.001 of the fitted theory at the line that differs most)
    same = ds if power == "0.32uW" else _calibrated_hip("hip_0.56uW_dark0.32uW")
    where, excess = _depth_excess_vs_authors(same, power)
    assert excess.size >= 8  # the same lines
    assert (excess <= 0.01).all(), [
        (float(a), round(float(b), 4)) for a, b in zip(where, excess, strict=True)
    ]
    _, excess_own_dark = _depth_excess_vs_authors(ds, power)
    assert (excess_own_dark <= 0.015).all()


def _calibrated_hip(run):
    rec = hip_record(run)
    return calibrate_run(ingest_run(rec), rec, HIP_CONFIG)


def _depth_excess_vs_authors(ds, power):
    """Line centres and how far our line depths lie outside the range of the authors' three
    hand-picked baselines (poly3/5/7) at each line (<= 0 inside)."""
    x, t = ds.detuning.values, ds.transmission.values
    smooth = np.convolve(t, np.ones(5) / 5, "same")
    peaks, _ = find_peaks(-smooth, prominence=0.05)
    depths = []
    for poly in ("poly3", "poly5", "poly7"):
        theirs, scale = _authors_on_our_grid(x, t, power, poly)
        assert abs(scale - 1) < 0.02  # same frequency scale
        depths.append([np.nanmean(theirs[p - 2 : p + 3]) for p in peaks])
    lo, hi = np.min(depths, axis=0), np.max(depths, axis=0)
    ours = smooth[peaks]
    return x[peaks], np.maximum(lo - ours, ours - hi)


def _authors_on_our_grid(x, t, power, poly):
    """The authors' spectrum averaged into our bins after fitting axis offset and scale."""
    z = np.load(
        shared_path(
            "data",
            "real",
            "hip-elecsus-2mm-0.6T-faraday",
            "authors-processed",
            poly,
            f"{power}.npz",
        )
    )
    order = np.argsort(z["x"])
    xa, ya = z["x"][order], z["y"][order]
    step = x[1] - x[0]
    edges = np.concatenate([x - step / 2, [x[-1] + step / 2]])

    def on_grid(p):
        idx = np.digitize(p[0] + p[1] * xa, edges) - 1
        ok = (idx >= 0) & (idx < x.size)
        n = np.bincount(idx[ok], minlength=x.size)
        s = np.bincount(idx[ok], weights=ya[ok], minlength=x.size)
        return np.divide(s, n, out=np.full(x.size, np.nan), where=n > 0)

    def resid(p):
        return np.nan_to_num(on_grid(p) - t)

    shifts = np.arange(-25000.0, 25000.0, 100.0)
    costs = [
        np.mean(resid([sh, 1.0]) ** 2)
        if np.isfinite(on_grid([sh, 1.0])).sum() > 0.6 * x.size
        else np.inf
        for sh in shifts
    ]
    fit = least_squares(resid, [shifts[int(np.argmin(costs))], 1.0], x_scale=[100.0, 0.01])
    return on_grid(fit.x), fit.x[1]


def _acq(**kw):
    base = dict(
        run="bad",
        experiment="e",
        geometry="faraday",
        polarisation="sigma_plus",
        cell={"length_m": 0.002, "temperature_C": 85.0, "field_T": 0.6},
        n_samples=8000,
        seed=3,
    )
    base.update(kw)
    return Acquisition(**base)


def _raw_from(acq, drop=(), replace=None):
    import xarray as xr

    rec, gt, t0, dt = simulate_acquisition(acq)
    t = t0 + np.arange(acq.n_samples) * dt
    data = {
        role: ("time", v, {"units": "V", "long_name": role})
        for role, v in rec.items()
        if role not in drop
    }
    for role, v in (replace or {}).items():
        data[role] = ("time", v, {"units": "V", "long_name": role})
    return xr.Dataset(data, coords={"time": ("time", t, {"units": "s", "long_name": "time"})})


REC = dict(
    run="bad",
    geometry="faraday",
    polarisation="sigma_plus",
    element="Rb",
    line="D2",
    cell_length_m=0.002,
    temperature_C=85.0,
    field_T=0.6,
    etalon_fsr_MHz=750.0,
)


def test_no_fringes():
    raw = _raw_from(_acq(), replace={"etalon": np.random.default_rng(0).normal(0.1, 1e-3, 8000)})
    with pytest.raises(CalibrationError, match="run bad: no etalon fringes found"):
        calibrate_run(raw, REC)


def test_too_few_fringes():
    raw = _raw_from(_acq(etalon={"fsr_MHz": 20000.0, "finesse": 8.0}))
    with pytest.raises(
        CalibrationError,
        match="run bad: (only \\d+ etalon fringe|too few etalon fringes|etalon fringes are irregular)",
    ):
        calibrate_run(raw, dict(REC, etalon_fsr_MHz=20000.0))


def test_fringes_irregular_everywhere():
    rng = np.random.default_rng(1)
    e = np.full(8000, 0.02)
    for c in np.sort(rng.choice(np.arange(50, 7950), 60, replace=False)):
        e[c - 3 : c + 3] += 0.3
    raw = _raw_from(_acq(), replace={"etalon": e + rng.normal(0, 1e-3, 8000)})
    with pytest.raises(CalibrationError, match="run bad: etalon fringes are irregular everywhere"):
        calibrate_run(raw, REC)


def test_reference_without_absorption():
    raw = _raw_from(_acq())
    raw["reference"] = (
        "time",
        0.3 + np.random.default_rng(2).normal(0, 5e-4, 8000),
        {"units": "V", "long_name": "r"},
    )
    with pytest.raises(
        CalibrationError, match="run bad: the reference cell channel shows no absorption"
    ):
        calibrate_run(raw, REC)


def test_transmission_not_positive_after_dark():
    raw = _raw_from(_acq())
    raw["dark"] = raw["dark"] + 1.0  # a dark level above the signal: wrong channel or offset
    with pytest.raises(CalibrationError, match="run bad: transmission <= 0 after dark subtraction"):
        calibrate_run(raw, REC)


def test_linearisation_picks_degree_and_reports_residuals():
    t = np.linspace(0, 1, 80)
    true = 3000 * t + 400 * t**2 - 300 * t**3
    times = np.interp(np.arange(0, true[-1], 50.0), true, t)
    lin = linearise(times, 50.0)
    assert lin.degree >= 3 and lin.rms_MHz < 0.5
    seg = segment_scan(times)
    assert seg.first == 0 and seg.last == times.size - 1


def test_scan_kink_is_kept_and_small_hop_is_cut():
    """A sweep whose rate steps by 4 % and stays (as in the HIP-ElecSus 62 C 1.8 uW run, which
    lost its first line to it) is one regular scan; a 15 % hop of one interval is cut."""
    k = np.arange(60.0)
    rate = np.where(k < 30, 1.0, 1.04)
    d = 1e-3 * rate * (1 + 0.002 * np.sin(k / 3))  # fringe intervals [s], slow wobble
    times = np.concatenate([[0.0], np.cumsum(d)])
    seg = segment_scan(times)
    assert (seg.first, seg.last) == (0, times.size - 1) and not seg.cuts
    hop = d.copy()
    hop[40] *= 0.85  # the laser jumps ahead: one interval short
    seg = segment_scan(np.concatenate([[0.0], np.cumsum(hop)]))
    assert seg.last <= 40 and seg.cuts == [
        f"{times.size - 1 - seg.last} fringe(s) after t={np.concatenate([[0.0], np.cumsum(hop)])[seg.last]:.6g} s cut (irregular spacing)"
    ]


def test_detect_dips_and_peaks():
    t = np.linspace(0, 1, 20000)
    airy = 1 / (1 + 40 * np.sin(np.pi * 60 * t) ** 2)
    for sign in (1, -1):
        fr = detect_fringes(t, sign * airy + np.random.default_rng(0).normal(0, 1e-3, t.size))
        assert fr.sign == sign and 58 <= fr.times.size <= 61


def test_dark_uncertainty_is_a_correlated_transmission_error():
    """The two dark recordings of the HIP session differ by 0.027 mV (1.5 % of the 0.56 uW
    signal): stated as dark_uncertainty_V it widens the correlated error by (1 - T) sigma / B,
    most in the deepest lines, and the fit's systematic uncertainty with it."""
    from mohilbert.stages.fit import fit_experiment

    rec = hip_record("hip_0.56uW")
    raw = ingest_run(rec)
    plain = calibrate_run(raw, rec, HIP_CONFIG)
    stated = calibrate_run(raw, {**rec, "dark_uncertainty_V": 2.7e-5}, HIP_CONFIG)
    assert stated.attrs["dark_uncertainty_V"] == 2.7e-5
    np.testing.assert_array_equal(stated.transmission.values, plain.transmission.values)

    def corr_t(ds):
        t = ds.transmission.values
        return ds.optical_depth_uncertainty_correlated.values * np.maximum(
            t, ds.transmission_uncertainty.values
        )

    expected = np.abs(1 - plain.transmission.values) * 2.7e-5 / plain.baseline.values
    added = np.sqrt(np.clip(corr_t(stated) ** 2 - corr_t(plain) ** 2, 0, None))
    np.testing.assert_allclose(added, expected, rtol=1e-6, atol=1e-9)
    deep = plain.transmission.values < 0.7
    assert added[deep].min() > 0.004  # (1 - 0.65) * 1.5 %
    # a series that measures a borrowed dark's uncertainty puts it into the calibrated run
    # as the calibration would have: every dependent variable equal to the stated run's
    from mohilbert.stages.series import with_dark_uncertainty

    moved = with_dark_uncertainty({"r": plain}, {"r": 2.7e-5})["r"]
    assert moved.attrs["dark_uncertainty_V"] == 2.7e-5
    assert plain.attrs["dark_uncertainty_V"] == 0  # the file it came from is untouched
    for name in (
        "transmission_uncertainty",
        "optical_depth",
        "optical_depth_uncertainty",
        "optical_depth_uncertainty_correlated",
        "saturated",
    ):
        np.testing.assert_allclose(moved[name].values, stated[name].values, rtol=1e-9, err_msg=name)
        assert moved[name].attrs == stated[name].attrs
    np.testing.assert_allclose(
        moved.transmission_error_modes.sel(error_mode="dark").values,
        stated.transmission_error_modes.sel(error_mode="dark").values,
        rtol=1e-12,
    )
    fits = [
        fit_experiment({rec["run"]: ds}, {rec["run"]: rec}, {"free": HIP_FREE})
        for ds in (plain, stated)
    ]
    i = list(fits[0].parameter.values).index("temperature_C")
    assert fits[1].stderr_systematic.values[i] > 1.2 * fits[0].stderr_systematic.values[i]


def test_dark_reproducibility_from_successive_darks():
    """Successive dark levels: the RMS of their differences over sqrt 2 (a slow drift hardly
    counts), and its message."""
    rng = np.random.default_rng(3)
    levels = 6.7e-3 + rng.normal(0, 2e-5, 4000) + np.linspace(0, 1e-4, 4000)  # + a slow drift
    assert dark_reproducibility_V(levels) == pytest.approx(2e-5, rel=0.05)
    with pytest.raises(ValueError) as err:
        dark_reproducibility_V([6.7e-3])
    assert str(err.value) == "levels_V must be at least 2 finite dark levels, in recording order"


def test_paper_sheet_states_the_dark_reproducibility_of_its_darks(repo):
    """The paper sheet's dark_uncertainty_V is what the session's darks say: the successive
    dark medians at the lowest scope range (0.32-10 uW at 62 C, 0.03-0.56 uW at 81 C)."""
    import pandas as pd

    from mohilbert.io.scope import read_scope

    root = hip_paper("data")
    sheet = pd.read_csv(repo / "config/hip-paper/runs.tsv", sep="\t", comment="#")
    sheet = sheet.sort_values("probe_power_W")
    for series, top in (("hip_0.5mm_T62", 10e-6), ("hip_0.5mm_T81", 0.56e-6)):
        rows = sheet[(sheet["series"] == series) & (sheet["probe_power_W"] <= top * 1.01)]
        levels = [float(np.median(read_scope(root / f)["C4"].values)) for f in rows["dark_file"]]
        stated = sheet.loc[sheet["series"] == series, "dark_uncertainty_V"].unique()
        assert stated.size == 1
        assert stated[0] == pytest.approx(dark_reproducibility_V(levels), rel=0.02)
    # the 81 C darks scatter by twice the 62 C ones: 4.3e-5 against 2.0e-5 V
    half = sheet[sheet["series"].str.startswith("hip_0.5mm")]
    assert set(half["dark_uncertainty_V"].round(6)) == {2e-5, 4.3e-5}


def test_paper_sheet_1mm_darks_and_borrowed_darks(repo):
    """1.0 mm beam: dark_uncertainty_V is the reproducibility of the darks at the smallest
    ADC step, in power order; every borrowed dark is at its run's vertical setting (the same
    ADC step), and 9 of the 22 runs at 17.5 V borrow one, as the lab recorded them."""
    import pandas as pd

    from mohilbert.io.scope import read_scope
    from mohilbert.signal import DARK_STEP_TOLERANCE, adc_step_V

    root = hip_paper("data")
    sheet = pd.read_csv(repo / "config/hip-paper/runs.tsv", sep="\t", comment="#")

    def trace(rel):
        ds = read_scope(root / rel)
        return ds[next(iter(ds.data_vars))].values

    for series, n_runs, n_borrowed in (("hip_1.0mm_T66", 20, 0), ("hip_1.0mm_T81", 22, 9)):
        rows = sheet[sheet["series"] == series].sort_values("probe_power_W")
        assert len(rows) == n_runs
        own = rows["dark_file"] == rows["signal_file"].str.replace(".csv", "-baseline.csv")
        assert (~own).sum() == n_borrowed
        darks = {f: trace(f) for f in rows["dark_file"].unique()}
        steps = {f: adc_step_V(v) for f, v in darks.items()}
        for _, row in rows[~own].iterrows():
            ratio = adc_step_V(trace(row["signal_file"])) / steps[row["dark_file"]]
            assert 1 / DARK_STEP_TOLERANCE <= ratio <= DARK_STEP_TOLERANCE, row["run"]
        lowest = min(steps.values())
        levels = [
            float(np.median(darks[f]))
            for f in rows.loc[own, "dark_file"]
            if steps[f] < DARK_STEP_TOLERANCE * lowest
        ]
        stated = rows["dark_uncertainty_V"].unique()
        assert stated.size == 1
        assert stated[0] == pytest.approx(dark_reproducibility_V(levels), rel=0.02)


def test_real_borrowed_darks_found_by_their_time_stamps_and_given_the_series_spread(repo):
    """The scopes' time stamps tell whose dark a trace is: on the 1.0 mm series the runs
    found borrowing are exactly the sheet's nine at 17.5 V (their dark file is another
    power's) and none at 15 V. The borrowers whose vertical setting has other darks in the
    series get those darks' reproducibility (51-74 uV against the 26 uV stated for a dark
    beside its signal); no warning."""
    import pandas as pd
    import xarray as xr

    from mohilbert.io.scope import read_scope
    from mohilbert.products import CalibratedAttrs
    from mohilbert.signal import adc_step_V
    from mohilbert.stages.series import borrowed_dark_runs, borrowed_darks

    root = hip_paper("data")
    sheet = pd.read_csv(repo / "config/hip-paper/runs.tsv", sep="\t", comment="#")
    for series, expected in (("hip_1.0mm_T66", {}), ("hip_1.0mm_T81", None)):
        rows = sheet[sheet["series"] == series].set_index("run")
        own = rows["dark_file"] == rows["signal_file"].str.replace(".csv", "-baseline.csv")
        cal = {}
        for run, row in rows.iterrows():
            dark, signal = (
                read_scope(root / row["dark_file"]),
                read_scope(root / row["signal_file"]),
            )
            values = dark["C4"].values
            attrs = {
                "dark_file": row["dark_file"],
                "dark_level_V": float(np.median(values)),
                "dark_adc_step_V": adc_step_V(values),
                "dark_uncertainty_V": float(row["dark_uncertainty_V"]),
                "dark_trigger_time": dark.attrs["trigger_time"],
                "signal_trigger_time": signal.attrs["trigger_time"],
            }
            cal[run] = xr.Dataset(attrs=attrs)
        found = borrowed_dark_runs({r: CalibratedAttrs.from_dataset(d) for r, d in cal.items()})
        assert sorted(r for runs in found.values() for r in runs) == sorted(rows.index[~own])
        power = rows["probe_power_W"].to_dict()
        records, sigma = borrowed_darks(cal, dict.fromkeys(cal, 0), dict.fromkeys(cal, 1.0), power)
        assert all(r.severity == "note" for r in records)
        if expected is not None:
            assert sigma == expected
            continue
        assert sigma == pytest.approx(
            {
                "D1_T81_18uW": 26.3e-6,
                "D1_T81_56uW": 74.2e-6,
                "D1_T81_180uW": 50.7e-6,
                "D1_T81_560uW": 74.2e-6,
                "D1_T81_5.6mW": 74.2e-6,
            },
            rel=0.01,
        )


def _quantise(raw, bits: int, span: str):
    """ADC quantisation of every channel: over its own range, or over one fixed 0.8 V full
    scale (-0.2..0.6 V) for every channel, as a lab often leaves its scope."""
    out = raw.copy(deep=True)
    for name in out.data_vars:
        x = out[name].values
        lo, hi = (x.min(), x.max()) if span == "own" else (-0.2, 0.6)
        q = (hi - lo) / (2**bits - 1)
        out[name].values = lo + np.round((x - lo) / q) * q
    return out


@pytest.mark.parametrize(("bits", "span"), [(8, "own"), (8, "fixed"), (10, "own"), (10, "fixed")])
def test_quantised_demo_calibrates(demo, bits, span):
    """Coarse ADC quantisation (issue 14): the noise estimate no longer collapses to 0 (it
    made 'no etalon fringes found ... infx the noise'), the run calibrates, its axis and
    transmission stay close to the truth and the stated uncertainty covers the extra noise."""
    from mohilbert.io import load_dataset

    root, runs = demo
    run = "faraday_sp"
    rec = run_record(runs, run)
    raw = _quantise(ingest_run(rec), bits, span)
    if span == "fixed" and bits == 8:  # the trap of the issue: many repeated codes
        assert np.mean(np.diff(raw.etalon.values) == 0) > 0.3
    ds = calibrate_run(raw, rec)
    gt = load_dataset(root / "demo" / "truth" / f"{run}.nc")
    a = ds.attrs
    nu_cal = a["axis_offset_MHz"] + a["axis_sign"] * a["axis_scale"] * ds.fringe_frequency.values
    nu_true = np.interp(ds.fringe_time.values, gt.time.values, gt.detuning.values)
    rms_nu = np.sqrt(np.mean((nu_cal - nu_true) ** 2))
    t_lo, t_hi = (float(v) for v in a["calibration_segment_s"].split(" .. "))
    sel = (gt.time.values >= t_lo) & (gt.time.values <= t_hi)
    det = gt.detuning.values[sel]
    order = np.argsort(det)
    true_t = np.interp(ds.detuning.values, det[order], gt.true_signal.values[sel][order])
    resid = ds.transmission.values - true_t
    pull = resid / ds.transmission_uncertainty.values
    print(
        f"\n{bits} bit {span}: axis rms {rms_nu:.2f} MHz, T rms {np.std(resid):.2e}, "
        f"pull std {np.std(pull):.2f}"
    )
    assert rms_nu <= 5.0
    assert np.sqrt(np.mean(resid**2)) <= 5e-3
    assert 0.6 < np.std(pull) < 2.0


def test_dark_level_applies_to_the_reference_too(demo):
    """dark_level_V in the sheet instead of a dark trace: the reference channel is corrected
    by the same level as the signal (issue 16, item 4: it was not corrected at all), so the
    run calibrates exactly as with a dark trace of that median."""
    root, runs = demo
    rec = run_record(runs, "faraday_sp")
    raw = ingest_run(rec)
    level = float(np.median(raw.dark.values))
    with_trace = calibrate_run(raw, rec)
    with_level = calibrate_run(raw.drop_vars("dark"), {**rec, "dark_level_V": level})
    for key in ("reference_temperature_C", "axis_offset_MHz", "axis_scale"):
        assert with_level.attrs[key] == pytest.approx(with_trace.attrs[key], rel=1e-9), key
    np.testing.assert_allclose(with_level.transmission.values, with_trace.transmission.values)


def test_dark_level_step_names_its_source():
    """Issue 16 item 1: calibrate_run's steps are testable on their own."""
    import xarray as xr

    from mohilbert.calibration.core import dark_level
    from mohilbert.records import Run

    trace = xr.Dataset({"dark": ("time", [0.01, 0.02, 0.03], {"source_file": "C4--dark.csv"})})
    d = dark_level(trace, Run("r", dark_uncertainty_V=0.001))
    assert (d.level_V, d.uncertainty_V) == (0.02, 0.001)
    assert d.source == "median of the dark trace (C4--dark.csv)"
    d = dark_level(xr.Dataset(), Run("r", dark_level_V=0.05))
    assert (d.level_V, d.source) == (0.05, "dark_level_V from the runs sheet")
    d = dark_level(xr.Dataset(), Run("r"))
    assert (d.level_V, d.source) == (0.0, "none (no dark trace or dark_level_V): assumed 0 V")


def test_borrowed_dark_of_another_vertical_setting_is_refused(tmp_path, repo):
    """The paper's 0.5 mm / 81 C 1 mW run has no dark of its own. The 560 uW dark (our sheet's
    choice until this check) was recorded at another vertical setting (ADC step 13 against
    25.9 uV): refused in one line naming both files; the 10 uW dark, at its setting, is taken."""
    from mohilbert.errors import InputError
    from mohilbert.io.ingest import ingest_run
    from mohilbert.runs import load_runs, run_record

    root = hip_paper("data")
    folder = "0.5mm_0.6T_17.5V"
    header = "run\texperiment\tsignal\tsignal_file\tetalon\tetalon_file\tdark\tdark_file\tgeometry\tpolarisation\tcell_length_m\ttemperature_C\tfield_T\tetalon_fsr_MHz"
    rows = [header]
    for run, dark in (("own_setting", "10uW"), ("other_setting", "560uW")):
        rows.append(
            f"{run}\t{run}\tC4\t{folder}/C4--1mW.csv\tC2\t{folder}/C2--1mW.csv\tC4\t"
            f"{folder}/C4--{dark}-baseline.csv\tfaraday\tsigma_plus\t0.002\t81\t0.6\t375"
        )
    (tmp_path / "runs.tsv").write_text("\n".join(rows) + "\n")
    from mohilbert.config import RUNS_SCHEMA_PATH

    runs = load_runs(tmp_path / "runs.tsv", RUNS_SCHEMA_PATH, root)
    raw = ingest_run(run_record(runs, "own_setting"))
    assert raw["dark"].attrs["source_file"].endswith("C4--10uW-baseline.csv")
    with pytest.raises(InputError) as err:
        ingest_run(run_record(runs, "other_setting"))
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("run other_setting: dark trace ")
    assert "C4--560uW-baseline.csv was recorded at another vertical setting than the signal" in msg
    assert "C4--1mW.csv (ADC step 13 uV against 25.9 uV)" in msg
    assert msg.endswith("give the run a dark of its own detection setting")


def test_adc_step_through_printing_precision():
    """A 2.59 uV ADC step printed to 1 uV (values above 0.1 V with six decimals) reads as
    spacings of 2 and 3 uV; their mean is the step. Fewer than four levels: no step."""
    from mohilbert.signal import adc_step_V

    rng = np.random.default_rng(1)
    codes = np.cumsum(rng.integers(0, 2, 20000))
    printed = np.round(0.1 + 2.59e-6 * codes, 6)
    assert adc_step_V(printed) == pytest.approx(2.59e-6, rel=0.01)
    assert adc_step_V(np.array([0.0, 1e-3, 1e-3, 2e-3])) is None


def test_saturated_run_gets_its_axis_from_the_intense_probe_theory(repo):
    """The 1.0 mm / 15 V 10 mW acquisition (~1000 I_sat nominal): its power-broadened lines
    match the weak-probe theory at no axis scale (the calibration stopped, and with it the
    series fit). A run with a probe power is then aligned with the intense-probe theory at the
    sheet's power, and says so; its axis lands among its neighbours' at the same heater
    setting (offsets 3760-4160 MHz, scales 0.995-1.007: within 2.5 %)."""
    import yaml
    from snakemake.utils import validate

    from mohilbert.config import RUNS_SCHEMA_PATH, SCHEMA_PATH
    from mohilbert.io.ingest import ingest_run
    from mohilbert.runs import load_runs, run_record, stage_record

    root = hip_paper("data")
    sheet = repo / "config/hip-paper/runs.tsv"
    runs = load_runs(sheet, RUNS_SCHEMA_PATH, root, without_files="leave_out")
    cfg = yaml.safe_load((repo / "config/hip-paper/config.yaml").read_text())
    validate(cfg, str(SCHEMA_PATH), set_default=True)
    run = "D1_T66_10mW"
    raw = ingest_run(run_record(runs, run))
    rec = stage_record(runs, run, "calibrate", root)
    ds = calibrate_run(raw, rec, cfg["calibrate"], cfg["gates"]["calibrate"])
    assert ds.attrs["absolute_model"].startswith("intense-probe theory at the sheet's 0.01 W")
    assert "the weak-probe theory matched at no axis scale" in ds.attrs["absolute_model"]
    assert 3700 < ds.attrs["axis_offset_MHz"] < 4200
    assert abs(ds.attrs["axis_scale"] - 1) < 0.025
    # without a probe power there is no other theory to try: the weak-probe message stands
    weak = {**rec, "probe_power_W": None, "beam_diameter_m": None}
    with pytest.raises(CalibrationError, match=r"run D1_T66_10mW: the signal's own theory lines"):
        calibrate_run(raw, weak, cfg["calibrate"], cfg["gates"]["calibrate"])


def test_axis_fit_that_runs_out_of_evaluations_says_so(monkeypatch):
    """lmfit stops a fit at max_nfev without a Jacobian; the calibration says it did not
    converge (it failed with an AttributeError)."""
    import lmfit

    from mohilbert.calibration.core import _fit_axis
    from mohilbert.theory import Cell

    real = lmfit.minimize

    def aborted(*args, **kwargs):
        res = real(*args, **{**kwargs, "max_nfev": 2})
        assert res.aborted
        return res

    monkeypatch.setattr(lmfit, "minimize", aborted)
    t = np.linspace(0, 1, 400)
    f = np.linspace(-3000, 3000, 400)
    v = 1 - 0.2 * np.exp(-((f / 400) ** 2))
    with pytest.raises(CalibrationError) as err:
        _fit_axis(
            t,
            v,
            f,
            Cell(),
            "x",
            ["temperature_C"],
            "r1",
            2,
            400,
            1,
            0.0,
            "reference cell",
            True,
            1.0,
        )
    assert str(err.value).startswith("run r1: the reference cell fit did not converge in ")
    assert str(err.value).endswith(" evaluations")


def _enriched_87_record(acq, tmp_path) -> dict:
    """The exports of simulated ``acq`` (a 2 mm ⁸⁷Rb cell at 60 °C, 0.6 T) written to
    ``tmp_path`` and the sheet record the lab would write for them."""
    from mohilbert.simulate import write_acquisition

    row, _ = write_acquisition(acq, tmp_path)
    return {
        **row,
        "element": "Rb",
        "line": "D2",
        "cell_length_m": 0.002,
        "temperature_C": 60.0,
        "field_T": 0.6,
        "etalon_fsr_MHz": 750.0,
        "isotope_percent": "87Rb:100",
        **{
            f"{r}_path": str(tmp_path / row[f"{r}_file"])
            for r in ("signal", "etalon", "reference", "dark")
        },
    }


def test_baseline_error_under_the_lines_is_stated(tmp_path):
    """Issue 36: the baseline is interpolated under the lines, where drifts and a window
    fringe (0.1 %, 20 GHz period) move it coherently by ~1e-3 — a per-run normalisation
    error that the coefficients' white-residual errors put at ~1e-4 (a series fit through the
    whole chain covered T and the intensity scale at 0.29 and 0.38 within 1 sigma before).
    Over six acquisitions (an 87Rb cell at 60 C, 0.6 T: lines at 5-19 GHz), the stated
    ``baseline_under_lines`` error mode is the size of the actual error there (measured:
    actual RMS 7.9e-4, stated 6.1e-4, the other baseline shapes 4.2e-4)."""
    from mohilbert.theory import Cell, spectrum_arrays

    cell = {
        "length_m": 0.002,
        "temperature_C": 60.0,
        "field_T": 0.6,
        "isotope_percent": {"87Rb": 100},
    }
    actual, stated, others = [], [], []
    for seed in range(6):
        acq = Acquisition(
            f"b{seed}",
            "b",
            "faraday",
            "sigma_plus",
            cell=cell,
            n_samples=10000,
            seed=700 + seed,
            scan={"fringe_amplitude": 0.001, "fringe_period_MHz": 20000, "fringe_phase_rad": seed},
            channels={"signal": {"flicker_noise_V": 4e-4, "white_noise_V": 5e-4}},
        )

        rec = _enriched_87_record(acq, tmp_path)
        ds = calibrate_run(ingest_run(rec), rec)
        x = ds["detuning"].values
        lines = (x > 6000) & (x < 17000)
        truth = spectrum_arrays(x, Cell(**cell), "sigma_plus")["S0"]
        actual.append(np.mean((ds["transmission"].values - truth)[lines] / truth[lines]))
        modes = ds["transmission_error_modes"]
        under = modes.sel(error_mode="baseline_under_lines").values / ds["transmission"].values
        stated.append(np.mean(np.abs(under[lines])))
        rest = [
            m for m in modes["error_mode"].values if m != "baseline_under_lines" and m != "dark"
        ]
        others.append(
            np.sqrt(sum(np.mean(np.abs(modes.sel(error_mode=m).values[lines])) ** 2 for m in rest))
        )
    actual, stated, others = map(np.asarray, (actual, stated, others))
    print("actual", actual, "stated", stated, "others", others)
    rms = np.sqrt(np.mean(actual**2))
    assert 0.4 < np.sqrt(np.mean(stated**2)) / rms < 2.5
    # all the baseline's error shapes together: the size of the actual error, not 10x less
    total = np.sqrt(np.mean(stated**2 + others**2))
    assert 0.6 < total / rms < 2.5


def test_a_saturated_runs_baseline_divides_out_its_own_wings(tmp_path):
    """A run at 350 I_sat (87Rb, 60 C, 0.6 T, 1 mm Gaussian beam at 3 mW, as the chain
    simulation's top power) absorbs in its far wings ~1/√(1 + s) of what the weak probe
    does. The baseline's off-resonant points are chosen by the weak probe; dividing out its
    wing absorption there set the baseline high and every transmission low (simulated chain
    series: Figure 4's points at this power +0.74 ± 0.16 of their σ above the truth). With
    the run's probe power in the sheet the intense-probe model's wings are divided out:
    measured on the noiseless run, the transmission on the baseline's points against the
    truth −4.4e-4 with the weak probe's wings, 1e-6 with the run's own."""
    from mohilbert.simulate import _probe_transmission
    from mohilbert.theory import Cell

    cell = {
        "length_m": 0.002,
        "temperature_C": 60.0,
        "field_T": 0.6,
        "isotope_percent": {"87Rb": 100},
    }
    acq = Acquisition(
        "w0",
        "w",
        "faraday",
        "sigma_plus",
        cell=cell,
        n_samples=10000,
        seed=701,
        channels={"signal": {"flicker_noise_V": 0.0, "white_noise_V": 2e-5}},
        probe={"power_W": 3e-3, "beam_diameter_m": 1e-3, "beam_profile": "gaussian"},
    )
    rec = _enriched_87_record(acq, tmp_path)
    bias = {}
    for name, sheet in (
        ("weak", rec),
        (
            "own",
            {**rec, "probe_power_W": 3e-3, "beam_diameter_m": 1e-3, "beam_profile": "gaussian"},
        ),
    ):
        ds = calibrate_run(ingest_run(sheet), sheet)
        x = ds["detuning"].values
        truth = _probe_transmission(x, Cell(**cell), acq)
        used = ds["off_resonance"].values.astype(bool)
        bias[name] = float(np.mean(ds["transmission"].values[used] - truth[used]))
    print(bias)
    assert bias["weak"] < -2e-4
    assert abs(bias["own"]) < 1e-4


def test_an_experiments_calibration_figure_stacks_its_runs(demo):
    """The experiment's figure job draws its runs' calibration diagnostics one under the other
    (three panels each, in run order, each titled with its run); no run is an error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mohilbert.plotting.calibration import calibration_figure

    _, runs = demo
    cal = {}
    for run in ("faraday_sp", "faraday_sm"):
        rec = run_record(runs, run)
        cal[run] = calibrate_run(ingest_run(rec), rec)
    fig = calibration_figure(cal)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 6
    assert titles[0].startswith("run faraday_sm:") and titles[3].startswith("run faraday_sp:")
    assert fig.get_size_inches()[1] == pytest.approx(16.0)
    one = calibration_figure(cal["faraday_sp"])
    assert len(one.axes) == 3 and one.get_size_inches()[1] == pytest.approx(8.0)
    plt.close("all")
    with pytest.raises(ValueError, match="^calibration_figure needs at least one calibrated run$"):
        calibration_figure({})


def test_a_grid_points_own_noise_is_its_interpolated_bins():
    """Issue 36: a grid value interpolates between two neighbouring bins' means, so its own
    white noise is less than its bin's σ²/n (the field's error floor through the chain was
    ~10 % too large in σ, B over-covered). Monte Carlo over 4000 noise draws on a scan of the
    demo's density (1.5 samples per 10 MHz point, a sweep 30 % faster at one end): each
    point's variance is σ²/effective_counts (the mean ratio within 2 %, every point within
    25 %), the bins' σ²/n is 0.8 of it, and a smooth sum over every point still has the
    bins' noise (neighbours share their bins: measured 0.96 of it; the points' own noise,
    summed as if independent, 0.78)."""
    from mohilbert.calibration.grid import Binning

    rng = np.random.default_rng(5)
    u = np.sort(rng.uniform(0, 1, 3000))
    nu = 4500.0 * (u + 0.3 * u**2)  # MHz, a sweep that speeds up
    bins = Binning.of(nu, 10.0, "mc")
    eff = bins.effective_counts()
    draws = np.array([bins.mean(rng.normal(0, 1, nu.size)) for _ in range(4000)])
    var = draws.var(axis=0)
    inner = slice(5, -5)
    ratio = (var * eff)[inner]
    assert np.mean(ratio) == pytest.approx(1.0, abs=0.02)
    assert np.all(np.abs(ratio - 1) < 0.25)
    own_bin = 1 / np.maximum(bins.counts, 1)
    assert np.mean(var[inner]) / np.mean(own_bin[inner]) < 0.9
    a = np.sin(np.linspace(0, 3, bins.grid.size)) ** 2  # a smooth fit's sensitivity
    summed = (draws @ a).var()
    assert summed == pytest.approx(np.sum(a**2 * own_bin), rel=0.06)
    print(summed, np.sum(a**2 * own_bin), np.sum(a**2 / eff))
    assert summed > 1.1 * np.sum(a**2 / eff)
