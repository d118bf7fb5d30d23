"""Quality gates (issue 13): hard gates stop a run with one line naming the cause; soft gates
are warnings stored with the result. Runs on the committed demo exports."""

import json

import numpy as np
import pytest
from conftest import REPO, SCHEMA_PATH

from mohilbert import gates
from mohilbert.calibration.core import calibrate_run
from mohilbert.errors import CalibrationError
from mohilbert.io.ingest import ingest_run
from mohilbert.runs import load_runs, run_record

FSR = 750.0


@pytest.fixture(scope="module")
def demo_run():
    runs = load_runs(REPO / "config" / "runs.tsv", SCHEMA_PATH, data_root=REPO / "data" / "raw")
    rec = run_record(runs, "faraday_sp")
    return ingest_run(rec), rec


@pytest.mark.parametrize(
    "factor, words",
    [(10, "9.9x wider than theory"), (0.1, "9.9x narrower than theory"), (2, "2x wider")],
)
def test_wrong_fsr_stops_naming_etalon_fsr(demo_run, factor, words):
    # issue 13: FSR typed 10x too large finished with "T = 21 +- 84 degC"; 10x too small
    # blamed od_threshold
    raw, rec = demo_run
    with pytest.raises(CalibrationError) as err:
        calibrate_run(raw, dict(rec, etalon_fsr_MHz=FSR * factor))
    msg = str(err.value)
    print(msg)
    assert "\n" not in msg
    assert msg.startswith(f"run faraday_sp: etalon_fsr_MHz = {FSR * factor:g} makes the")
    assert words in msg and msg.endswith("check etalon_fsr_MHz")
    assert "match an FSR near 7" in msg  # the FSR the spectrum asks for (~750 MHz)


def test_fsr_off_by_4_percent_on_self_calibrated_data_is_measured_and_warned(demo_run):
    raw, rec = demo_run
    ds = calibrate_run(raw, dict(rec, etalon_fsr_MHz=FSR * 1.04), {"absolute": "self"})
    fitted = ds.attrs["etalon_fsr_fitted_MHz"]
    # measured: 749.94 +- 0.04 MHz (true 750)
    assert abs(fitted / FSR - 1) < 0.005
    assert 0 < ds.attrs["etalon_fsr_fitted_uncertainty_MHz"] < 1.0
    (record,) = gates.read(ds.attrs)
    # a record: which run, which gate, the message (the summary finds a run's rows by it)
    assert (record.run, record.gate) == (rec["run"], "calibrate.axis_scale_tolerance")
    warning = record.message
    assert "says the etalon FSR is 749." in warning and "not the sheet's 780 MHz" in warning
    assert warning.endswith("update etalon_fsr_MHz")
    assert ds.attrs["n_warnings"] == 1


def test_fsr_off_with_a_reference_cell_warns_about_the_reference_fit(demo_run):
    raw, rec = demo_run
    ds = calibrate_run(raw, dict(rec, etalon_fsr_MHz=FSR * 1.04))
    (warning,) = map(str, gates.read(ds.attrs))
    assert "the reference theory describes its channel with reduced chi-square" in warning
    assert "etalon_fsr_MHz" in warning
    assert ds.attrs["absolute_fit_redchi_noise"] > 10
    good = calibrate_run(raw, rec)
    assert gates.read(good.attrs) == []
    assert good.attrs["absolute_fit_redchi_noise"] < 3  # measured 1.50
    assert good.attrs["etalon_fsr_sheet_MHz"] == FSR


def test_gate_thresholds_come_from_the_config(demo_run):
    raw, rec = demo_run
    ds = calibrate_run(raw, rec, gates={"absolute_fit_redchi": 1.0, "linearisation_rms_MHz": 0.01})
    text = " ".join(map(str, gates.read(ds.attrs)))
    assert "reduced chi-square 1.5 (gate 1)" in text
    assert "the etalon fringes deviate from the linearised scan by" in text
    # a stop factor above 10 lets the 10x typo through to the (then failing) fit of the axis
    assert (
        gates.thresholds("calibrate", {"gates": {"axis_scale_stop_factor": 2}})[
            "axis_scale_stop_factor"
        ]
        == 2
    )


