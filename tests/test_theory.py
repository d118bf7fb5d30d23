"""Theory model: invariants, limits, sum rules, reference line list, conventions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.signal import hilbert

from mohilbert.atoms.constants import ELEMENT_ISOTOPES, get_line, isotope_fractions
from mohilbert.atoms.density import number_density
from mohilbert.atoms.hamiltonian import line_list, populations
from mohilbert.atoms.lineshape import complex_voigt, faddeeva
from mohilbert.atoms.susceptibility import MediumParams, prefactor, susceptibility
from mohilbert.optics.propagation import dielectric_tensor, effective_tensor, eigen_indices
from mohilbert.theory import Cell, spectrum, spectrum_arrays

X = np.linspace(-30000, 30000, 12001)


@pytest.mark.parametrize("isotope", [i for isos in ELEMENT_ISOTOPES.values() for i in isos])
@pytest.mark.parametrize("line", ["D1", "D2"])
@pytest.mark.parametrize("field_G", [0.0, 6000.0])
def test_sum_rules(isotope, line, field_G):
    """Σ p|c|² per q = 1/3 (D1), 2/3 (D2) with equal populations (up to J-mixing at high B)."""
    ll = line_list(isotope, line, field_G)
    p = populations(ll, None)
    expected = 1 / 3 if line == "D1" else 2 / 3
    from mohilbert.atoms.constants import ISOTOPES, MU_B_MHZ_PER_G

    tol = 1e-9 + MU_B_MHZ_PER_G * field_G / ISOTOPES[isotope].fine_structure_MHz  # J-mixing
    for q in (1, -1, 0):
        sel = ll.q == q
        assert np.sum(p[ll.ground[sel]] * ll.strength[sel]) == pytest.approx(expected, abs=tol)
    # Γ_nat normalisation: summed over g and q, every excited state has strength 1
    n_excited = ll.n_ground * (1 if line == "D1" else 2)
    assert ll.strength.sum() == pytest.approx(n_excited, rel=1e-12)


def test_reference_line_list_87Rb_D2_06T():
    """theory-spec §3: 87Rb D2 at 6000 G, equal populations (frequencies in MHz, weights)."""
    ll = line_list("87Rb", "D2", 6000.0)
    p = populations(ll, None)
    w = p[ll.ground] * ll.strength
    ref = {
        1: [(-3975.62, 0.00061), (6084.84, 0.12500), (8576.05, 0.12074), (28326.29, 0.00228)],
        -1: [(-26631.68, 0.00230), (-10710.65, 0.12500), (5839.45, 0.00064)],
        0: [(-15306.51, 0.00138), (362.57, 0.08328), (17086.55, 0.00139)],
    }
    for q, pairs in ref.items():
        sel = ll.q == q
        freqs, weights = ll.freq_MHz[sel], w[sel]
        for f, wt in pairs:
            i = np.argmin(np.abs(freqs - f))
            assert freqs[i] == pytest.approx(f, abs=0.01)
            assert weights[i] == pytest.approx(wt, abs=6e-6)
    assert int(np.sum((ll.strength > 5e-4) & (ll.q == 1))) == 14


def test_line_counts_with_elecsus_cutoff():
    """theory-spec §3 table: Rb D2 natural abundance keeps 144 lines at B≈0 and 108 at 0.6 T."""
    for field, total in ((1e-4, 144), (6000.0, 108)):
        n = sum(
            np.sum(line_list(i, "D2", field, "elecsus", 5e-4, True).q != 9)
            for i in ("85Rb", "87Rb")
        )
        assert n == total


def test_line_list_is_basis_independent_at_degeneracy():
    """Cs 6P3/2 F'=3 has g_F = 0: the m-blocked diagonalisation still gives pure-m states."""
    ll = line_list("133Cs", "D2", 1e-4, "elecsus", 5e-4)
    assert [int(np.sum(ll.q == q)) for q in (1, -1, 0)] == [42, 42, 42]


def test_voigt_integral_and_sign():
    ku, gamma = 2 * np.pi * 300e6, 2 * np.pi * 6e6
    edge = 2e12  # beyond: Lorentzian tails (Γ/4)/Δ², integral Γ/(4·edge) per side
    core, _ = quad(
        lambda d: complex_voigt(np.array([d]), ku, gamma)[0].imag,
        -edge,
        edge,
        limit=2000,
        points=[0.0],
    )
    assert core + 2 * gamma / (4 * edge) == pytest.approx(np.pi / 2, rel=1e-6)
    d = np.linspace(-5e10, 5e10, 2001)
    v = complex_voigt(d, ku, gamma)
    assert (v.imag > 0).all()
    assert (v.real[d < -gamma] > 0).all()  # Re V > 0 on the red side


