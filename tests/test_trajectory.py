"""Optical pumping along the atoms' paths through a Gaussian beam (issue 19): a closed line has
no memory (the local steady state), the weak limit and the first-order pumping dose against
their closed forms, and the messages."""

from __future__ import annotations

import numpy as np
import pytest

from mohilbert.atoms.pumping import PumpingSystem, RatePrepared
from mohilbert.atoms.trajectory import gaussian_beam_response

GAMMA = 6.065  # Γ/2π [MHz]
W = 0.25e-3  # beam radius [m]
SPEEDS, WEIGHTS = np.array([150.0, 300.0]), np.array([0.4, 0.6])


def _system(leak: float) -> PumpingSystem:
    """Two ground states, one excited state driven from the first; it decays back with
    probability 1 − leak and to the second ground state with probability leak."""
    amp = np.zeros((3, 1, 2))
    amp[0, 0, 0] = np.sqrt(1 - leak)
    amp[1, 0, 1] = np.sqrt(leak)
    coupling = np.array([[np.sqrt(1 - leak), 0.0]], dtype=complex)
    return PumpingSystem(
        transition_MHz=np.zeros((1, 2)),
        coupling=coupling,
        amplitude=amp,
        branching=(amp**2).sum(axis=0),
        ground_population=np.array([0.5, 0.5]),
        gamma_MHz=GAMMA,
        ground_energy_MHz=np.zeros(2),
        excited_energy_MHz=np.zeros(1),
    )


def _local_gaussian(delta, system, rabi, transit_MHz, dephasing_MHz=0.0):
    """Local steady state averaged over a Gaussian beam as a detector sees it."""
    prep = RatePrepared(delta, system, transit_MHz, dephasing_MHz)
    u, wu = np.polynomial.legendre.leggauss(40)
    u, wu = (u + 1) / 2, wu / 2
    return sum(wk * prep.solve(rabi * np.sqrt(uk))[0] for uk, wk in zip(u, wu, strict=True))


def test_a_closed_line_has_no_memory():
    delta = np.linspace(-30, 30, 13)
    system = _system(0.0)
    for rabi in (1.0, 10.0, 60.0):  # s = 2Ω²/Γ² from 0.05 to 200
        paths = gaussian_beam_response(delta, system, rabi, W, SPEEDS, WEIGHTS)
        # the same coherence width (the paths' transit broadening), no population relaxation
        gt = 1e-6 / (2 * np.pi * (np.pi / 4 * 2 * W / (SPEEDS @ WEIGHTS)))
        local = _local_gaussian(delta, system, rabi, 1e-9, gt)
        np.testing.assert_allclose(paths, local, rtol=2e-3, atol=1e-6 * np.abs(local).max())
        assert np.abs(paths).max() > 1e-3  # it does saturate


def test_weak_limit_and_the_first_order_pumping_dose():
    # at low intensity an open line loses the dose ⟨∫β R dt⟩ of its ground population (β the
    # leak): weighted by the detector over a Gaussian beam it is 2π β R₀ w √π / (4 v) per speed
    delta = np.array([0.0])
    rabi = 0.02
    open_, closed = _system(0.5), _system(0.0)
    sat_open = gaussian_beam_response(
        delta, open_, rabi, W, SPEEDS, WEIGHTS, path_steps=96, impact_nodes=16
    )
    sat_closed = gaussian_beam_response(delta, closed, rabi, W, SPEEDS, WEIGHTS, path_steps=96)
    gamma_c = GAMMA / 2 + 1e-6 / (2 * np.pi * (np.pi / 4 * 2 * W / (SPEEDS @ WEIGHTS)))
    a2 = 0.5  # |a|² of the open system's driven pair
    rate = rabi**2 * a2 / (2 * gamma_c)  # R₀ on resonance [MHz]
    dose = 2 * np.pi * 0.5 * rate * W * np.sqrt(np.pi) / 4 * (WEIGHTS @ (1e6 / SPEEDS))
    lor = 0.5j / gamma_c
    expected = lor * a2 * (-0.5 * dose)  # the ground deficit of the open system's line
    # P_e = R p₁/Γ, taken from the ground state: P₁ − P_e − p₁ = −2 R p₁/Γ without pumping,
    # and ∝ I, so the detector's average over the Gaussian beam is half its peak value
    excited_part = lor * a2 * (-0.5 * 2 * 0.5 * rate / GAMMA)
    assert sat_open[0] - excited_part == pytest.approx(expected, rel=2e-3)
    # and the saturation part is second order in the Rabi frequency
    sat_twice = gaussian_beam_response(delta, open_, 2 * rabi, W, SPEEDS, WEIGHTS, path_steps=96)
    assert sat_twice[0] / sat_open[0] == pytest.approx(4.0, rel=1e-3)
    # a closed line of the same strength has only the excited part (no dose)
    assert sat_closed[0] == pytest.approx(
        lor * (-0.5 * 2 * 0.5 * rabi**2 / (2 * gamma_c)) / GAMMA, rel=1e-3
    )


def test_pumping_builds_up_along_the_path():
    # against one transit rate 1/τ: weaker at low intensity, stronger (exponential in the
    # dose) at high intensity, for an open line at rest
    delta = np.array([0.0])
    system = _system(0.5)
    tau_us = np.pi / 4 * 2 * W / (SPEEDS @ WEIGHTS) * 1e6
    gt = 1 / (2 * np.pi * tau_us)
    low = [gaussian_beam_response(delta, system, r, W, SPEEDS, WEIGHTS)[0] for r in (0.05, 5.0)]
    loc = [_local_gaussian(delta, system, r, gt)[0] for r in (0.05, 5.0)]
    lin = 0.5 * (0.5j / (GAMMA / 2 + gt)) * 0.5  # weak response of the line
    remaining_paths = [1 + (x / lin).real for x in low]
    remaining_local = [1 + (x / lin).real for x in loc]
    assert remaining_paths[0] > remaining_local[0]
    assert remaining_paths[1] < remaining_local[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta_MHz": np.array([np.nan])}, "delta_MHz must be a finite 1-D array"),
        ({"peak_rabi_MHz": -1.0}, "peak_rabi_MHz must be finite and >= 0, got -1.0"),
        ({"beam_radius_m": 0.0}, "beam_radius_m must be > 0, got 0.0"),
        (
            {"speed_weights": np.array([0.5, 0.6])},
            "speeds_m_s must be positive, with one weight each summing to 1",
        ),
        ({"path_steps": 1}, "path_steps must be >= 2 and impact_nodes >= 1"),
    ],
)
def test_trajectory_messages(kwargs, message):
    args = {
        "delta_MHz": np.array([0.0]),
        "system": _system(0.5),
        "peak_rabi_MHz": 1.0,
        "beam_radius_m": W,
        "speeds_m_s": SPEEDS,
        "speed_weights": WEIGHTS,
    } | kwargs
    with pytest.raises(ValueError) as err:
        gaussian_beam_response(**args)
    assert str(err.value) == message