def test_soft_gate_messages():
    (record,) = gates.fit_warnings("experiment e1", 52.0, {"redchi": 3.0})
    assert (record.subject, record.run, record.gate) == ("experiment e1", "", "fit.redchi")
    w = str(record)
    assert w.startswith(
        "experiment e1: the theory fits the data with reduced chi-square 52 (gate 3)"
    )
    assert "the statistical errors are scaled up for it" in w
    assert gates.fit_warnings("experiment e1", 1.1, {"redchi": 3.0}) == []
    metrics = {"rotation_indirect_vs_direct": {"rms_pull": 5.2}, "index_x": {"rms_pull": 9}}
    (w,) = map(str, gates.hilbert_warnings("e1", metrics, {"indirect_vs_direct_rms_pull": 3.0}))
    assert "the rotation from the Hilbert transforms and from the polarimeter disagree" in w
    assert "RMS pull 5.2, gate 3" in w
    attrs = {}
    stored = [record, gates.GateWarning("run r1", "calibrate.scan_fraction_min", "run r1: b")]
    gates.store(attrs, stored)
    assert json.loads(attrs["warnings"])[1] == {
        "subject": "run r1",
        "gate": "calibrate.scan_fraction_min",
        "message": "run r1: b",
        "severity": "warning",
    }
    assert gates.read(attrs) == stored and attrs["n_warnings"] == 2
    assert gates.read({}) == []
    # files written before the records held the messages alone: read as records
    old = gates.read({"warnings": json.dumps(["run r2: its scan", "experiment e: misfit"])})
    assert [(w.run, w.subject, w.message) for w in old] == [
        ("r2", "run r2", "run r2: its scan"),
        ("", "experiment e", "experiment e: misfit"),
    ]
    short = {"axis_scale_fitted": 0, "scan_fraction_kept": 0.3, "calibration_segment_cuts": "x"}
    (w,) = map(str, gates.calibration_warnings("r1", short, gates.DEFAULTS["calibrate"]))
    assert w.startswith("run r1: only 30 % of the record is a regular scan (gate 50 %)")


def test_consistency_gate_across_experiments_of_one_cell():
    cell = '{"cell_length_m": 0.002}'
    results = {
        "a": {
            "cell": cell,
            "values": {"temperature_C": (61.79, 0.31, "degC"), "field_T": (0.6, 1e-3, "T")},
        },
        "b": {
            "cell": cell,
            "values": {"temperature_C": (62.61, 0.08, "degC"), "field_T": (0.6, 1e-3, "T")},
        },
        "c": {"cell": "other", "values": {"temperature_C": (80.0, 0.01, "degC")}},
    }
    out = gates.consistency_warnings(results, gates.DEFAULTS["summary"])
    (record,) = out["a"]
    w = record.message
    assert [x.message for x in out["b"]] == [w] and out["c"] == []
    assert record.gate == "summary.consistency_sigma"
    assert w.startswith(
        "experiments a and b describe one cell (the same sheet values) but their temperature_C "
        "differ by 2.6 sigma (61.79 ± 0.31 vs 62.61 ± 0.08 degC)"
    )
    assert "probe power" in w
    assert gates.consistency_warnings(results, {"consistency_sigma": 3.0})["a"] == []


def test_consistency_gate_gives_one_warning_per_parameter_for_a_series_of_one_cell():
    # 17 weak-probe fits of one cell at different powers drift by 27 °C: one warning for the
    # temperature naming all that disagree, not one for each of the 136 pairs
    cell = '{"cell_length_m": 0.002}'
    temps = np.linspace(62.4, 35.1, 17)
    results = {
        f"p{k:02d}": {"cell": cell, "values": {"temperature_C": (t, 0.3, "degC")}}
        for k, t in enumerate(temps)
    }
    results["q"] = {"cell": cell, "values": {"temperature_C": (62.4, 0.3, "degC")}}
    out = gates.consistency_warnings(results, gates.DEFAULTS["summary"])
    assert all(len(w) == 1 for w in out.values())
    (w,) = (x.message for x in out["p00"])
    assert [x.message for x in out["p16"]] == [w] and [x.message for x in out["q"]] == [w]
    assert w.startswith(
        "experiments p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, "
        "p15, p16, q describe one cell (the same sheet values) but their temperature_C differ by "
        "up to 64.3 sigma (62.4 ± 0.3 vs 35.1 ± 0.3 degC; 18 experiments, from 35.1 to 62.4 "
        "degC, the most distant p00 and p16)"
    )