def test_lorentzian_limit():
    gamma = 2 * np.pi * 6e6
    d = np.linspace(-1e9, 1e9, 1001)
    lorentz = -0.5 / (d + 0.5j * gamma)
    np.testing.assert_allclose(complex_voigt(d, 2 * np.pi * 1e3, gamma), lorentz, rtol=2e-4)
    np.testing.assert_allclose(complex_voigt(d, 0.0, gamma), lorentz, rtol=1e-14)


def test_faddeeva_asymptotic_branch_matches_wofz():
    from scipy.special import wofz

    z = np.concatenate(
        [np.linspace(11, 40, 50) + 0.01j, -np.linspace(11, 40, 50) + 3j, 8 + 10j * np.ones(3)]
    )
    np.testing.assert_allclose(faddeeva(z), wofz(z), rtol=1e-9)


def test_resonant_cross_section():
    """One closed line (|c|² = 1), no Doppler: α = k Im χ = 3λ²N/2π on resonance."""
    ln = get_line("Rb", "D2")
    density = 1e17
    gamma = 2 * np.pi * 1e6 * ln.gamma_natural_MHz
    chi = prefactor("Rb", "D2", density) * complex_voigt(np.array([0.0]), 0.0, gamma)[0]
    alpha = 2 * np.pi / ln.wavelength_m * chi.imag
    assert alpha == pytest.approx(3 * ln.wavelength_m**2 * density / (2 * np.pi), rel=1e-12)


@pytest.mark.parametrize(
    ("element", "temp", "density"),
    [
        ("Rb", 20, 7.54e15),
        ("Rb", 100, 6.08e18),
        ("Rb", 130, 3.62e19),
        ("Cs", 20, 2.94e16),
        ("Cs", 84, 5.77e18),
        ("K", 120, 2.23e18),
        ("Na", 180, 1.14e18),
    ],
)
def test_number_density_table(element, temp, density):
    assert number_density(element, temp) == pytest.approx(density, rel=5e-3)


def test_isotope_fractions():
    assert isotope_fractions("Rb") == pytest.approx({"85Rb": 0.7217, "87Rb": 0.2783})
    assert isotope_fractions("Rb", "87Rb:99") == pytest.approx({"87Rb": 0.99, "85Rb": 0.01})
    k = isotope_fractions("K", "40K:0.01,41K:6.73")
    assert k["39K"] == pytest.approx(0.9326)
    with pytest.raises(ValueError, match="not an isotope"):
        isotope_fractions("Rb", "133Cs:10")


@pytest.mark.parametrize("temp", [20, 80, 130])
def test_fft_matches_direct(temp):
    p = MediumParams(temperature_C=temp, field_G=6000.0)
    for x in (X, np.sort(np.random.default_rng(1).uniform(-25000, 25000, 1500))):
        direct = susceptibility(x, p, method="direct")
        fast = susceptibility(x, p, method="fft")
        assert np.abs(fast - direct).max() / np.abs(direct).max() < 3e-6


def test_kramers_kronig_of_the_model_index():
    """The model's own n − 1 is causal: Re(n) − 1 = −H[Im n] (wide grid, zero padding)."""
    x = np.linspace(-60000, 60000, 24001)
    cell = Cell(length_m=2e-3, temperature_C=100, field_T=0.6)
    n = spectrum_arrays(x, cell, "sigma_plus")["n"][0]
    pad = 8 * x.size
    im = np.zeros(pad)
    im[: x.size] = n.imag
    re_kk = -np.imag(hilbert(im))[: x.size]
    core = np.abs(x) < 30000
    err = np.abs(re_kk - (n.real - 1))[core].max()
    assert err < 0.01 * np.abs(n.real - 1).max()


def test_general_solver_limits_equal_closed_forms():
    base = Cell(length_m=2e-3, temperature_C=100, field_T=0.6)
    for theta, pol in ((0.0, "linear:30"), (90.0, "linear:45"), (180.0, "linear:10")):
        closed = spectrum_arrays(X, base.with_(field_theta_deg=theta), pol)
        general = spectrum_arrays(X, base.with_(field_theta_deg=theta + 1e-7), pol)
        for key in ("S0", "S1", "S2", "S3"):
            np.testing.assert_allclose(general[key], closed[key], atol=1e-7)


