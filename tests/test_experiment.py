"""Experiment-level analysis on the demo campaign (against its ground truth) and on the real
single-polarisation HIP-ElecSus data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import HIP_FREE, REPO, demo_campaign, hip_record

from mohilbert.calibration.core import calibrate_run
from mohilbert.io.ingest import ingest_run
from mohilbert.runs import run_record
from mohilbert.simulate import load_campaign
from mohilbert.stages.fit import BUDGET_TERMS, fit_experiment
from mohilbert.stages.hilbert import hilbert_experiment
from mohilbert.stages.summary import summary_table
from mohilbert.theory import Cell, spectrum

KL = 2 * np.pi / 780.2413272e-9 * 2e-3


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory):
    runs = demo_campaign(tmp_path_factory.mktemp("data"))
    out = {}
    for exp in ("faraday", "voigt"):
        names = [r for r in runs.index if runs.loc[r, "experiment"] == exp]
        recs = {r: run_record(runs, r) for r in names}
        cal = {r: calibrate_run(ingest_run(recs[r]), recs[r]) for r in names}
        fit = fit_experiment(cal, recs)
        out[exp] = (fit, hilbert_experiment(cal, recs, fit))
    return out


@pytest.mark.parametrize("exp", ["faraday", "voigt"])
def test_demo_end_to_end_against_truth(demo_results, exp):
    fit, hil = demo_results[exp]
    acqs, _ = load_campaign(REPO / "data" / "raw" / "demo" / "campaign.yaml")
    truth_cell = Cell(**next(a for a in acqs if a.experiment == exp).cell)
    values = dict(zip(fit.parameter.values.tolist(), fit.value.values.tolist(), strict=True))
    stat = dict(zip(fit.parameter.values.tolist(), fit.stderr.values.tolist(), strict=True))
    total = dict(zip(fit.parameter.values.tolist(), fit.stderr_total.values.tolist(), strict=True))
    names = fit.parameter.values.tolist()
    budget = {
        p: dict(zip(fit.term.values.tolist(), fit.budget.values[names.index(p)], strict=True))
        for p in ("temperature_C", "field_T")
    }
    print(exp, values["temperature_C"], values["field_T"], total, budget)
    # the normalisation (baseline shapes and drifts, shared by the points of a run) is a term
    # of its own, and the total is the quadrature sum of the budget
    assert budget["temperature_C"]["normalisation"] > 0.5 * stat["temperature_C"]
    for p in ("temperature_C", "field_T"):
        assert budget[p]["statistical"] == pytest.approx(stat[p])
        quad = np.sqrt(sum(v**2 for v in budget[p].values()))
        assert total[p] == pytest.approx(quad, rel=1e-6)
        # the acceptance of the uncertainty budget: the truth within 2 sigma_total
        assert abs(values[p] - getattr(truth_cell, p)) < 2 * total[p], p
    assert total["temperature_C"] < 0.2
    assert total["field_T"] < 1e-4
    x = hil.detuning.values
    true = spectrum(x, truth_cell, "x")
    valid = (hil.edge.values == 0) & (hil.filled.values == 0)
    for i, mode in enumerate(hil.mode.values):
        k = list(true.mode.values).index(mode)
        true_index = true.n.values[k].real - 1
        measured = hil["index"].values[i]
        sigma = hil.index_uncertainty.values[i]
        ok = valid[i]
        peak = np.abs(true_index).max()
        assert np.abs(measured - true_index)[ok].max() < 0.03 * peak, mode
        pull = ((measured - true_index) / sigma)[ok]
        coverage = np.mean(np.abs(pull) <= 1)
        # the errors of neighbouring points are correlated (the transform is non-local, the
        # baseline is shared), so one record holds only tens of independent samples: its 1-sigma
        # coverage scatters by about +-0.07 around 0.68 even for an exact uncertainty.
        # Measured: RMS pull 0.71-0.82 and coverage 0.77-0.84, except Voigt perpendicular
        # (RMS pull 1.14, coverage 0.60)
        assert 0.5 < np.sqrt(np.mean(pull**2)) < 1.5, mode
        assert coverage >= 0.55, (mode, coverage)
    qty = "rotation" if exp == "faraday" else "retardance"
    metrics = json.loads(hil.attrs["metrics_json"])
    for pair in (
        f"{qty}_indirect_vs_theory",
        f"{qty}_direct_vs_theory",
        f"{qty}_indirect_vs_direct",
    ):
        assert metrics[pair]["rms_pull"] < 2.0, (pair, metrics[pair])
        assert metrics[pair]["rms_over_peak"] < 0.01, (pair, metrics[pair])
    assert hil[f"{qty}_direct"].attrs["units"] == "rad"


def test_summary_table(demo_results):
    from mohilbert.formatting import decimals

    table = summary_table(
        {k: v[0] for k, v in demo_results.items()}, {k: v[1] for k, v in demo_results.items()}
    )
    assert sorted(set(table.experiment)) == ["faraday", "voigt"]
    assert list(table.columns[:6]) == [
        "experiment",
        "run",
        "quantity",
        "value",
        "uncertainty",
        "unit",
    ]
    assert {f"u_{t}" for t in BUDGET_TERMS} <= set(table.columns)
    t = table.set_index(["experiment", "run", "quantity"])
    for exp in ("faraday", "voigt"):
        row = t.loc[(exp, "", "temperature_C")]
        assert row["unit"] == "degC"
        quad = np.sqrt(sum(row[f"u_{k}"] ** 2 for k in BUDGET_TERMS))
        # the total is the budget's quadrature sum, written with its two significant digits
        assert row["uncertainty"] == pytest.approx(quad, abs=0.5 * 10.0 ** -decimals(quad))
        assert row["uncertainty"] == round(quad, decimals(quad))
        assert t.loc[(exp, "", "field_T"), "unit"] == "T"
        assert t.loc[(exp, "", "fit_reduced_chi_square"), "value"] < 3
    assert t.loc[("faraday", "faraday_sp", "shift_MHz"), "unit"] == "MHz"
    assert ("faraday", "", "index_sigma_plus_rms_over_peak") in t.index
    assert ("voigt", "", "retardance_indirect_vs_theory_coverage_1sigma") in t.index
    # no gate fires on the demo
    assert (table.warnings.fillna("") == "").all()


@pytest.mark.parametrize("power", ["0.32uW", "0.56uW"])
def test_real_hip_single_polarisation(power):
    """One circular trace only: its index from the Hilbert transform against the theory at the
    fitted parameters. The scan (≈ 3.6-19.7 GHz) cuts through the line wings, so the theory's
    wings are subtracted before the transform (model-wing subtraction)."""
    from test_calibration import HIP_CONFIG

    rec = hip_record(f"hip_{power}")
    cal = {rec["run"]: calibrate_run(ingest_run(rec), rec, HIP_CONFIG)}
    records = {rec["run"]: rec}
    fit = fit_experiment(cal, records, {"free": HIP_FREE})
    values = dict(zip(fit.parameter.values.tolist(), fit.value.values.tolist(), strict=True))
    assert values["temperature_C"] == pytest.approx(62.0, abs=2.0)
    hil = hilbert_experiment(cal, records, fit)
    assert list(hil.mode.values) == ["sigma_plus"]
    assert "rotation_indirect" not in hil
    m = json.loads(hil.attrs["metrics_json"])["index_sigma_plus"]
    # measured: RMS deviation 1.6-2.0 % of the peak |n - 1|, RMS pull 0.85-0.98
    assert m["rms_over_peak"] < 0.05
    assert m["rms_pull"] < 3.0
    # the kept scan (3.6-19.7 GHz) reaches transparent regions at both ends, so the plain
    # transform does as well as the model-wing subtraction here (within 0.001 of the peak)
    plain = hilbert_experiment(cal, records, fit, {"wing_subtraction": False})
    m_plain = json.loads(plain.attrs["metrics_json"])["index_sigma_plus"]
    assert abs(m_plain["rms_over_peak"] - m["rms_over_peak"]) < 0.005


def test_two_runs_of_one_polarisation_are_refused():
    """Two sigma+ scans in one experiment: the joint fit uses both, the Hilbert analysis
    refuses to pick one silently."""
    from test_calibration import HIP_CONFIG

    from mohilbert.errors import AnalysisError

    recs = {}
    for run in ("hip_0.32uW", "hip_0.56uW"):
        recs[run] = {**hip_record(run), "experiment": "hip"}
    cal = {r: calibrate_run(ingest_run(rec), rec, HIP_CONFIG) for r, rec in recs.items()}
    fit = fit_experiment(cal, recs, {"free": HIP_FREE})
    assert {"shift_MHz__hip_0.32uW", "shift_MHz__hip_0.56uW"} <= set(fit.parameter.values)
    with pytest.raises(AnalysisError, match="hip_0.32uW and hip_0.56uW are both sigma_plus"):
        hilbert_experiment(cal, recs, fit)


def test_a_geometry_is_a_mode_pair_and_a_combination_rule():
    """Issue 16 item 1: one Hilbert analysis for both geometries; what differs is data."""
    from mohilbert.geometry import GEOMETRIES, MODE_PAIRS
    from mohilbert.kramers_kronig import faraday_rotation_direct, voigt_retardance_direct

    far, voi = GEOMETRIES["faraday"], GEOMETRIES["voigt"]
    assert far.modes == ("sigma_plus", "sigma_minus") and voi.modes == ("parallel", "perpendicular")
    assert (far.quantity, far.coefficient, far.angle_multiple) == ("rotation", 0.5, 2)
    assert (voi.quantity, voi.coefficient, voi.angle_multiple) == ("retardance", 1.0, 1)
    assert far.direct is faraday_rotation_direct and voi.direct is voigt_retardance_direct
    assert MODE_PAIRS["faraday"] == far.modes and MODE_PAIRS["zero_field"] == ("isotropic",)


def test_eigen_mode_runs_refuses_two_runs_of_one_mode_and_none():
    import xarray as xr

    from mohilbert.errors import AnalysisError
    from mohilbert.stages.hilbert import eigen_mode_runs

    cal = {r: xr.Dataset() for r in ("a", "b", "p")}
    cal["p"]["polarimeter"] = ("x", [0.0])
    from mohilbert.records import Experiment

    recs = {
        "a": {"run": "a", "polarisation": "sigma_minus"},
        "b": {"run": "b", "polarisation": "sigma_plus"},
        "p": {"run": "p", "polarisation": "linear:45"},
    }
    exp = Experiment.of(recs)
    assert eigen_mode_runs("e", "faraday", cal, exp) == {"sigma_plus": "b", "sigma_minus": "a"}
    recs["a"]["polarisation"] = "sigma_plus"
    with pytest.raises(AnalysisError, match="runs a and b are both sigma_plus"):
        eigen_mode_runs("e", "faraday", cal, Experiment.of(recs))
    recs = Experiment.of(recs)
    with pytest.raises(
        AnalysisError,
        match=r"experiment e: no eigen-polarisation run \(parallel or perpendicular\)",
    ):
        eigen_mode_runs("e", "voigt", cal, recs)


def test_a_decimated_fit_counts_each_points_own_white_noise():
    """Issue 36: a fitted point with no fitted neighbour shares no bin, so the fit's error
    floor takes its own white noise (the file's σ × √(n / n_effective)); points fitted beside
    their neighbours keep the stated σ, which the shared bins make right; the correlated part
    is never in it."""
    import xarray as xr

    from mohilbert.stages.fit import _white_transmission_sigma

    n = 8
    ds = xr.Dataset(
        {
            "transmission": ("detuning", np.full(n, 0.5)),
            "transmission_uncertainty": ("detuning", np.full(n, 5e-3)),
            "optical_depth_uncertainty_correlated": ("detuning", np.full(n, 6e-3)),
            "samples_per_point": ("detuning", np.full(n, 2)),
            "samples_per_point_effective": ("detuning", np.full(n, 2.5)),
        }
    )
    white = np.sqrt(5e-3**2 - 3e-3**2)  # 4e-3 without the correlated 0.006 × T
    every = _white_transmission_sigma(ds, np.arange(n))
    assert every == pytest.approx(np.full(n, white))
    apart = _white_transmission_sigma(ds, np.arange(0, n, 2))
    assert apart == pytest.approx(np.full(n // 2, white * np.sqrt(2 / 2.5)))
    # points 0, 1 beside each other keep the file's σ; 4 and 7 stand alone
    mixed = _white_transmission_sigma(ds, np.array([0, 1, 4, 7]))
    assert mixed == pytest.approx(white * np.array([1, 1, np.sqrt(0.8), np.sqrt(0.8)]))
    old_file = ds.drop_vars("samples_per_point_effective")
    assert _white_transmission_sigma(old_file, np.arange(0, n, 2)) == pytest.approx(white)