@pytest.mark.parametrize("element, line", [("Na", "D1"), ("Cs", "D2")])
def test_wrong_element_stops_naming_element_and_line(demo_run, element, line):
    # a Rb reference read as another alkali: no axis stretch matches cleanly
    raw, rec = demo_run
    with pytest.raises(CalibrationError) as err:
        calibrate_run(raw, dict(rec, element=element, line=line))
    msg = str(err.value)
    print(msg)
    assert msg.startswith(
        f"run faraday_sp: the reference cell lines match the {element} {line} theory at no axis scale"
    )
    assert msg.endswith("check element and line, then etalon_fsr_MHz")


def test_wrong_line_of_the_right_element_warns(demo_run):
    raw, rec = demo_run
    ds = calibrate_run(raw, dict(rec, line="D1"))
    (warning,) = map(str, gates.read(ds.attrs))
    assert "the reference theory describes its channel with reduced chi-square" in warning
    assert "check the element, line" in warning


def test_the_self_calibration_gate_is_judged_against_the_channels_whole_noise(demo_run):
    """Issue 36 item 4: the absolute-axis gate compares the fit with the channel's whole noise
    (white per sample and the correlated scatter measured where the cell is transparent):
    quiet on a good run calibrated by its own theory, loud for the wrong line."""
    raw, rec = demo_run
    good = calibrate_run(raw, rec, {"absolute": "self"})
    # measured: 0.75 against the whole noise (1.39 against the white noise alone)
    assert good.attrs["absolute_fit_redchi_total"] < 2
    assert good.attrs["absolute_fit_redchi_total"] <= good.attrs["absolute_fit_redchi_noise"]
    assert gates.read(good.attrs) == []
    wrong = calibrate_run(raw, dict(rec, line="D1"), {"absolute": "self"})
    assert wrong.attrs["absolute_fit_redchi_total"] > 100  # measured 1.8e3
    assert "calibrate.absolute_fit_redchi" in [w.gate for w in gates.read(wrong.attrs)]


def test_a_run_with_a_probe_power_is_not_judged_by_the_weak_probe_theory():
    """A power-series run whose axis the weak-probe theory fitted is not described by that
    theory where it saturates (the 0.5 mm series: 4e3 ... 5e5 against the white noise): no
    calibration warning; its series fit judges it against the intense-probe model. The same
    numbers without a probe power warn. (The intense-probe theory at the sheet's power,
    temperature and field, which a calibration falls back on for a run the weak-probe theory
    matches at no axis scale, is not the series' fitted model either: the real 1.0 mm / 10 mW
    run, 1.3e5, and ``test_a_saturated_runs_axis_fit_judges_neither_the_etalon_nor_the_theory``.)"""
    limits = gates.DEFAULTS["calibrate"]
    attrs = {"absolute_method": "self", "absolute_fit_redchi_total": 4.6e5}
    series_run = {**attrs, "probe_power_W": 3.2e-5, "absolute_model": "weak-probe theory"}
    assert gates.calibration_warnings("p", series_run, limits) == []
    (w,) = gates.calibration_warnings("q", attrs, limits)
    assert w.gate == "calibrate.absolute_fit_redchi" and "reduced chi-square 4.6e+05" in str(w)


def test_a_short_regular_scan_that_holds_every_line_is_the_sweeps_shape():
    """Issue 36 item 4: the HIP-ElecSus 15 V records are ~41 % regular (a triangle sweep: the
    return and the turnarounds cut) but the kept stretch holds every strong line — not a
    fault; a stretch that lost lines warns and says how many it holds."""
    limits = gates.DEFAULTS["calibrate"]
    base = {"scan_fraction_kept": 0.41, "calibration_segment_cuts": "24 fringe(s) before"}
    assert gates.calibration_warnings("r", {**base, "scan_lines_covered": 1.0}, limits) == []
    (w,) = gates.calibration_warnings("r", {**base, "scan_lines_covered": 0.75}, limits)
    assert w.gate == "calibrate.scan_fraction_min"
    assert "only 41 % of the record is a regular scan (gate 50 %) and it holds 75 % of the " in str(
        w
    )
    # a file from before the line count: the fraction alone, as it was
    assert len(gates.calibration_warnings("r", base, limits)) == 1


