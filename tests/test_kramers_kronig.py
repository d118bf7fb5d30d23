"""Hilbert-transform analysis: exactness on noiseless theory, signs, uncertainty propagation."""

from __future__ import annotations

import numpy as np
import pytest

from mohilbert.errors import AnalysisError
from mohilbert.kramers_kronig import (
    faraday_rotation_direct,
    group_index,
    hilbert_transform,
    hilbert_variance,
    index_from_od,
    voigt_retardance_direct,
)
from mohilbert.theory import Cell, spectrum

X = np.linspace(-30000, 30000, 6001)
KL = 2 * np.pi / 780.2413272e-9 * 2e-3
CORE = np.abs(X) <= 0.9 * 30000


@pytest.mark.parametrize("theta", [0.0, 90.0])
def test_noiseless_theory_recovered(theta):
    """0.6 T, ±30 GHz: HT n−1 within 1 % of max|n−1| over the central 90 %; rotation and
    retardance within 5 mrad (pure data transform, no model subtraction)."""
    cell = Cell(length_m=2e-3, temperature_C=100, field_T=0.6, field_theta_deg=theta)
    ds = spectrum(X, cell, "x")
    found = []
    for i in range(2):
        n = ds.n.values[i]
        res = index_from_od(X, 2 * KL * n.imag, KL, pad_factor=8)
        err = np.abs(res["index"] - (n.real - 1))[CORE].max()
        assert err < 0.01 * np.abs(n.real - 1).max()
        found.append(res["index"])
    if theta == 0:
        rotation = 0.5 * KL * (found[1] - found[0])
        assert np.abs(rotation - ds.rotation.values)[CORE].max() < 5e-3
        assert np.abs(ds.rotation.values).max() > 1.0  # a real test: > 1 rad of rotation
    else:
        retardance = KL * (found[1] - found[0])
        assert np.abs(retardance - ds.retardance.values)[CORE].max() < 5e-3


def test_lorentzian_sign_and_shape():
    """A Lorentzian OD gives n > 1 on the red side: Re n − 1 = −(Γ/2)Δ/(Δ²+Γ²/4) × OD₀/(2kL)."""
    x = np.linspace(-20000, 20000, 40001)
    g = 50.0
    od = 1.0 / (1 + (x / (g / 2)) ** 2)
    res = index_from_od(x, od, KL, pad_factor=8)
    expected = -(x / (g / 2)) / (1 + (x / (g / 2)) ** 2) / (2 * KL)
    core = np.abs(x) < 5000
    assert np.abs(res["index"] - expected)[core].max() < 0.01 * np.abs(expected).max()
    assert res["index"][x < -g].min() > 0 and res["index"][x > g].max() < 0


def test_reversed_axis_gives_the_same_index():
    n = spectrum(X, Cell(length_m=2e-3, temperature_C=90, field_T=0.6), "x").n.values[0]
    od = 2 * KL * n.imag
    up = index_from_od(X, od, KL)["index"]
    down = index_from_od(X[::-1], od[::-1], KL)["index"]
    np.testing.assert_allclose(down[::-1], up, rtol=1e-10, atol=1e-16)


def test_uncertainty_propagation_matches_monte_carlo():
    rng = np.random.default_rng(4)
    x = np.linspace(-5000, 5000, 2001)
    sigma = 0.01 * (1 + (np.abs(x) < 1000) * 3.0)  # non-uniform noise
    od = np.exp(-((x / 300) ** 2))
    predicted = index_from_od(x, od, KL, od_sigma=sigma)["index_uncertainty"]
    draws = np.array([index_from_od(x, od + rng.normal(0, sigma), KL)["index"] for _ in range(400)])
    empirical = draws.std(axis=0)
    ratio = empirical[200:-200] / predicted[200:-200]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.08)
    assert np.percentile(ratio, 5) > 0.8 and np.percentile(ratio, 95) < 1.2
    # white noise keeps its variance under the Hilbert transform
    assert hilbert_variance(np.ones(4000))[1000:3000] == pytest.approx(1.0, abs=1e-3)


