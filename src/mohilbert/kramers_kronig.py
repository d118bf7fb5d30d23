r"""Kramers–Kronig (Hilbert-transform) analysis of single-eigenmode transmission spectra.

For one eigen-polarisation the field transmission is :math:`t = e^{ikL(n-1)}` with
:math:`n = \sqrt{1+\chi}` exactly (not :math:`1+\chi/2`). The optical depth is
:math:`\mathrm{OD} = 2kL\,\mathrm{Im}\,n`. Because :math:`n - 1` is analytic in the upper half
plane and vanishes far from resonance (time convention :math:`e^{-i\omega t}`), its real and
imaginary parts are a Hilbert pair (theory-spec §11):

.. math::

    \mathrm{Re}\,n - 1 = -\mathcal H[\mathrm{Im}\,n] = -\frac{\mathcal H[\mathrm{OD}]}{2kL},
    \qquad \mathcal H[x](\nu) = \frac1\pi\,\mathrm{P}\!\!\int \frac{x(\nu')}{\nu-\nu'}\,d\nu'

with ν increasing along the array (``scipy.signal.hilbert`` returns :math:`x + i\mathcal H[x]`).
A Lorentzian OD peak gives n > 1 on its red side. Spectra on a decreasing axis are reversed
first.

From the two eigenmodes: Faraday rotation
:math:`\varphi = \tfrac{kL}2\mathrm{Re}(n_{\sigma-} - n_{\sigma+}) = \tfrac14\mathcal H[\mathrm{OD}_{\sigma+} - \mathrm{OD}_{\sigma-}]`
(σ+ = input (x̂+iŷ)/√2, rotation from x toward y), Voigt retardance
:math:`\delta = kL\,\mathrm{Re}(n_\perp - n_\parallel)`; group index
:math:`n_g = n + \nu\, dn/d\nu` and group delay relative to vacuum :math:`L(n_g-1)/c`.

Numerics: the transform is the linear convolution with the discrete Hilbert kernel over the
whole record, by FFT with at least two-fold zero padding, so there is no circular wrap-around
(the analytic-signal FFT method approaches this only as its padding grows); optionally the theory's optical
depth is subtracted first and its exact ``n − 1`` added back (model-wing subtraction), so only
the small, local residual is transformed. Saturated points (transmission at the noise floor)
are filled from the model and flagged; points near the window edges are flagged.
Uncertainty: the transform is linear, so independent per-point noise σ_i gives
:math:`\mathrm{Var}(\mathcal H[x])_j = \sum_i h_{j-i}^2\sigma_i^2` with the discrete Hilbert
kernel :math:`h_m = 2/(\pi m)` (odd m), evaluated by FFT convolution.

Reference: Whittaker, Keaveney, Hughes, Adams, Phys. Rev. A 91, 032513 (2015);
Briscoe, Pizzey, Wrathmall, Hughes, arXiv:2403.00950 (2024).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from mohilbert import caches
from mohilbert.errors import AnalysisError
from mohilbert.signal import fft_convolve, savgol_derivative

C_LIGHT = 299792458.0


@lru_cache(maxsize=8)
def _kernel_spectrum(n: int, size: int) -> np.ndarray:
    """rFFT of the discrete Hilbert kernel h_m = 2/(πm) (odd m), |m| < n, wrapped to ``size``."""
    k = np.zeros(size)
    m = np.arange(1, n, 2)
    h = 2.0 / (np.pi * m)
    k[m] = h
    k[size - m] = -h
    spec = sfft.rfft(k)
    spec.setflags(write=False)
    return spec


def hilbert_transform(x: np.ndarray, pad_factor: int = 2, workers: int = 1) -> np.ndarray:
    """Discrete Hilbert transform H[x] (scipy.signal.hilbert convention: H[cos] = sin).

    Computed as the *linear* convolution of x with the discrete Hilbert kernel
    h_m = 2/(πm), odd m, over every offset the record needs (|m| < N). An FFT of length
    ≥ 2N makes that exact: no circular wrap-around, which is what the analytic-signal FFT
    method only approaches as its zero padding grows (it tends to this result as pad → ∞).

    Parameters
    ----------
    x : array_like
        Real 1-D record (e.g. an optical depth, dimensionless), uniformly sampled.
    pad_factor : int
        FFT length in units of N (≥ 2; 2 is already exact, larger only costs time).
    workers : int
        FFT threads.

    Returns
    -------
    ndarray
        H[x], same length and units as ``x``.

    Raises
    ------
    AnalysisError
        ``x`` is not a real 1-D array, or ``pad_factor`` < 2 (the convolution would wrap
        around).

    References
    ----------
    F. W. King, *Hilbert Transforms*, vol. 1 (Cambridge University Press, 2009).
    """
    arr = np.asarray(x)
    if arr.ndim != 1 or np.iscomplexobj(arr):
        raise AnalysisError(
            f"hilbert_transform takes a real 1-D array, got {arr.ndim}-D {arr.dtype}"
        )
    if int(pad_factor) != pad_factor or pad_factor < 2:
        raise AnalysisError(
            f"pad_factor must be an integer >= 2 (zero padding against wrap-around), got {pad_factor!r}"
        )
    x = arr.astype(np.float64)
    n = x.size
    size = sfft.next_fast_len(max(2 * n, int(pad_factor) * n), real=True)
    spec = sfft.rfft(x, size, workers=workers) * _kernel_spectrum(n, size)
    return sfft.irfft(spec, size, workers=workers)[:n]


_KERNEL_HALF = 2048


def hilbert_variance(sigma: np.ndarray) -> np.ndarray:
    """Variance of H[x] for independent noise of standard deviation ``sigma`` per point.

    Σ_m h_m² σ²_{j−m} with h_m = 2/(πm) for odd m: the kernel is applied exactly out to
    ±2048 points and its remaining weight (8/π² Σ_{odd m>2048} 1/m² ≈ 2e-4) times the mean
    variance is added. White noise keeps its variance (Σ h_m² = 1).
    """
    s2 = np.asarray(sigma, dtype=np.float64) ** 2
    half = min(_KERNEL_HALF, s2.size)
    m = np.arange(-half, half + 1)
    kernel = np.zeros(m.size)
    odd = (m % 2) != 0
    kernel[odd] = (2.0 / (np.pi * m[odd])) ** 2
    var = fft_convolve(s2, kernel, mode="same")
    var += (1.0 - kernel.sum()) * s2.mean()
    return np.clip(var, 0, None)


def index_from_od(
    detuning_MHz: np.ndarray,
    od: np.ndarray,
    kL: float,
    *,
    od_sigma: np.ndarray | None = None,
    od_sigma_correlated: np.ndarray | None = None,
    model_od: np.ndarray | None = None,
    model_index: np.ndarray | None = None,
    saturated: np.ndarray | None = None,
    pad_factor: int = 2,
    edge_fraction: float = 0.0,
    workers: int = 1,
    subtract_model: bool = True,
) -> dict[str, np.ndarray]:
    """Re(n) − 1 of one eigen-polarisation from its optical depth.

    Parameters
    ----------
    detuning_MHz
        Uniform detuning grid [MHz] (either direction).
    od
        Optical depth −ln T, dimensionless.
    kL
        k·L (wavenumber × cell length), dimensionless.
    od_sigma
        Standard uncertainty of each OD point (total).
    od_sigma_correlated
        The part of ``od_sigma`` that is correlated across points (baseline, drifts). The
        independent remainder is propagated exactly; the correlated part, of unknown sign and
        shape, contributes √(σ_c² + H[σ_c]²) (it enters locally and through the transform).
    model_od, model_index
        Theory optical depth and exact Re(n) − 1 on the same grid: when given (and
        ``subtract_model``), only the residual OD − model_od is transformed and the model's
        own Re(n) − 1 added back. They also give the truncation bound: the model's own part
        outside the window, scaled by how far the data depart from the model at the edges.
    saturated
        Boolean mask of points whose OD is noise-limited: filled from the model (required).
    pad_factor
        FFT length in record lengths (≥ 2; 2 is already exact, see :func:`hilbert_transform`).
    edge_fraction
        Fraction of the window at each end flagged as unreliable in any case (default 0:
        only where the computed truncation bound exceeds the uncertainty).
    workers
        FFT threads.
    subtract_model
        False: transform the OD itself (the model only fills saturated points and sizes
        the truncation bound).

    Returns
    -------
    dict
        ``index`` (Re n − 1), ``index_uncertainty``, ``filled`` (bool), ``truncation_bound``
        (bound on the error from the finite window, Re n − 1 units, see
        :func:`truncation_bound`) and ``edge`` (bool: the bound exceeds ``index_uncertainty``, or
        within ``edge_fraction`` of an end), in the input order.
    """
    x = np.asarray(detuning_MHz, dtype=np.float64)
    y = np.asarray(od, dtype=np.float64).copy()
    if x.ndim != 1 or x.shape != y.shape or x.size < 8:
        raise AnalysisError("detuning and optical depth must be 1-D arrays of one length (>= 8)")
    step = np.diff(x)
    if not (np.allclose(step, step[0], rtol=1e-6) and step[0] != 0):
        raise AnalysisError("the Hilbert transform needs a uniform detuning grid; resample first")
    if pad_factor < 2:
        raise AnalysisError("pad_factor must be >= 2 (zero padding against wrap-around)")
    reverse = step[0] < 0
    flip = (lambda a: a[::-1]) if reverse else (lambda a: a)
    y = flip(y)
    sigma = flip(np.asarray(od_sigma, dtype=float)) if od_sigma is not None else np.zeros_like(y)
    filled = (
        flip(np.asarray(saturated, dtype=bool)) if saturated is not None else np.zeros(y.size, bool)
    )
    bad = ~np.isfinite(y)
    filled = filled | bad
    m_od = flip(np.asarray(model_od, dtype=float)) if model_od is not None else None
    m_idx = flip(np.asarray(model_index, dtype=float)) if model_index is not None else None
    if filled.any():
        if m_od is None:
            raise AnalysisError(
                f"{int(filled.sum())} saturated or missing point(s) need a model optical depth to be filled"
            )
        y[filled] = m_od[filled]
    wings = m_od is not None and m_idx is not None and subtract_model
    if wings:
        index = -hilbert_transform(y - m_od, pad_factor, workers) / (2 * kL) + m_idx
    else:
        index = -hilbert_transform(y, pad_factor, workers) / (2 * kL)
    sigma_c = np.zeros_like(y)
    if od_sigma_correlated is not None:
        sigma_c = flip(np.asarray(od_sigma_correlated, dtype=float))
    sigma_w = np.sqrt(np.clip(sigma**2 - sigma_c**2, 0, None))
    var = hilbert_variance(np.where(filled, 0.0, sigma_w))
    sc = np.where(filled, 0.0, sigma_c)
    if sc.any():
        var += sc**2 + hilbert_transform(sc, pad_factor, workers) ** 2
    index_sigma = np.sqrt(var) / (2 * kL)
    # what the window leaves out (see truncation_bound)
    if m_od is not None and m_idx is not None:
        # the model's own part outside the window: its exact index minus its windowed transform
        outside = m_idx + hilbert_transform(m_od, pad_factor, workers) / (2 * kL)
        rho = _edge_misfit(np.where(filled, 0.0, y - m_od), sigma, m_od)
        bound = np.abs(outside) * (rho if wings else 1 + rho)
    else:
        bound = truncation_bound(flip(x), y, sigma) / (2 * kL)
    edge = bound > index_sigma
    k = int(round(edge_fraction * y.size))
    if k:
        edge[:k] = edge[-k:] = True
    return {
        "index": flip(index),
        "index_uncertainty": flip(index_sigma),
        "filled": flip(filled),
        "edge": flip(edge),
        "truncation_bound": flip(bound),
    }


def _edge_misfit(residual, sigma, model_od, edge_fraction=0.05) -> float:
    """How far the data depart from the model at the window's edges, relative to the
    model's OD there: (|mean residual| + its standard error) / |mean model OD|, the larger
    of the two edges, at most 1 where the model is transparent at an edge."""
    n = max(8, int(round(edge_fraction * residual.size)))
    out = 0.0
    for part in (slice(0, n), slice(residual.size - n, residual.size)):
        r = abs(float(np.mean(residual[part]))) + float(np.sqrt(np.sum(sigma[part] ** 2))) / n
        od = abs(float(np.mean(model_od[part])))
        out = max(out, min(r / od, 1.0) if od > 0 else 1.0)
    return out


def truncation_bound(
    detuning_MHz: np.ndarray,
    residual: np.ndarray,
    sigma: np.ndarray | None = None,
    edge_fraction: float = 0.05,
) -> np.ndarray:
    r"""Bound on the Hilbert transform of what lies outside a finite window (OD units).

    The transform over the window assumes the (residual) optical depth to be zero outside it.
    If it stays at the level seen at the window's edges, :math:`|r_L|` and :math:`|r_R|`
    (mean over the outer ``edge_fraction`` of the window plus its standard error), for one
    window width W beyond each edge, the missing part at a point d_L, d_R from the edges is
    at most :math:`[|r_L| \ln(1 + W/d_L) + |r_R| \ln(1 + W/d_R)]/\pi` — large at the edges,
    falling logarithmically inside. Divide by 2kL for Re(n) − 1.

    Parameters
    ----------
    detuning_MHz
        Uniform, increasing grid [MHz].
    residual
        What was transformed: the OD, or the OD minus the model's when the model's wings are
        subtracted (dimensionless).
    sigma
        Standard uncertainty of each residual point (for the standard error of the edge means).
    edge_fraction
        Fraction of the window at each end whose mean gives the edge level (at least 8 points).
    """
    x = np.asarray(detuning_MHz, float)
    r = np.asarray(residual, float)
    n = max(8, int(round(edge_fraction * r.size)))
    s = np.zeros_like(r) if sigma is None else np.asarray(sigma, float)

    def level(part, sig):
        return abs(float(np.mean(part))) + float(np.sqrt(np.sum(sig**2))) / part.size

    r_left, r_right = level(r[:n], s[:n]), level(r[-n:], s[-n:])
    step = float(x[1] - x[0])
    width = float(x[-1] - x[0]) + step
    d_left = x - x[0] + step / 2
    d_right = x[-1] - x + step / 2
    return (r_left * np.log1p(width / d_left) + r_right * np.log1p(width / d_right)) / np.pi


def group_index(
    detuning_MHz: np.ndarray, index: np.ndarray, nu0_Hz: float, window: int = 15
) -> np.ndarray:
    """n_g = n + ν dn/dν with a Savitzky–Golay derivative (noise-robust), ν = ν0 + Δν [Hz].

    Parameters
    ----------
    detuning_MHz : numpy.ndarray
        Uniform detuning grid [MHz].
    index : numpy.ndarray
        Re(n) − 1, dimensionless, on that grid.
    nu0_Hz : float
        Line-centre frequency ν0 [Hz].
    window : int
        Savitzky–Golay window for dn/dν [points, odd].
    """
    x = np.asarray(detuning_MHz, dtype=float)
    largest_odd = x.size if x.size % 2 else x.size - 1
    w = min(max(5, int(window) | 1), largest_odd)
    deriv = savgol_derivative(index, w, 3, (x[1] - x[0]) * 1e6)
    return 1 + index + (nu0_Hz + x * 1e6) * deriv


def unwrap_branch(value: np.ndarray, candidates) -> np.ndarray:
    """Pick, point by point, the candidate branch continuous with the previous points.

    ``candidates(value)`` returns an array (k, N) of possible angles; the walk starts at the
    end of the window where the angle is smallest (far from resonance, where it tends to 0).
    """
    cand = candidates(value)
    n = cand.shape[1]
    start = 0 if np.min(np.abs(cand[:, 0])) <= np.min(np.abs(cand[:, -1])) else n - 1
    order = range(n) if start == 0 else range(n - 1, -1, -1)
    out = np.empty(n)
    prev = prev2 = 0.0
    for i in order:
        c = cand[:, i]
        predicted = 2 * prev - prev2  # linear prediction: follows the slope through branch points
        j = int(np.argmin(np.abs(c - predicted)))
        prev2, prev = prev, c[j]
        out[i] = prev
    return out


def faraday_rotation_direct(s2: np.ndarray, t_plus: np.ndarray, t_minus: np.ndarray) -> np.ndarray:
    """Rotation [rad] from a balanced polarimeter (S2, linear x input): S2 = √(T₊T₋) sin 2φ.

    Parameters
    ----------
    s2 : numpy.ndarray
        Normalised Stokes S2 of the polarimeter run (S2/S0).
    t_plus : numpy.ndarray
        Transmission of σ+ light.
    t_minus : numpy.ndarray
        Transmission of σ− light.
    """
    ratio = np.clip(s2 / np.sqrt(np.clip(t_plus * t_minus, 1e-12, None)), -1, 1)

    def branches(r):
        a = 0.5 * np.arcsin(r)
        return np.stack(
            [a + k * np.pi for k in (-2, -1, 0, 1, 2)]
            + [np.pi / 2 - a + k * np.pi for k in (-2, -1, 0, 1, 2)]
        )

    return unwrap_branch(ratio, branches)


def voigt_retardance_direct(s3: np.ndarray, t_par: np.ndarray, t_perp: np.ndarray) -> np.ndarray:
    """Retardance [rad] from a polarimeter at 45° input: S3 = −√(T∥T⊥) sin δ.

    Parameters
    ----------
    s3 : numpy.ndarray
        Normalised Stokes S3 of the polarimeter run (S3/S0).
    t_par : numpy.ndarray
        Transmission of light ∥ to the field.
    t_perp : numpy.ndarray
        Transmission of light ⊥ to the field.
    """
    ratio = np.clip(-s3 / np.sqrt(np.clip(t_par * t_perp, 1e-12, None)), -1, 1)

    def branches(r):
        a = np.arcsin(r)
        return np.stack(
            [a + 2 * k * np.pi for k in (-2, -1, 0, 1, 2)]
            + [np.pi - a + 2 * k * np.pi for k in (-2, -1, 0, 1, 2)]
        )

    return unwrap_branch(ratio, branches)


def agreement(
    measured: np.ndarray,
    theory: np.ndarray,
    sigma: np.ndarray | None = None,
    valid: np.ndarray | None = None,
) -> dict[str, float]:
    """RMS and max deviation, absolute, relative to the theory's peak, and in units of σ.

    Parameters
    ----------
    measured : numpy.ndarray
        The measured quantity (any units).
    theory : numpy.ndarray
        The model's, same units.
    sigma : numpy.ndarray, optional
        Standard uncertainty of ``measured`` (for the pulls).
    valid : numpy.ndarray, optional
        Boolean mask of the points to compare.
    """
    ok = np.isfinite(measured) & np.isfinite(theory)
    if valid is not None:
        ok &= valid
    if not ok.any():
        return {}
    d = measured[ok] - theory[ok]
    peak = float(np.max(np.abs(theory[ok]))) or 1.0
    out = {
        "rms": float(np.sqrt(np.mean(d**2))),
        "max": float(np.max(np.abs(d))),
        "rms_over_peak": float(np.sqrt(np.mean(d**2)) / peak),
        "max_over_peak": float(np.max(np.abs(d)) / peak),
        "n_points": int(ok.sum()),
    }
    if sigma is not None:
        s = sigma[ok]
        good = s > 0
        if good.any():
            pull = d[good] / s[good]
            out["rms_pull"] = float(np.sqrt(np.mean(pull**2)))
            out["max_pull"] = float(np.max(np.abs(pull)))
            out["coverage_1sigma"] = float(np.mean(np.abs(pull) <= 1))
    return out


# the process-wide caches above, for mohilbert.caches.clear (benchmarks' cold figures)
caches.register("mohilbert.kramers_kronig._kernel_spectrum", _kernel_spectrum)
