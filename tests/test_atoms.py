"""Unit tests of the atomic-physics modules (mohilbert.atoms.*), each against a reference
value or an invariant, so that a physics change fails next to its cause.

References: D. A. Steck, *Rubidium 87 D Line Data* and *Rubidium 85 D Line Data* (rev. 2.3),
C. B. Alcock et al., Can. Metall. Q. 23, 309 (1984) (vapour pressure)."""

from __future__ import annotations

import numpy as np
import pytest

from mohilbert.atoms.constants import get_line, isotope_fractions
from mohilbert.atoms.density import number_density, vapour_pressure_Pa
from mohilbert.atoms.hamiltonian import line_list, populations
from mohilbert.atoms.lineshape import (
    complex_voigt,
    faddeeva,
    lagrange_deposit,
    lagrange_interp,
    lagrange_interp_rows,
)


def test_rb_vapour_pressure_and_density_at_room_temperature():
    # Steck: Rb vapour pressure 3.92e-7 torr at 25 degC (Alcock et al. solid-phase formula)
    assert vapour_pressure_Pa("Rb", 25.0) == pytest.approx(3.92e-7 * 133.322, rel=0.03)
    n = number_density("Rb", 25.0)
    assert n == pytest.approx(vapour_pressure_Pa("Rb", 25.0) / (1.380649e-23 * 298.15), rel=1e-12)
    assert number_density("Rb", 80.0) > 50 * n  # steep: x ~100 between 25 and 80 degC
    with pytest.raises(ValueError, match="below absolute zero"):
        vapour_pressure_Pa("Rb", -300.0)


def test_rb_d2_line_data():
    ln = get_line("Rb", "D2")
    assert ln.wavelength_m == pytest.approx(780.241e-9, rel=1e-5)
    fr = isotope_fractions("Rb", None)
    assert fr["85Rb"] == pytest.approx(0.7217, abs=1e-4) and sum(fr.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("isotope", "splitting_MHz"), [("87Rb", 6834.682611), ("85Rb", 3035.732439)]
)
def test_zero_field_ground_hyperfine_splitting(isotope, splitting_MHz):
    lines = line_list(isotope, "D2", 0.0)
    e = np.unique(np.round(lines.ground_energy_MHz, 3))
    assert e.size == 2 and e[1] - e[0] == pytest.approx(splitting_MHz, abs=1e-3)


@pytest.mark.parametrize(("field_G", "tolerance"), [(0.0, 1e-9), (100.0, 2e-5), (6000.0, 1e-3)])
@pytest.mark.parametrize("isotope", ["85Rb", "87Rb"])
def test_line_strength_sum_rule(isotope, field_G, tolerance):
    """Each excited state decays with total strength 1, so the strengths of all lines add
    up to the number of excited states. Summed per ground state they are equal at zero
    field (an isotropic ground manifold); in a field the Zeeman term mixes P3/2 with P1/2
    (the excited Hamiltonian holds both), so the D2 lines of a ground state borrow strength
    from D1 in proportion to B over the fine-structure splitting: 3.5e-4 at 0.6 T."""
    lines = line_list(isotope, "D2", field_G)
    per_ground = np.bincount(lines.ground, weights=lines.strength, minlength=lines.n_ground)
    spread = np.ptp(per_ground) / per_ground.mean()
    assert spread < tolerance
    if field_G:
        assert spread > 0.1 * tolerance  # the mixing is there, with the size it should have
    n_excited = {"85Rb": 2 * (1 + 2 + 3 + 4) + 4, "87Rb": 2 * (0 + 1 + 2 + 3) + 4}[isotope]
    assert lines.strength.sum() == pytest.approx(n_excited, rel=1e-9)


def test_populations_boltzmann_and_equal():
    lines = line_list("87Rb", "D2", 6000.0)
    eq = populations(lines, None)
    assert np.allclose(eq, 1 / lines.n_ground)
    hot = populations(lines, 353.15)
    # kT >> the ground splitting (h 6.8 GHz / k 353 K = 9e-4): nearly equal populations
    assert hot.sum() == pytest.approx(1.0) and 1e-3 < np.ptp(hot) / hot.mean() < 5e-3


def test_faddeeva_against_known_values():
    # w(0) = 1; w(i) = e erfc(1) = 0.427583576...
    np.testing.assert_allclose(faddeeva(np.array([0j, 1j])), [1.0, 0.42758357615580705], rtol=1e-12)


def test_voigt_lorentzian_limit_and_area():
    """Without Doppler width the line shape is the Lorentzian −1/(2Δ + iΓ) (the convention
    of χ ∝ Σ strength · line shape); its imaginary part integrates to π/2 over Δ."""
    gamma = 2 * np.pi * 6.07e6
    delta = np.linspace(-2000, 2000, 400001) * gamma
    v = complex_voigt(delta, 1e-6 * gamma, gamma)
    np.testing.assert_allclose(v, -1 / (2 * delta + 1j * gamma), rtol=1e-6, atol=1e-16)
    area = np.trapezoid(v.imag, delta)
    assert area == pytest.approx(np.pi / 2, rel=2e-3)  # the far tails beyond ±2000 Γ are left out


def test_fourth_order_deposition_and_interpolation_are_exact_for_cubics():
    x = np.arange(40.0)
    cubic = 0.3 * x**3 - 2 * x**2 + x - 5
    pos = np.array([10.3, 17.75, 25.5])
    np.testing.assert_allclose(
        lagrange_interp(cubic[None, :], pos)[0], 0.3 * pos**3 - 2 * pos**2 + pos - 5, rtol=1e-12
    )
    # many rows at once (the intense model's table): the same numbers as one row at a time
    rows = [cubic * (1 + 0.5j * k) for k in range(3)]
    together = lagrange_interp_rows(rows, pos)
    for k, row in enumerate(rows):
        assert np.array_equal(together[k], lagrange_interp(row, pos))
    grid = lagrange_deposit(pos, np.array([1.0, 2.0, 0.5]), 40)
    assert grid.sum() == pytest.approx(3.5)  # weight conserved
    np.testing.assert_allclose((grid * x).sum(), 10.3 + 2 * 17.75 + 0.5 * 25.5)  # and its centre
