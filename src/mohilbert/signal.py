"""Small signal-processing helpers (running median, peaks, Savitzky–Golay, FFT convolution).

They replace the few ``scipy.signal``/``scipy.ndimage`` functions the pipeline needs: importing
those modules costs over a second per workflow job, more than the work itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.fft as sfft


def running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median; the window shrinks at the ends (no padding artefacts)."""
    return (
        pd.Series(np.asarray(x, dtype=float))
        .rolling(int(window), center=True, min_periods=1)
        .median()
        .to_numpy()
    )


def fft_convolve(a: np.ndarray, b: np.ndarray, mode: str = "full") -> np.ndarray:
    """Linear convolution of real 1-D arrays by FFT (``mode`` full, same or valid).

    Parameters
    ----------
    a, b : numpy.ndarray
        1-D arrays to convolve.
    mode : str
        ``"full"``, ``"same"`` or ``"valid"`` (as :func:`numpy.convolve`).
    """
    n = a.size + b.size - 1
    size = sfft.next_fast_len(n, real=True)
    full = sfft.irfft(sfft.rfft(a, size) * sfft.rfft(b, size), size)[:n]
    if mode == "full":
        return full
    if mode == "same":
        start = (b.size - 1) // 2
        return full[start : start + a.size]
    if mode == "valid":
        lo, hi = min(a.size, b.size), max(a.size, b.size)
        return full[lo - 1 : hi]
    raise ValueError(f"unknown mode {mode!r}")


