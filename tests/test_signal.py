"""Unit tests of mohilbert.signal: the noise estimator on quantised and unquantised traces."""

from __future__ import annotations

import numpy as np
import pytest

from mohilbert.signal import quantisation_step, white_noise_rms


@pytest.mark.parametrize("sigma", [1e-4, 1e-3, 3e-3, 1e-2])
@pytest.mark.parametrize("q", [0.0, 0.8 / 255, 0.8 / 1023])
def test_white_noise_rms_counts_quantisation(sigma, q):
    """The estimate is the rms of what the scope recorded around the smooth signal: white
    noise plus quantisation noise (q^2/12), within 15 %; never 0 for a quantised trace."""
    rng = np.random.default_rng(1)
    x = 0.3 * np.sin(np.linspace(0, 30, 20000)) + rng.normal(0, sigma, 20000)
    if q:
        x = np.round(x / q) * q
    truth = np.sqrt(sigma**2 + q**2 / 12)
    assert white_noise_rms(x, order=2) == pytest.approx(truth, rel=0.15)


def test_quantisation_step_finds_the_code():
    x = np.round(np.random.default_rng(2).normal(0, 0.01, 5000) / 0.003125) * 0.003125
    assert quantisation_step(x) == pytest.approx(0.003125)
    assert quantisation_step(np.ones(10)) == 0.0
    assert white_noise_rms(np.ones(10)) == 0.0


def test_white_noise_rms_bad_arguments():
    with pytest.raises(ValueError, match="order must be 1 or 2, got 3"):
        white_noise_rms(np.ones(10), order=3)
    with pytest.raises(ValueError, match=r"need a 1-D trace of >= 4 samples"):
        white_noise_rms(np.ones(3))