def test_effective_tensor_and_dispersion_relation():
    """Closed-form ε_eff equals elimination on the full 3×3 tensor; its eigenvalues solve the
    Rotondaro–Zhdanov–Knize quadratic A N² − B N + C = 0."""
    chi = susceptibility(X[::50], MediumParams(temperature_C=110, field_G=6000.0))
    theta = np.deg2rad(37.0)
    b = np.array([np.sin(theta) * np.cos(0.4), np.sin(theta) * np.sin(0.4), np.cos(theta)])
    eps = dielectric_tensor(chi, b)
    ref = eps[:, :2, :2] - eps[:, :2, 2:3] * eps[:, 2:3, :2] / eps[:, 2:3, 2:3]
    m = effective_tensor(chi, b)
    np.testing.assert_allclose(
        np.stack([m[0], m[1], m[2], m[3]], -1).reshape(-1, 2, 2), ref, atol=1e-15
    )
    ex = 1 + 0.5 * (chi[0] + chi[1])
    exy = 0.5j * (chi[1] - chi[0])
    ez = 1 + chi[2]
    a = ex * np.sin(theta) ** 2 + ez * np.cos(theta) ** 2
    bb = ex * ez * (1 + np.cos(theta) ** 2) + (ex**2 + exy**2) * np.sin(theta) ** 2
    c = ez * (ex**2 + exy**2)
    for n in eigen_indices(m):
        big_n = n**2
        assert np.abs(a * big_n**2 - bb * big_n + c).max() < 1e-13


def test_field_reversal_is_the_handedness_switch():
    """B → −B in textbook physics = swapping χ₊₁ ↔ χ₋₁ (ElecSus's handedness); Voigt outputs
    are even in B; Faraday with linear input keeps S0, S1 and flips S2, S3."""
    chi = susceptibility(X[::20], MediumParams(temperature_C=100, field_G=6000.0))
    b = np.array([0.3, -0.2, np.sqrt(1 - 0.13)])
    flipped = effective_tensor(chi[[1, 0, 2]], b)
    reversed_b = effective_tensor(chi, -b)
    for u, v in zip(flipped, reversed_b, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-14, atol=1e-18)
    cell = Cell(length_m=2e-3, temperature_C=100, field_T=0.6)
    f_up = spectrum_arrays(X, cell, "x")
    f_down = spectrum_arrays(X, cell.with_(field_theta_deg=180), "x")
    np.testing.assert_allclose(f_up["S0"], f_down["S0"], atol=1e-14)
    np.testing.assert_allclose(f_up["S1"], f_down["S1"], atol=1e-14)
    np.testing.assert_allclose(f_up["S2"], -f_down["S2"], atol=1e-14)
    assert np.abs(f_up["S2"]).max() > 0.5
    v1 = spectrum_arrays(X, cell.with_(field_theta_deg=90), "linear:45")
    v2 = spectrum_arrays(X, cell.with_(field_theta_deg=90, field_phi_deg=180), "linear:45")
    for key in ("S0", "S1", "S2", "S3"):
        np.testing.assert_allclose(v1[key], v2[key], atol=1e-13)


def test_faraday_linear_input_reversal_flips_rotation():
    cell = Cell(length_m=2e-3, temperature_C=100, field_T=0.6)
    up = spectrum(X, cell, "x")
    down = spectrum(X, cell.with_(field_theta_deg=180), "x")
    np.testing.assert_allclose(up.S2, -down.S2, atol=1e-13)
    np.testing.assert_allclose(up.rotation, -down.rotation, atol=1e-13)
    # closed forms of spec §6.5: S2 = √(T₊T₋) sin 2φ
    tp = spectrum(X, cell, "sigma_plus").S0
    tm = spectrum(X, cell, "sigma_minus").S0
    np.testing.assert_allclose(up.S2, np.sqrt(tp * tm) * np.sin(2 * up.rotation), atol=1e-12)
    np.testing.assert_allclose(up.S0, 0.5 * (tp + tm), atol=1e-13)


def test_textbook_sigma_plus_drives_delta_m_plus_one():
    """B along +k: (x+iy)/√2 is absorbed by the blue-shifted Δm = +1 lines at 0.6 T."""
    cell = Cell(length_m=2e-3, temperature_C=100, field_T=0.6)
    sp = spectrum(X, cell, "sigma_plus")
    sm = spectrum(X, cell, "sigma_minus")
    blue, red = X > 3000, X < -3000
    assert (1 - sp.S0.values[blue]).sum() > 10 * (1 - sp.S0.values[red]).sum()
    assert (1 - sm.S0.values[red]).sum() > 10 * (1 - sm.S0.values[blue]).sum()
    assert sp.S3.values[0] / sp.S0.values[0] == pytest.approx(
        -1, abs=1e-6
    )  # ElecSus S3 sign: (1, i)/√2 → −1