def peaks_above(y: np.ndarray, threshold: float, min_distance: int = 1) -> np.ndarray:
    """Index of the maximum of every contiguous run of ``y > threshold``.

    Runs closer than ``min_distance`` samples are merged (one peak per fringe even when noise
    splits its top).

    Parameters
    ----------
    y : numpy.ndarray
        1-D signal.
    threshold : float
        Smallest peak height (units of ``y``).
    min_distance : int
        Fewest samples between two peaks.
    """
    above = np.concatenate([[False], y > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    starts, stops = edges[0::2], edges[1::2]
    if starts.size == 0:
        return np.array([], dtype=int)
    keep_s, keep_e = [starts[0]], [stops[0]]
    for s, e in zip(starts[1:], stops[1:], strict=True):
        if s - keep_e[-1] < min_distance:
            keep_e[-1] = e
        else:
            keep_s.append(s)
            keep_e.append(e)
    return np.array(
        [s + int(np.argmax(y[s:e])) for s, e in zip(keep_s, keep_e, strict=True)], dtype=int
    )


def savgol_derivative(y: np.ndarray, window: int, order: int, delta: float) -> np.ndarray:
    """First derivative by a Savitzky–Golay filter (least-squares polynomial in a window).

    The ends use the polynomial fitted to the first/last window, like scipy's ``mode='interp'``.

    Parameters
    ----------
    y : numpy.ndarray
        1-D uniformly sampled signal.
    window : int
        Window length [samples, odd].
    order : int
        Polynomial order.
    delta : float
        Sample spacing (the derivative is per this unit).
    """
    y = np.asarray(y, dtype=float)
    half = window // 2
    t = np.arange(-half, half + 1, dtype=float)
    vander = np.vander(t, order + 1, increasing=True)
    coeffs = np.linalg.pinv(vander)[1] / delta  # d/dx of the fitted polynomial at the centre
    out = np.convolve(y, coeffs[::-1], mode="same")
    for side, sl in (("lo", slice(0, window)), ("hi", slice(y.size - window, y.size))):
        p = np.linalg.lstsq(vander, y[sl], rcond=None)[0]
        dp = np.polynomial.polynomial.polyder(p)
        if side == "lo":
            out[:half] = np.polynomial.polynomial.polyval(t[:half], dp) / delta
        else:
            out[-half:] = np.polynomial.polynomial.polyval(t[-half:], dp) / delta
    return out


def quantisation_step(x: np.ndarray) -> float:
    """Smallest step between distinct sample values [units of ``x``] (0 for < 2 values).

    An ADC records values on a grid; for a quantised trace this is the grid step (one code).
    For an unquantised trace it is tiny and harmless.
    """
    u = np.unique(np.asarray(x, dtype=float))
    if u.size < 2:
        return 0.0
    return float(np.diff(u).min())


def robust_sigma(x) -> float:
    """The standard deviation of the bulk of ``x`` from its median absolute deviation
    (1.4826·MAD, that of a normal distribution), blind to a few outliers; NaN for no values.

    Parameters
    ----------
    x : array_like
        Values (NaN ignored).
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def white_noise_rms(x: np.ndarray, order: int = 2) -> float:
    """Per-sample white-noise rms of a trace [units of ``x``], robust to signal and to ADC steps.

    The estimate comes from the ``order``-th differences ``d`` of the trace, which remove a
    smooth signal: with white noise of rms σ, ``var(d) = C(2·order, order)·σ²``. The robust
    (median absolute deviation) estimate ``σ = 1.4826·MAD(d)/√C`` ignores the few large
    differences at fringes or lines. On a coarsely quantised trace most differences are exactly
    0 and the MAD is 0 or moves in whole ADC steps ``q``; when it is below ``4q`` the rms of
    the differences within about 4σ (still excluding fringes and lines) is used instead, and
    the result is never below the quantisation noise ``q/√12`` itself.

    Parameters
    ----------
    x : array_like
        1-D trace (e.g. volts).
    order : {1, 2}
        Difference order (2 also removes a linear slope within three samples).

    Returns
    -------
    float
        The noise rms, in the units of ``x``; 0 only for a constant trace.
    """
    if order not in (1, 2):
        raise ValueError(f"white_noise_rms: order must be 1 or 2, got {order!r}")
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < order + 2:
        raise ValueError(f"white_noise_rms: need a 1-D trace of >= {order + 2} samples")
    c = 2.0 if order == 1 else 6.0
    d = np.diff(x, order)
    sigma = float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(c))
    q = quantisation_step(x)
    if sigma >= 4 * q:
        return sigma
    # within a few codes the MAD moves in steps of q: use the rms of the differences within
    # 4 sigma (+1 code) instead, which still excludes fringes and lines
    near = d[np.abs(d) <= 4 * np.sqrt(c) * max(sigma, q) + q]
    trimmed = float(np.sqrt(np.mean(near**2) / c)) if near.size else 0.0
    return max(trimmed, q / np.sqrt(12.0))


def legendre_design(t: np.ndarray, degree: int, span: tuple[float, float]) -> np.ndarray:
    """Design matrix of Legendre polynomials 0 … ``degree`` in ``t`` mapped from ``span`` onto
    [−1, 1] (a well-conditioned polynomial basis for a baseline in time).

    Parameters
    ----------
    t : numpy.ndarray
        Sample times [s] (or any coordinate).
    degree : int
        Highest polynomial degree.
    span : tuple of float
        The interval mapped onto [−1, 1], in the units of ``t``.

    Returns
    -------
    numpy.ndarray
        Shape (len(t), degree + 1).
    """
    u = 2 * (np.asarray(t, dtype=float) - span[0]) / (span[1] - span[0]) - 1
    return np.polynomial.legendre.legvander(u, degree)


#: a dark trace and its signal whose ADC steps differ by more than this factor were recorded at
#: different vertical settings (a scope's steps from one setting to the next differ by 2–2.5×)
DARK_STEP_TOLERANCE = 1.25


def same_vertical_setting(step_a_V: float, step_b_V: float) -> bool:
    """Whether two traces with ADC steps ``step_a_V`` and ``step_b_V`` [V]
    (:func:`adc_step_V`) were recorded at one vertical setting: steps within
    :data:`DARK_STEP_TOLERANCE` of each other. False when either is not finite and > 0."""
    a, b = float(step_a_V), float(step_b_V)
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        return False
    return max(a, b) / min(a, b) <= DARK_STEP_TOLERANCE


def adc_step_V(values: np.ndarray) -> float | None:
    """The vertical resolution of a trace [V]: the spacing of its recorded levels.

    The mean spacing between neighbouring levels one step apart (those within 1.6× the 10th
    percentile of the spacings). An export that prints fewer decimals than the ADC resolves
    rounds each spacing (a 2.59 µV step printed to 1 µV reads 2 or 3 µV); the mean over
    thousands of spacings is the step. ``None`` for a trace of fewer than four levels.
    """
    levels = np.unique(np.asarray(values, dtype=np.float64))
    if levels.size < 4:
        return None
    gaps = np.diff(levels)
    return float(np.mean(gaps[gaps <= 1.6 * np.percentile(gaps, 10)]))


def dark_reproducibility_V(levels_V) -> float:
    """Standard uncertainty [V] of a dark level recorded at another moment than its signal,
    from the dark levels of successive recordings at one detection and scope setting: the RMS
    of their successive differences over √2 (von Neumann), which a slow drift over the session
    hardly inflates. This is the ``dark_uncertainty_V`` to state for each of those runs.

    Parameters
    ----------
    levels_V : array_like
        Dark levels [V] (e.g. the medians of the dark traces) in recording order, at least 2.
    """
    x = np.asarray(levels_V, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.isfinite(x).all():
        raise ValueError("levels_V must be at least 2 finite dark levels, in recording order")
    return float(np.sqrt(np.mean(np.diff(x) ** 2) / 2))