def test_the_kept_scan_counts_the_cells_strong_lines(demo_run):
    raw, rec = demo_run
    ds = calibrate_run(raw, rec)
    assert ds.attrs["scan_lines_covered"] == 1.0  # the demo scan holds the whole spectrum
    from mohilbert.calibration.grid import lines_covered
    from mohilbert.records import Run

    cell = Run.coerce(rec).cell()
    # a scan ending between the lines of the sigma+ spectrum holds only some of them
    assert lines_covered(cell, "sigma_plus", np.array([-60000.0, 60000.0])) == 1.0
    part = lines_covered(cell, "sigma_plus", np.array([-60000.0, 10000.0]))
    assert 0 < part < 1, part


def _series_run(**attrs):
    """A self-calibrated run of a power series as the real 1.0 mm / 66.5 °C ones are stored
    (D1_T66_100uW: a weak-probe axis fit of a saturated spectrum, scale 0.99363 ± 0.00070,
    reduced chi-square 2.4e6; fringe residuals 0.96 MHz; 41 % of the record kept, every strong
    line in it)."""
    base = {
        "axis_scale_fitted": 1,
        "axis_scale": 0.99363,
        "axis_scale_stderr": 0.00070,
        "etalon_fsr_sheet_MHz": 375.0,
        "absolute_method": "self",
        "absolute_model": "weak-probe theory",
        "absolute_fit_redchi_total": 2.41e6,
        "probe_power_W": 1e-4,
        "linearisation_rms_MHz": 0.96,
        "scan_fraction_kept": 0.41,
        "scan_lines_covered": 1.0,
    }
    return {**base, **attrs}


def test_a_saturated_runs_axis_fit_judges_neither_the_etalon_nor_the_theory():
    """Issue 36 item 4: on the 80 good real acquisitions (0.5 and 1.0 mm series) the axis-scale
    gate fired on 12 runs and the absolute-fit gate on one: saturated runs whose axis was
    fitted with a theory that does not describe them (weak-probe, or the intense-probe theory
    at the sheet's power, temperature and field). Their scale bends with the line shapes
    (0.3–2 %); the series' weak runs, which the theory describes, measure the FSR at
    0.9990–1.0023. The same numbers on a run the axis model describes still warn."""
    thr = gates.thresholds("calibrate", None)
    assert gates.calibration_warnings("D1_T66_100uW", _series_run(), thr) == []
    intense = _series_run(
        axis_scale=1.02036,
        axis_scale_stderr=0.00188,
        absolute_fit_redchi_total=1.26e5,
        absolute_model="intense-probe theory at the sheet's 0.01 W",
        probe_power_W=0.01,
    )
    assert gates.calibration_warnings("D1_T66_10mW", intense, thr) == []
    # a weak run (the theory describes it: chi-square 1.6) whose scale is off: the FSR is
    described = _series_run(absolute_fit_redchi_total=1.6, axis_scale_stderr=0.00023)
    (w,) = gates.calibration_warnings("T62_0.32uW", described, thr)
    assert w.gate == "calibrate.axis_scale_tolerance"
    assert "says the etalon FSR is 372.61 ± 0.09 MHz, not the sheet's 375 MHz" in w.message
    # within 3 of its standard errors of 1 it says nothing, however far
    loose = _series_run(absolute_fit_redchi_total=1.6, axis_scale_stderr=0.003)
    assert gates.calibration_warnings("T62_0.32uW", loose, thr) == []
    # a run without a probe power is judged by its own axis fit, as before
    single = _series_run(probe_power_W=float("nan"))
    kinds = [w.gate for w in gates.calibration_warnings("single", single, thr)]
    assert kinds == ["calibrate.axis_scale_tolerance", "calibrate.absolute_fit_redchi"]
    # no absolute-axis fit at all (NaN): nothing to judge it by, and its scale is judged
    unfitted = _series_run(
        absolute_fit_redchi_total=float("nan"), absolute_fit_redchi_noise=float("nan")
    )
    kinds = [w.gate for w in gates.calibration_warnings("unfitted", unfitted, thr)]
    assert kinds == ["calibrate.axis_scale_tolerance"]


