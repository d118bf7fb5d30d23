r"""Etalon fringes: detection, scan segmentation and time → frequency linearisation.

A Fabry–Perot etalon (or cavity) transmits (or, seen in reflection, dips) once per free
spectral range (FSR) of laser frequency. Fringe k therefore marks relative frequency
:math:`k \cdot \mathrm{FSR}`, and a smooth monotone fit of fringe frequency against fringe time
linearises the scan. A turnaround (the sweep reverses), a mode hop or a stretch of missing
fringes shows up as an interval between fringes that departs from its neighbours; the scan is
cut there and the longest regular segment kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import Polynomial

from mohilbert.errors import CalibrationError
from mohilbert.signal import peaks_above, running_median, white_noise_rms


@dataclass
class Fringes:
    """Detected fringes: sub-sample times [s], their sign and the detection statistics."""

    times: np.ndarray
    sign: int  # +1 transmission peaks, -1 dips
    period_samples: float
    contrast_snr: float


@dataclass
class Segment:
    """The kept part of the scan: fringe index range [first, last] and the reasons for cuts."""

    first: int
    last: int
    cuts: list[str] = field(default_factory=list)


@dataclass
class Linearisation:
    """Fringe-based map from time [s] to relative frequency [MHz]."""

    poly: Polynomial
    degree: int
    fringe_times: np.ndarray
    fringe_freq_MHz: np.ndarray
    residual_MHz: np.ndarray
    cv_rms_MHz: dict[int, float]

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self.poly(t)

    @property
    def rms_MHz(self) -> float:
        return float(np.sqrt(np.mean(self.residual_MHz**2)))

    @property
    def max_MHz(self) -> float:
        return float(np.abs(self.residual_MHz).max())


def _dominant_period(x: np.ndarray) -> float:
    """Dominant period [samples] of a trace from its power spectrum (above slow drifts)."""
    n = x.size
    spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(n))) ** 2
    k_min = 8  # ignore drifts slower than 8 cycles per record
    k = k_min + int(np.argmax(spec[k_min:]))
    return n / k


def detect_fringes(t: np.ndarray, etalon: np.ndarray, run: str = "") -> Fringes:
    """Find etalon fringes (peaks or dips, sign detected) with sub-sample times.

    Raises :class:`CalibrationError` when there are no clear fringes.

    Parameters
    ----------
    t : numpy.ndarray
        Sample times [s].
    etalon : numpy.ndarray
        Etalon channel [V].
    run : str
        Run id, for messages.
    """
    x = np.asarray(etalon, dtype=float)
    n = x.size
    med = np.median(x)
    # Airy fringes are narrow: the side with the larger excursion from the median is the fringe
    sign = 1 if (np.percentile(x, 99.5) - med) >= (med - np.percentile(x, 0.5)) else -1
    y = sign * (x - med)
    noise = white_noise_rms(y, order=1)
    height = np.percentile(y, 99.5) - np.median(y)
    if height <= 0 or noise <= 0:
        raise CalibrationError(
            f"run {run}: no etalon fringes found (the etalon channel is constant at "
            f"{med:.4g} V); check that the etalon photodiode is connected and the laser was scanning"
        )
    snr = height / noise
    if snr < 8:
        raise CalibrationError(
            f"run {run}: no etalon fringes found (fringe height {height:.3g} V is only "
            f"{snr:.1f}x the noise); check the etalon channel and that the laser was scanning"
        )
    period = _dominant_period(y)
    # baseline under the fringes: a running median over a few periods
    win = int(max(5, min(n // 4, 3 * period)))
    base = running_median(y, win)
    z = y - base
    level = np.median(z)
    top = np.percentile(z, 99.5)
    peaks = peaks_above(z, level + 0.35 * (top - level), min_distance=max(1, int(0.4 * period)))
    if peaks.size < 3:
        raise CalibrationError(
            f"run {run}: only {peaks.size} etalon fringe(s) found; the scan must cover at "
            "least 10 free spectral ranges"
        )
    # sub-sample position: centroid of the fringe top (above half its prominence)
    times = np.empty(peaks.size)
    dt = t[1] - t[0]
    for i, p in enumerate(peaks):
        half = z[p] - 0.5 * (z[p] - level)
        lo = p
        while lo > 0 and z[lo - 1] > half and p - lo < period:
            lo -= 1
        hi = p
        while hi < n - 1 and z[hi + 1] > half and hi - p < period:
            hi += 1
        w = z[lo : hi + 1] - half
        times[i] = t[lo] + dt * np.sum(w * np.arange(w.size)) / np.sum(w) if w.sum() > 0 else t[p]
    return Fringes(times=times, sign=sign, period_samples=float(period), contrast_snr=float(snr))


#: a step of the sweep rate (relative change of the fringe interval) up to this that then
#: stays is a kink of the sweep and kept; a larger one is cut as a turnaround or hop
KINK_MAX = 0.1


def segment_scan(
    times: np.ndarray, run: str = "", min_fringes: int = 10, tolerance: float = 0.3
) -> Segment:
    """Longest run of regular fringe intervals (no turnaround, mode hop or gap).

    An interval is irregular when it differs from the running median of its neighbours by
    more than ``tolerance`` (relative: a large mode hop, a missed fringe, the sweep slowing to
    a stop at a turnaround), or when it alone is displaced from both its neighbours by far
    more than the intervals usually change (a small mode hop). A kink in the sweep, where the
    rate steps by up to :data:`KINK_MAX` and stays, is kept: the fringes still mark the
    frequency.

    Parameters
    ----------
    times : numpy.ndarray
        Fringe times [s] (:func:`detect_fringes`).
    run : str
        Run id, for messages.
    min_fringes : int
        Fewest fringes a usable stretch has.
    tolerance : float
        Largest relative deviation of a fringe interval from its neighbours' median.
    """
    d = np.diff(times)
    if d.size < 2:
        raise CalibrationError(
            f"run {run}: too few etalon fringes ({times.size}) to linearise the scan"
        )
    ref = running_median(d, min(9, d.size | 1))
    ratio = d / ref
    bad = np.abs(ratio - 1) > tolerance
    if d.size > 4:
        # a small mode hop displaces one interval from both neighbours the same way; a kink
        # in the sweep (its rate steps and stays) changes the intervals once and is harmless:
        # the fringes still mark the frequency, and the linearisation follows the new rate
        step = np.diff(d)  # the change of the interval: small and smooth for a smooth sweep
        usual = running_median(np.abs(step), min(15, step.size | 1))
        big = np.abs(step) > 6 * np.maximum(usual, 1e-3 * np.median(d))
        jump = np.zeros(d.size, dtype=bool)
        # a large change (the sweep slowing into a turnaround, a hop) is cut, whatever follows
        jump[1:] = big & (np.abs(step) > KINK_MAX * d[:-1])
        jump[1:-1] |= big[:-1] & big[1:] & (np.sign(step[:-1]) == -np.sign(step[1:]))
        jump[-1] |= big[-1]  # the last interval has one neighbour: a change there is cut
        bad |= jump
    good = ~bad
    best, start, best_range = 0, None, None
    for i, g in enumerate(np.append(good, False)):
        if g and start is None:
            start = i
        elif not g and start is not None:
            if i - start > best:
                best, best_range = i - start, (start, i)
            start = None
    if best_range is None or best + 1 < min_fringes:
        raise CalibrationError(
            f"run {run}: etalon fringes are irregular everywhere (longest regular stretch "
            f"{best + 1} fringes, need {min_fringes}); check the etalon signal, the FSR, or for "
            "mode hops"
        )
    first, last = best_range[0], best_range[1]  # fringe indices, inclusive
    cuts = []
    if first > 0:
        cuts.append(
            f"{first} fringe(s) before t={times[first]:.6g} s cut (irregular spacing: turnaround or mode hop)"
        )
    if last < times.size - 1:
        cuts.append(
            f"{times.size - 1 - last} fringe(s) after t={times[last]:.6g} s cut (irregular spacing)"
        )
    return Segment(first=int(first), last=int(last), cuts=cuts)


def linearise(
    times: np.ndarray, fsr_MHz: float, degree: int | str = "auto", run: str = ""
) -> Linearisation:
    """Fit relative frequency (fringe index × FSR) against fringe time.

    ``degree="auto"`` picks the polynomial degree (1..15) with the lowest 5-fold
    cross-validated RMS of the fringe frequencies (ties broken toward lower degree).

    Parameters
    ----------
    times : numpy.ndarray
        Fringe times of the kept stretch [s].
    fsr_MHz : float
        Etalon free spectral range [MHz].
    degree : int or "auto"
        Polynomial degree in time, or ``"auto"`` (cross-validated).
    run : str
        Run id, for messages.
    """
    freq = np.arange(times.size) * fsr_MHz
    cv = {}
    if degree == "auto":
        degrees = range(1, min(15, times.size // 3) + 1)
        folds = np.arange(times.size) % 5
        for deg in degrees:
            err = []
            for f in range(5):
                train, test = folds != f, folds == f
                inner = test.copy()
                inner[[0, -1]] = False  # never extrapolate to the ends
                if inner.sum() == 0 or train.sum() <= deg + 1:
                    continue
                p = Polynomial.fit(times[train], freq[train], deg)
                err.append(p(times[inner]) - freq[inner])
            if err:
                cv[deg] = float(np.sqrt(np.mean(np.concatenate(err) ** 2)))
        best = min(cv.values())
        degree = min(d for d, v in cv.items() if v <= 1.05 * best)
    poly = Polynomial.fit(times, freq, int(degree))
    deriv = poly.deriv()(np.linspace(times[0], times[-1], 1000))
    if not (np.all(deriv > 0) or np.all(deriv < 0)):
        raise CalibrationError(
            f"run {run}: the linearised scan is not monotonic; check the segment"
        )
    return Linearisation(
        poly=poly,
        degree=int(degree),
        fringe_times=times,
        fringe_freq_MHz=freq,
        residual_MHz=freq - poly(times),
        cv_rms_MHz=cv,
    )