def test_saturated_points_need_and_use_the_model():
    n = spectrum(X, Cell(length_m=2e-3, temperature_C=120, field_T=0.6), "sigma_plus").n.values[0]
    od_true = 2 * KL * n.imag
    measured = np.minimum(od_true, 4.0)  # the detector floor caps the OD
    sat = od_true > 4.0
    assert sat.any()
    with pytest.raises(AnalysisError, match="need a model optical depth"):
        index_from_od(X, measured, KL, saturated=sat)
    res = index_from_od(X, measured, KL, saturated=sat, model_od=od_true)
    assert res["filled"].sum() == sat.sum()
    assert np.abs(res["index"] - (n.real - 1))[CORE].max() < 0.01 * np.abs(n.real - 1).max()


def test_model_wing_subtraction_rescues_a_truncated_window():
    """Lines at the window edge (−5..+15 GHz of a 0.6 T spectrum): subtracting the theory's
    wings and adding its dispersion back recovers n − 1 where the plain transform fails."""
    x = np.linspace(-5000, 15000, 2001)
    cell = Cell(length_m=2e-3, temperature_C=100, field_T=0.6)
    n = spectrum(x, cell, "sigma_plus").n.values[0]
    od = 2 * KL * n.imag
    plain = index_from_od(x, od, KL)["index"]
    model_n = spectrum(x, cell.with_(temperature_C=99), "sigma_plus").n.values[0]  # imperfect model
    res = index_from_od(x, od, KL, model_od=2 * KL * model_n.imag, model_index=model_n.real - 1)
    inner = slice(100, -100)  # away from the window edges (5 %)
    # the truncation bound (the model's own outside part x the edge misfit) is the size of
    # the remaining error
    err = np.abs(res["index"] - (n.real - 1))
    assert np.median(res["truncation_bound"][inner] / err[inner]) == pytest.approx(1, abs=0.5)
    peak = np.abs(n.real - 1).max()
    assert np.abs(plain - (n.real - 1))[inner].max() > 0.04 * peak
    assert np.abs(res["index"] - (n.real - 1))[inner].max() < 0.02 * peak


def test_group_index_scale():
    """theory-spec §11: Rb D2 natural, 100 °C, B = 0: n_g spans about −528 … +216."""
    x = np.linspace(-8000, 8000, 16001)
    n = spectrum(x, Cell(length_m=2e-3, temperature_C=100, field_T=0.0), "x").n.values[0]
    ng = group_index(x, n.real - 1, 384230426.6e6, window=5)
    assert ng.min() == pytest.approx(-528, rel=0.05)
    assert ng.max() == pytest.approx(216, rel=0.05)


def test_direct_rotation_and_retardance_unwrap_past_45_degrees():
    cell = Cell(length_m=2e-3, temperature_C=110, field_T=0.6)
    lin = spectrum(X, cell, "x")
    tp = spectrum(X, cell, "sigma_plus").S0.values
    tm = spectrum(X, cell, "sigma_minus").S0.values
    assert np.abs(lin.rotation.values).max() > np.pi / 4
    ok = np.sqrt(tp * tm) > 0.05
    rot = faraday_rotation_direct(lin.S2.values, tp, tm)
    assert np.abs(rot - lin.rotation.values)[ok].max() < 1e-6
    v = cell.with_(field_theta_deg=90)
    p45 = spectrum(X, v, "linear:45")
    tpar = spectrum(X, v, "parallel").S0.values
    tperp = spectrum(X, v, "perpendicular").S0.values
    ret = voigt_retardance_direct(p45.S3.values, tpar, tperp)
    ok = np.sqrt(tpar * tperp) > 0.05
    assert np.abs(ret - p45.retardance.values)[ok].max() < 1e-6


def test_bad_inputs():
    with pytest.raises(AnalysisError, match="uniform"):
        index_from_od(np.array([0, 1, 3, 4, 5, 6, 7, 8.0]), np.zeros(8), KL)
    with pytest.raises(AnalysisError, match="pad_factor"):
        index_from_od(X, np.zeros(X.size), KL, pad_factor=1)
    assert hilbert_transform(np.zeros(16)).shape == (16,)
    # the transform itself refuses what index_from_od refuses (it used to treat pad 1 as 2
    # and drop an imaginary part with only a warning)
    with pytest.raises(AnalysisError, match="pad_factor must be an integer >= 2"):
        hilbert_transform(np.zeros(16), pad_factor=1)
    with pytest.raises(
        AnalysisError, match="hilbert_transform takes a real 1-D array, got 1-D complex128"
    ):
        hilbert_transform(np.zeros(16, complex))
    with pytest.raises(AnalysisError, match="got 2-D"):
        hilbert_transform(np.zeros((4, 4)))