def test_the_linearisation_gate_passes_a_lasers_jitter_and_catches_a_shaking_scan():
    """Issue 36 item 4: the real scans' fringe residuals are 0.8–3.6 MHz RMS (80 runs; the
    2 MHz gate fired on 9), and the budget carries them as the axis's linearisation term. The
    gate is the natural linewidth (6 MHz): a 3.6 MHz jitter of a smooth sweep passes, a scan
    shaken by 12 MHz (vibration, a noisy etalon trace) fires. (A mode hop is the segmenter's:
    one above 10 % of a fringe interval is cut; one below it, e.g. 30 MHz, leaves ~3 MHz RMS
    about the cross-validated polynomial — under any RMS gate that passes good scans.)"""
    from mohilbert.calibration.fringes import linearise

    rng = np.random.default_rng(3)
    times = np.linspace(0, 1, 40) + 0.02 * np.linspace(0, 1, 40) ** 2
    per_MHz = 1 / 375 / 39  # fringe time per MHz of frequency
    thr = gates.thresholds("calibrate", None)
    assert thr["linearisation_rms_MHz"] == 6.0
    attrs = _series_run(absolute_fit_redchi_total=1.6, axis_scale=1.0)
    rms = {}
    for name, shake_MHz in (("jitter", 3.6), ("shaken", 12.0)):
        lin = linearise(times + rng.normal(0, shake_MHz * per_MHz, times.size), 375.0)
        rms[name] = lin.rms_MHz
        warned = gates.calibration_warnings(
            name, {**attrs, "linearisation_rms_MHz": lin.rms_MHz}, thr
        )
        rms[name, "warned"] = [w.gate for w in warned]
    assert 2.0 < rms["jitter"] < 6.0 and rms["jitter", "warned"] == []
    assert rms["shaken"] > 6.0 and rms["shaken", "warned"] == ["calibrate.linearisation_rms_MHz"]


def test_a_parameter_on_its_search_bound_is_warned_and_a_physical_limit_is_not():
    """The bound gate on real fits: a run's offset of 30 MHz searched within ±5 MHz ends on
    the bound (warned, with the value, its σ and the bound); searched within ±100 MHz it is
    found (no warning); no buffer gas ends on 0, a limit of its domain (physics, no
    warning)."""
    from mohilbert.fitting import FitSpectrum, fit_spectra
    from mohilbert.theory import Cell, spectrum_arrays

    x = np.linspace(-20000, 20000, 1500)
    truth = Cell(length_m=2e-3, temperature_C=85, field_T=0.6)
    y = spectrum_arrays(x - 30.0, truth, "x")["S0"]
    y = y + np.random.default_rng(3).normal(0, 2e-3, x.size)
    spectrum = [FitSpectrum(x, y, "S0", "x", np.full(x.size, 2e-3), name="r1")]
    limits = gates.DEFAULTS["fit"]

    def warned(shift_bound):
        free = {
            "temperature_C": None,
            "gamma_buffer_MHz": None,
            "shift_MHz": (-shift_bound, shift_bound),
        }
        r = fit_spectra(spectrum, truth, free, per_spectrum=("shift_MHz",))
        return r, gates.bound_warnings("experiment e1", r.values, r.stderr, r.bounds, limits)

    r, found = warned(5.0)
    assert r.values["shift_MHz__r1"] == pytest.approx(5.0, abs=1e-3)
    assert r.bounds["shift_MHz__r1"] == (-5.0, 5.0)
    (w,) = found
    assert (w.subject, w.gate, w.severity) == ("experiment e1", "fit.bound_sigma", "warning")
    assert str(w).startswith(
        "experiment e1: shift_MHz__r1 ended on the bound 5 MHz of its search range (5 ± "
    )
    assert "the data's optimum lies beyond the range" in str(w)
    r, found = warned(100.0)
    assert r.values["shift_MHz__r1"] == pytest.approx(30.0, abs=4 * r.stderr["shift_MHz__r1"])
    assert r.values["gamma_buffer_MHz"] < r.stderr["gamma_buffer_MHz"]  # on its limit 0
    assert found == []
    # the threshold is the config's: 0 sigma still catches a value on the bound itself
    assert (
        gates.bound_warnings("e", {"a": 2.0}, {"a": 0.1}, {"a": (2.0, 3.0)}, {"bound_sigma": 0.0})
        != []
    )
    assert (
        gates.bound_warnings("e", {"a": 2.05}, {"a": 0.1}, {"a": (2.0, 3.0)}, {"bound_sigma": 0.0})
        == []
    )