def test_oblique_exact_propagation_is_composable_and_physical():
    """Exact T(L) = T(L/2)·T(L/2) at 45°; ElecSus's (V†)⁻¹PV† is not; S0 ≤ 1 and the output
    is fully polarised."""
    cell = Cell(length_m=2e-3, temperature_C=110, field_T=0.6, field_theta_deg=45)
    whole = spectrum_arrays(X, cell, "linear:45")
    halves = spectrum_arrays(X, cell.with_(slices=((0.5, 0.6), (0.5, 0.6))), "linear:45")
    np.testing.assert_allclose(halves["S0"], whole["S0"], atol=1e-12)
    es = spectrum_arrays(X, cell.with_(propagation="elecsus"), "linear:45")
    assert (
        np.abs(es["S0"] - whole["S0"]).max() > 0.05
    )  # ElecSus's T is wrong for non-orthogonal modes
    assert (whole["S0"] <= 1 + 1e-12).all()
    pol = whole["S1"] ** 2 + whole["S2"] ** 2 + whole["S3"] ** 2
    np.testing.assert_allclose(pol, whole["S0"] ** 2, atol=1e-12)


def test_transfer_matrix_is_the_matrix_function():
    """Closed-form T equals expm(ikL(sqrtm(ε_eff) − 1)) computed by scipy at oblique B."""
    from scipy.linalg import expm, sqrtm

    from mohilbert.optics.propagation import transfer_matrix

    chi = susceptibility(X[::400], MediumParams(temperature_C=120, field_G=6000.0))
    b = np.array([np.sin(0.8), 0.0, np.cos(0.8)])
    m = effective_tensor(chi, b)
    kl = 2 * np.pi / 780.2413272e-9 * 2e-3
    t = np.stack(transfer_matrix(m, kl), -1).reshape(-1, 2, 2)
    for i in range(t.shape[0]):
        mat = np.array([[m[0][i], m[1][i]], [m[2][i], m[3][i]]])
        ref = expm(1j * kl * (sqrtm(mat) - np.eye(2)))
        np.testing.assert_allclose(t[i], ref, atol=1e-9)


def test_field_gradient_slices():
    cell = Cell(length_m=2e-3, temperature_C=100, field_T=0.6)
    uniform = spectrum_arrays(X, cell, "sigma_plus")
    sliced = spectrum_arrays(X, cell.with_(slices=((0.25, 0.6), (0.75, 0.6))), "sigma_plus")
    np.testing.assert_allclose(sliced["S0"], uniform["S0"], atol=1e-12)
    graded = spectrum_arrays(X, cell.with_(slices=((0.5, 0.55), (0.5, 0.65))), "sigma_plus")
    assert np.abs(graded["S0"] - uniform["S0"]).max() > 1e-3
    with pytest.raises(ValueError, match="add up"):
        spectrum_arrays(X, cell.with_(slices=((0.5, 0.6),)), "x")


def test_dataset_units_and_names():
    ds = spectrum(
        X[::10], Cell(length_m=2e-3, temperature_C=90, field_T=0.6, field_theta_deg=90), "linear:45"
    )
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        assert var.attrs.get("units") and var.attrs.get("long_name"), name
    assert list(ds.mode.values) == ["parallel", "perpendicular"]
    assert ds.retardance.attrs["units"] == "rad" and ds.alpha.attrs["units"] == "1/m"
    assert ds.attrs["geometry"] == "voigt"


def test_bad_cell_parameters():
    with pytest.raises(ValueError, match="unknown element"):
        Cell(element="Xe")
    with pytest.raises(ValueError, match="conventions"):
        Cell(conventions="left")
    with pytest.raises(ValueError, match="length_m"):
        Cell(length_m=0)
    with pytest.raises(ValueError, match="unknown polarisation"):
        spectrum_arrays(X, Cell(), "diagonal")


def test_cell_with_fitted_turns_abundance_names_into_isotopes():
    """Issue 16 item 2: the one place a fit's percent_<isotope> names become a cell's
    isotope_percent (it was written out in calibration, experiment and fitting)."""
    from mohilbert.theory import Cell

    cell = Cell(temperature_C=20).with_fitted({"temperature_C": 60.0, "percent_85Rb": 2.5})
    assert cell.temperature_C == 60.0 and cell.isotope_percent == {"85Rb": 2.5}
    assert Cell().with_fitted({"field_T": 0.6}).isotope_percent is None
