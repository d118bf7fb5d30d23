"""Unit tests of the optics modules (mohilbert.optics.*): Jones vectors, the exact 2×2
transfer matrix and Stokes parameters, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from mohilbert.optics.polarisation import jones_vector
from mohilbert.optics.propagation import csqrt, field_direction, stokes


def test_named_jones_vectors_are_unit_and_right_handed_convention():
    for name in ("x", "y", "sigma_plus", "sigma_minus", "linear:30"):
        e = jones_vector(name)
        assert np.vdot(e, e).real == pytest.approx(1.0), name
    np.testing.assert_allclose(jones_vector("jones:1,1j"), [1, 1j])  # kept as given
    np.testing.assert_allclose(jones_vector("sigma_plus"), np.array([1, 1j]) / np.sqrt(2))
    np.testing.assert_allclose(jones_vector("linear:90"), [0, 1], atol=1e-15)
    phi = np.deg2rad(30)
    par, perp = jones_vector("parallel", phi), jones_vector("perpendicular", phi)
    assert abs(np.vdot(par, perp)) < 1e-15
    np.testing.assert_allclose(par, [np.cos(phi), np.sin(phi)])


def test_field_direction_is_a_unit_vector_from_theta_and_phi():
    np.testing.assert_allclose(field_direction(0.0, 0.0), [0, 0, 1], atol=1e-15)
    b = field_direction(np.pi / 2, np.pi / 2)
    np.testing.assert_allclose(b, [0, 1, 0], atol=1e-15)


def test_complex_sqrt_is_accurate_near_one():
    z = 1 + np.array([1e-12 + 1e-13j, -3e-9j])
    np.testing.assert_allclose(csqrt(z), np.sqrt(z), rtol=1e-15)
    np.testing.assert_allclose(csqrt(z).imag, [5e-14, -1.5e-9], rtol=1e-6)


def test_stokes_of_pure_states():
    """S3 follows ElecSus: S3 = I_R − I_L = −2 Im(E_x* E_y), so (1, i)/√2 has S3 = −1."""
    e = np.array([[1.0, 0.0], [0.0, 1.0], [2**-0.5, 2**-0.5], [2**-0.5, 1j * 2**-0.5]], complex)
    s = stokes(e, 1.0)
    np.testing.assert_allclose(s["S0"], 1.0)
    np.testing.assert_allclose(s["S1"], [1, -1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(s["S2"], [0, 0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(s["S3"], [0, 0, 0, -1], atol=1e-15)
