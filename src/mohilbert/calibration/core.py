r"""Calibrate one run: raw time traces → transmission on a uniform, absolute detuning grid.

Steps (each recorded in the output so that a physicist can check it):

1. **Segmentation and linearisation** (:mod:`.fringes`): etalon fringes → the regular part of
   the scan and a smooth map t → relative frequency f(t) [MHz].
2. **Dark level**: median of the dark trace, or the configured ``dark_level_V``; its standard
   uncertainty ``dark_uncertainty_V`` (sheet, default 0) is carried as a correlated error.
3. **Absolute detuning**: ν = ν_off + s·κ·f(t) with sign s = ±1 (the etalon cannot tell the
   sweep direction), scale correction κ ≈ 1 and offset ν_off, found by cross-correlating the
   measured absorbance with the theory and refined by least squares. The theory is the
   zero-field reference cell (``reference`` channel; its temperature is fitted) or, without
   one, the signal's own theory with its physical parameters (temperature, field) free.
   In the least squares the slowly varying baseline (laser power × gain) is a polynomial in
   time solved linearly at every step (variable projection).
4. **Normalisation**: the signal minus dark is divided by a polynomial baseline (degree by
   blocked cross-validation) fitted through off-resonant points only, where the theory's
   optical depth is below ``od_threshold``; the model's small absorption there is divided out
   first. The mask is refined iteratively by excluding points that absorb by more than four
   times the robust scatter of the off-resonant points (white noise and drifts). With a
   ``monitor`` channel the signal is divided by the monitor instead.
5. **Resampling** onto a uniform detuning grid (bin averages), with a per-point noise estimate
   from the white-noise level of the trace.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mohilbert.calibration.fringes import detect_fringes, linearise, segment_scan
from mohilbert.calibration.grid import calibrated_dataset
from mohilbert.calibration.steps import Absolute, AxisFit, Baseline, Dark, Scan
from mohilbert.config import schema_defaults
from mohilbert.errors import CalibrationError, MohilbertError, one_line
from mohilbert.records import Run
from mohilbert.signal import (
    adc_step_V,
    fft_convolve,
    legendre_design,
    robust_sigma,
    running_median,
    white_noise_rms,
)
from mohilbert.theory import Cell, intense_arrays, spectrum_arrays

#: the calibrate stage's defaults: ``calibrate:`` of the configuration schema (its one home)
DEFAULTS = schema_defaults("calibrate")


def _white_noise(v: np.ndarray) -> float:
    """Per-sample white-noise rms (second differences; robust to ADC quantisation)."""
    return white_noise_rms(v, order=2)


def _cv_degree(t: np.ndarray, v: np.ndarray, mask: np.ndarray, span, max_degree: int = 8) -> int:
    """Baseline polynomial degree by blocked cross-validation on the off-resonant points.

    The baseline has to be interpolated across the absorption lines, so each candidate degree
    is scored by how well it predicts whole contiguous blocks of off-resonant points left out
    of the fit (10 blocks in time). White-noise criteria (AIC/BIC) pick degrees that chase
    1/f drifts in the wings and bow under the lines.
    """
    tm, vm = t[mask], v[mask] - np.mean(v[mask])  # centred: less cancellation in the errors
    blocks = np.minimum((np.arange(tm.size) * 10) // tm.size, 9)
    # normal equations per block (Legendre columns on [-1, 1] are well conditioned): a fold's
    # training system is the total minus the held-out block, its error follows from the
    # block's own sums, so every degree and fold costs a (d+1)x(d+1) solve
    a_all = legendre_design(tm, max_degree, span)
    gram = np.stack([a_all[blocks == b].T @ a_all[blocks == b] for b in range(10)])
    rhs = np.stack([a_all[blocks == b].T @ vm[blocks == b] for b in range(10)])
    yy = np.array([vm[blocks == b] @ vm[blocks == b] for b in range(10)])
    counts = np.bincount(blocks, minlength=10)
    best, best_err = 1, np.inf
    for d in range(1, max_degree + 1):
        k = d + 1
        g_tot, r_tot = gram.sum(0)[:k, :k], rhs.sum(0)[:k]
        err = 0.0
        for b in range(10):
            if tm.size - counts[b] <= k:
                continue
            coef = np.linalg.solve(g_tot - gram[b, :k, :k], r_tot - rhs[b, :k])
            err += float(yy[b] - 2 * coef @ rhs[b, :k] + coef @ gram[b, :k, :k] @ coef)
        if err < best_err * 0.98:  # a higher degree must earn its keep
            best, best_err = d, err
    return best


def _batch_inflation(r: np.ndarray, blocks: int = 20) -> float:
    """How much more a mean over a stretch of ``r`` scatters than a white residual's would
    (≥ 1): the variance of the means of ``blocks`` contiguous blocks times the block size,
    over the variance of ``r`` — the effective-sample-size factor for quantities that
    average ``r`` over a twentieth of the scan or more (a baseline's coefficients)."""
    size = r.size // blocks
    if size < 2:
        return 1.0
    means = r[: size * blocks].reshape(blocks, size).mean(axis=1)
    var = float(np.var(r))
    return max(float(np.var(means, ddof=1)) * size / var, 1.0) if var > 0 else 1.0


def _under_lines(mask: np.ndarray) -> np.ndarray:
    """1 where the baseline is interpolated (stretches outside the off-resonant ``mask`` with
    off-resonant points on both sides), 0 elsewhere, with edges smoothed over 1 % of the
    record (the error of an interpolation does not jump at a line's foot)."""
    idx = np.flatnonzero(mask)
    inside = np.zeros(mask.size)
    if idx.size:
        inside[idx[0] : idx[-1] + 1] = 1.0
    under = inside * (~mask)
    width = max(mask.size // 100, 1)
    return np.clip(np.convolve(under, np.ones(width) / width, mode="same") * inside, 0, 1)


def _gap_error(
    t: np.ndarray, light: np.ndarray, mask: np.ndarray, degree: int, span, windows: int = 12
) -> float:
    """The baseline's relative error where it is interpolated under the lines: stretches of
    off-resonant points as wide as the widest stretch of lines (at most 60 % of the widest
    off-resonant stretch) are left out in turn, the polynomial of ``degree`` is fitted to the
    rest, and the mean relative error of its prediction over each left-out stretch is taken;
    returns their RMS (0 when there is no room). This is the error of interpolating across
    a gap that the baseline's coefficient errors (white residual) do not hold: drifts and
    window fringes coherent over the lines."""
    idx = np.flatnonzero(mask)
    if idx.size < 20:
        return 0.0
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)  # off-resonant stretches
    holes = np.diff(idx)
    width = int(holes.max()) - 1 if holes.size else 0
    longest = max(len(r) for r in runs)
    width = min(width, int(0.6 * longest))
    if width < 10:
        return 0.0
    starts = [
        s
        for r in runs
        if len(r) > width + 2
        for s in range(int(r[0]) + 1, int(r[-1]) - width, max(width // 4, 1))
        if s > idx[0] and s + width < idx[-1]  # interpolation: off-resonant points beyond
    ]
    if not starts:
        return 0.0
    pick = np.unique(np.linspace(0, len(starts) - 1, min(windows, len(starts))).astype(int))
    a = legendre_design(t, degree, span)
    errors = []
    for k in pick:
        window = np.zeros(mask.size, bool)
        window[starts[k] : starts[k] + width] = True
        train = mask & ~window
        coef, *_ = np.linalg.lstsq(a[train], light[train], rcond=None)
        pred = a[window] @ coef
        errors.append(float(np.mean(light[window] / pred - 1)))
    return float(np.sqrt(np.mean(np.square(errors))))


def _upper_envelope(t: np.ndarray, v: np.ndarray, degree: int) -> np.ndarray:
    """Rough baseline for a first look: polynomial through the upper part of the trace."""
    span = (t[0], t[-1])
    a = legendre_design(t, degree, span)
    keep = np.ones(v.size, dtype=bool)
    for _ in range(6):
        coef, *_ = np.linalg.lstsq(a[keep], v[keep], rcond=None)
        base = a @ coef
        r = v - base
        sigma = 1.4826 * np.median(np.abs(r[keep]))
        keep = r > -2.5 * sigma
    return base


def _alignment(f, absorb, model_absorb, scales, max_span_MHz=None):
    """Best (score, sign, offset, scale) of the measured absorbance against the theory.

    The absorbance as a function of relative frequency f·scale (either sweep direction) is
    slid along the theory absorbance on a 20 MHz grid; the best normalised cross-correlation
    wins.
    """
    step = 20.0
    order = np.argsort(f)
    span = f.max() - f.min()
    reach = 45000 + 1.3 * (max_span_MHz or span * max(scales))
    model_x = np.arange(-reach, reach, step)
    m = model_absorb(model_x)
    m = m - m.mean()
    best = (-np.inf, 1, 0.0, 1.0)
    for scale in scales:
        grid_f = np.arange(f.min(), f.max(), step / scale)
        if grid_f.size < 8 or grid_f.size >= model_x.size:
            continue
        data = np.interp(grid_f, f[order], absorb[order])
        data = data - np.median(data)
        for sign in (1, -1):
            d = data if sign == 1 else data[::-1]
            corr = fft_convolve(m, d[::-1], mode="valid")
            norm = np.sqrt(
                fft_convolve(m**2, np.ones(d.size), mode="valid").clip(1e-300)
            ) * np.linalg.norm(d)
            score = corr / norm
            k = int(np.argmax(score))
            if score[k] > best[0]:
                start = model_x[k]  # where the first data sample sits on the model axis
                offset = start - sign * scale * (grid_f[0] if sign == 1 else grid_f[-1])
                best = (float(score[k]), sign, float(offset), float(scale))
    return best


def _coarse_alignment(
    f,
    absorb,
    model_absorb,
    run: str,
    what: str,
    scales=(1.0,),
    fsr=None,
    stop_factor=None,
    theory="",
):
    """Sign, offset, score and scale of the detuning axis by cross-correlation (see
    :func:`_alignment`); refuses an axis that matches much better stretched (the hard gate
    of :func:`_check_axis_scale`, when ``fsr`` and ``stop_factor`` are given) and a scan that
    matches the theory nowhere."""
    score, sign, offset, scale = _alignment(f, absorb, model_absorb, scales)
    if fsr is not None and stop_factor:
        _check_axis_scale(f, absorb, model_absorb, run, what, fsr, score, stop_factor, theory)
    if score < 0.3:
        raise CalibrationError(
            f"run {run}: the {what} does not match the expected spectrum anywhere in the scan "
            f"(best correlation {score:.2f}); check the element/line, the field, the scan range"
        )
    return sign, offset, score, scale


def _check_axis_scale(f, absorb, model_absorb, run, what, fsr, score, factor, theory) -> None:
    """Hard gate: a frequency axis stretched by more than ``factor`` (either way) matching the
    theory better than the sheet's means a wrong etalon FSR (a typo, MHz vs GHz, a factor of
    2 from counting both fringe orders); stop naming ``etalon_fsr_MHz``."""
    span = float(f.max() - f.min())
    # plausible scanned ranges of the stretched axis: 2 GHz .. 200 GHz
    far = [
        s
        for s in np.geomspace(1 / 20, 20, 61)
        if (s > factor or s < 1 / factor) and 2e3 <= s * span <= 2e5
    ]
    if not far:
        return
    best, _, _, scale = _alignment(f, absorb, model_absorb, far, max_span_MHz=2e5)
    if best > max(score + 0.05, 0.5):
        wider = "wider" if scale < 1 else "narrower"
        ratio = 1 / scale if scale < 1 else scale
        if best < 0.9:
            # no stretch makes a clean match: the lines are not this theory's at all
            raise CalibrationError(
                f"run {run}: the {what} lines match the {theory} theory at no axis scale "
                f"(best correlation {best:.2f} with the axis {ratio:.2g}x {wider}, "
                f"{score:.2f} at etalon_fsr_MHz = {fsr:g}); check element and line, then "
                "etalon_fsr_MHz"
            )
        raise CalibrationError(
            f"run {run}: etalon_fsr_MHz = {fsr:g} makes the {what} lines {ratio:.2g}x {wider} "
            f"than theory (they match an FSR near {fsr * scale:.4g} MHz: correlation {best:.2f} "
            f"against {score:.2f}); check etalon_fsr_MHz"
        )


def _fit_axis(
    t,
    v,
    f,
    cell,
    pol,
    free,
    rec_run,
    degree,
    max_points,
    sign,
    offset,
    what,
    fit_scale,
    scale0,
    probe=None,
) -> AxisFit:
    """Least-squares refinement of offset, scale and physical parameters, with the baseline
    polynomial solved linearly at every step (variable projection), through the project's one
    fitting layer, lmfit (its bounded trust-region ``least_squares``). Standard errors from the
    Jacobian at the minimum, with the baseline coefficients counted in the degrees of freedom
    (lmfit's own ``covar`` does not know them). The theory is the weak-probe one, or with a
    ``probe`` the intense-probe one at that probe's power."""
    import lmfit

    from mohilbert.atoms.constants import isotope_fractions

    idx = np.linspace(0, t.size - 1, min(max_points, t.size)).astype(int)
    ts, vs, fs = t[idx], v[idx], f[idx]
    a = legendre_design(ts, degree, (t[0], t[-1]))
    start_pct = {
        f"percent_{k}": 100 * x
        for k, x in isotope_fractions(cell.element, cell.isotope_percent).items()
    }
    bounds = {
        "offset_MHz": (offset - 500, offset + 500),
        "scale": (0.75, 1.25),
        "temperature_C": (cell.temperature_C - 60, cell.temperature_C + 60),
        "field_T": (max(0.0, cell.field_T * 0.7), cell.field_T * 1.3 + 1e-3),
        "field_theta_deg": (0.0, 180.0),
        "shift_MHz": (-500.0, 500.0),
    }
    names = ["offset_MHz"] + (["scale"] if fit_scale else []) + list(free)
    start = {"offset_MHz": offset, "scale": scale0}
    for name in free:
        if name.startswith("percent_"):
            bounds[name] = (0.0, 100.0)
            start[name] = min(max(start_pct.get(name, 1.0), 0.5), 99.5)
        else:
            start[name] = getattr(cell, name)
            bounds.setdefault(name, (-np.inf, np.inf))
    lo = np.array([bounds[n][0] for n in names])
    hi = np.array([bounds[n][1] for n in names])
    x0 = np.clip([start[n] for n in names], lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
    params = lmfit.Parameters()
    for n, x, low, high in zip(names, x0, lo, hi, strict=True):
        params.add(n, value=float(x), min=float(low), max=float(high))

    def residual(p):
        vals = {n: p[n].value for n in names}
        c = cell.with_fitted({n: vals[n] for n in free})
        nu = vals["offset_MHz"] + sign * vals.get("scale", scale0) * fs
        if probe is None:
            m = spectrum_arrays(nu, c, pol)["S0"]
        else:
            m = intense_arrays(nu, c, pol, probe)["S0"]
        design = a * m[:, None]
        coef, *_ = np.linalg.lstsq(design, vs, rcond=None)
        return vs - design @ coef

    start_cost = float(np.sum(residual(params) ** 2))
    steps = {"offset_MHz": 0.05, "scale": 1e-6, "temperature_C": 1e-3, "field_T": 1e-6}
    diff = np.array(
        [steps.get(n, 1e-6 * max(abs(v0), 1.0)) for n, v0 in zip(names, x0, strict=True)]
    )
    try:
        res = lmfit.minimize(
            residual,
            params,
            method="least_squares",
            x_scale="jac",
            diff_step=diff / np.maximum(np.abs(x0), 1e-12),
            max_nfev=400,
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise CalibrationError(f"run {rec_run}: the {what} fit failed ({exc})") from None
    cost = float(np.sum(res.residual**2))
    if res.aborted:
        raise CalibrationError(
            f"run {rec_run}: the {what} fit did not converge in {res.nfev} evaluations"
        )
    if not np.isfinite(cost) or cost > start_cost * (1 + 1e-9):
        raise CalibrationError(f"run {rec_run}: the {what} fit did not converge ({res.message})")
    dof = max(res.residual.size - len(names) - a.shape[1], 1)
    redchi = cost / dof
    try:
        cov = np.linalg.inv(res.jac.T @ res.jac) * redchi
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(len(names), np.nan)
    values = {n: float(res.params[n].value) for n in names}
    values.setdefault("scale", float(scale0))
    stderr = dict(zip(names, (float(e) for e in err), strict=True))
    stderr.setdefault("scale", 0.0)
    return AxisFit(values=values, stderr=stderr, redchi=float(redchi))


def calibrate_or_leave_out(
    raw: xr.Dataset,
    record: Run | dict,
    series: str,
    config: dict | None = None,
    gates: dict | None = None,
) -> xr.Dataset:
    """:func:`calibrate_run` for a run of power series ``series``: a run that cannot be
    calibrated is left out of its series instead of stopping it.

    The error's one line becomes the file's ``left_out`` attribute and a warning
    (``series.left_out``); the file holds no spectrum, and the series fit, its line-centre
    analysis and figures go on with the other runs (:func:`mohilbert.products.split_left_out`).
    A run outside any series (``series`` empty) stops with its error as before.

    Parameters
    ----------
    raw, record
        As :func:`calibrate_run`.
    series : str
        The run's power series (sheet column ``series``), or ``""``.
    config, gates
        As :func:`calibrate_run`.
    """
    if not series:
        return calibrate_run(raw, record, config, gates)
    try:
        return calibrate_run(raw, record, config, gates)
    except MohilbertError as exc:
        return left_out_dataset(Run.coerce(record).run, series, one_line(exc))


def left_out_dataset(run: str, series: str, reason: str) -> xr.Dataset:
    """The calibrated file of a run left out of its power series: no spectrum, the reason in
    the attribute ``left_out`` and as a warning (``series.left_out``).

    Parameters
    ----------
    run : str
        The run id.
    series : str
        Its power series.
    reason : str
        Why it could not be calibrated (one line, the error's type first).
    """
    from mohilbert import gates as quality

    ds = xr.Dataset(attrs={"run": run, "series": series, "left_out": reason})
    message = f"run {run}: left out of power series {series}: {reason}"
    quality.store(ds.attrs, [quality.GateWarning(f"run {run}", "series.left_out", message)])
    return ds


def calibrate_run(
    raw: xr.Dataset, record: Run | dict, config: dict | None = None, gates: dict | None = None
) -> xr.Dataset:
    """Calibrate one ingested run (``results/raw/{run}.nc``) using its sheet record
    (a :class:`~mohilbert.records.Run` or the calibrate stage's mapping of it).

    The steps, each its own function: :func:`scan_axis` (etalon fringes → linear relative
    frequency), :func:`dark_level` and :func:`dark_subtracted`, :func:`absolute_axis`
    (reference cell or self-calibration), :func:`baseline_fit` (normalisation through
    off-resonant points) and :func:`calibrated_dataset` (the uniform detuning grid, the
    uncertainties, the file).

    ``gates`` are the thresholds of :mod:`mohilbert.gates` (``gates.calibrate`` of the config;
    defaults there). Returns the detuning-domain Dataset written to
    ``results/calibrated/{run}.nc``, with the soft gates' warnings in its attributes.

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run (``results/raw/{run}.nc``): time-domain channels [V].
    record : Run or dict
        The run's sheet values (:class:`~mohilbert.records.Run` or the calibrate stage's record).
    config : dict, optional
        ``calibrate:`` of the workflow configuration (defaults: :data:`DEFAULTS`).
    gates : dict, optional
        ``gates.calibrate`` thresholds (defaults: :mod:`mohilbert.gates`).
    """
    from mohilbert import gates as quality

    cfg = {**DEFAULTS, **(config or {})}
    gates = quality.thresholds("calibrate", {"gates": gates})
    rec = Run.coerce(record)
    run = rec.run
    if "etalon" not in raw:
        raise CalibrationError(f"run {run}: no etalon channel; the scan cannot be linearised")
    fsr = rec.etalon_fsr_MHz
    if not fsr:
        raise CalibrationError(f"run {run}: etalon_fsr_MHz is not set in the runs sheet")
    scan = scan_axis(raw, run, float(fsr), cfg)
    dark = dark_level(raw, rec)
    v, sigma_v = dark_subtracted(raw, scan, dark, run)
    absolute = absolute_axis(raw, rec, cfg, gates, scan, dark, v, sigma_v)
    base = baseline_fit(raw, scan, v, sigma_v, absolute, cfg, run, rec.probe(), rec.cell())
    ds = calibrated_dataset(raw, rec, cfg, scan, dark, v, sigma_v, absolute, base)
    quality.store(ds.attrs, quality.calibration_warnings(run, ds.attrs, gates))
    return ds


def scan_axis(raw: xr.Dataset, run: str, fsr_MHz: float, cfg: dict) -> Scan:
    """Etalon fringes → the longest regular stretch of the scan → relative frequency [MHz]
    (a polynomial in time through the fringes, ``fsr_MHz`` apart).

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run, with its ``etalon`` channel [V].
    run : str
        Run id, for messages.
    fsr_MHz : float
        Etalon free spectral range [MHz].
    cfg : dict
        The calibrate configuration (segment and linearisation settings).
    """
    t_all = raw["time"].values
    sel = np.ones(t_all.size, dtype=bool)
    if cfg["segment"] != "auto":
        lo, hi = cfg["segment"]
        sel = (t_all >= lo) & (t_all <= hi)
    t_sel = t_all[sel]
    fr = detect_fringes(t_sel, raw["etalon"].values[sel], run)
    seg = segment_scan(fr.times, run)
    ft = fr.times[seg.first : seg.last + 1]
    lin = linearise(ft, fsr_MHz, cfg["linearisation_degree"], run)
    keep = sel & (t_all >= ft[0]) & (t_all <= ft[-1])
    t = t_all[keep]
    return Scan(keep, t, lin(t), fr, seg, ft, lin, t_all.size)


def dark_level(raw: xr.Dataset, rec: Run) -> Dark:
    """The dark level [V]: the median of the dark trace, or the sheet's ``dark_level_V``, or
    0 V; with the sheet's ``dark_uncertainty_V``."""
    sigma = float(rec.dark_uncertainty_V or 0.0)
    if "dark" in raw:
        level = float(np.median(raw["dark"].values))
        path = str(raw["dark"].attrs.get("source_file", ""))
        step = adc_step_V(raw["dark"].values)
        return Dark(
            level,
            f"median of the dark trace ({path})",
            sigma,
            path,
            float("nan") if step is None else step,
            str(raw["dark"].attrs.get("trigger_time", "")),
        )
    if rec.dark_level_V is not None:
        return Dark(float(rec.dark_level_V), "dark_level_V from the runs sheet", sigma)
    return Dark(0.0, "none (no dark trace or dark_level_V): assumed 0 V", sigma)


def dark_subtracted(raw: xr.Dataset, scan: Scan, dark: Dark, run: str) -> tuple[np.ndarray, float]:
    """The signal minus the dark level over the kept samples [V], and its white noise [V].

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run, with its ``signal`` channel [V].
    scan : Scan
        The kept stretch of the scan (:func:`scan_axis`).
    dark : Dark
        The dark level (:func:`dark_level`).
    run : str
        Run id, for messages.

    Raises
    ------
    CalibrationError
        The transmission would be ≤ 0 (a dark level above the signal).
    """
    v = raw["signal"].values[scan.keep] - dark.level_V
    top = np.percentile(v, 90)
    if top <= 0 or np.mean(v <= 0) > 0.05:
        raise CalibrationError(
            f"run {run}: transmission <= 0 after dark subtraction ({100 * np.mean(v <= 0):.0f}% of "
            f"points; dark level {dark.level_V:.4g} V, signal 90th percentile {top + dark.level_V:.4g} V); check "
            "the dark trace and the signal channel"
        )
    return v, _white_noise(v)


def absolute_axis(
    raw: xr.Dataset,
    rec: Run,
    cfg: dict,
    gates: dict,
    scan: Scan,
    dark: Dark,
    v: np.ndarray,
    sigma_v: float,
) -> Absolute:
    """Pin detuning zero (and, in the self-calibration, the axis scale): a coarse alignment
    of the channel's absorption with theory, then a fit of offset, scale, baseline and the
    free physical parameters (:func:`_fit_axis`).

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run (signal and, if recorded, reference channel) [V].
    rec : Run
        The run's sheet values (cell, etalon FSR, reference cell).
    cfg : dict
        The calibrate configuration (``absolute``, ``self_fit``, ``fit_scale``, ...).
    gates : dict
        ``gates.calibrate`` thresholds (the axis-scale stop).
    scan : Scan
        The kept stretch of the scan and its relative frequency (:func:`scan_axis`).
    dark : Dark
        The dark level [V] (:func:`dark_level`).
    v : numpy.ndarray
        Dark-subtracted signal over the kept samples [V].
    sigma_v : float
        Its white noise per sample [V].
    """
    run = rec.run
    t, f = scan.t, scan.f
    fsr = float(rec.etalon_fsr_MHz)
    cell, pol = rec.cell(), rec.polarisation
    mode = cfg["absolute"]
    if mode == "auto":
        mode = "reference" if "reference" in raw else "self"
    if mode == "reference" and "reference" not in raw:
        raise CalibrationError(
            f"run {run}: absolute='reference' but the run has no reference channel"
        )
    if mode == "reference":
        ref_cell = Cell(
            element=cell.element,
            line=cell.line,
            length_m=float(rec.reference_length_m),
            temperature_C=float(rec.reference_temperature_C),
        )
        # the same dark level as the signal: the trace's median or the sheet's dark_level_V
        channel = raw["reference"].values[scan.keep] - dark.level_V
        fit_cell, fit_pol, free, what = ref_cell, "x", ["temperature_C"], "reference cell"
    else:
        channel = v
        fit_cell, fit_pol, free, what = cell, pol, list(cfg["self_fit"]), "signal's own theory"
    channel_noise = sigma_v if mode != "reference" else _white_noise(channel)
    env = _upper_envelope(t, channel, 3)
    absorb = 1 - channel / env
    noise_abs = _white_noise(absorb)
    smooth = running_median(absorb, 25)
    if smooth.max() < 8 * noise_abs / np.sqrt(25) + 0.005:
        raise CalibrationError(
            f"run {run}: the {what} channel shows no absorption (max {smooth.max():.3g} against "
            f"noise {noise_abs:.2g}); check that it sees the atoms, or set calibrate.absolute"
        )

    def absorbance(probe):
        if probe is None:
            return lambda x: 1 - spectrum_arrays(x, fit_cell, fit_pol)["S0"]
        return lambda x: 1 - intense_arrays(x, fit_cell, fit_pol, probe)["S0"]

    fit_scale = cfg["fit_scale"] if cfg["fit_scale"] != "auto" else mode == "self"
    scales = np.arange(0.8, 1.2001, 0.01) if fit_scale else (1.0,)
    theory = f"{cell.element} {cell.line}"
    stop = gates["axis_scale_stop_factor"]
    probe, model = None, "weak-probe theory"
    try:
        sign, offset, score, scale0 = _coarse_alignment(
            f, absorb, absorbance(None), run, what, scales, fsr, stop, theory
        )
    except CalibrationError as weak_error:
        # a saturated spectrum (power-broadened, the open lines pumped away) is not the weak
        # probe's: align it with the intense-probe theory at the sheet's power instead
        probe = rec.probe() if mode == "self" else None
        if probe is None:
            raise
        try:
            sign, offset, score, scale0 = _coarse_alignment(
                f, absorb, absorbance(probe), run, what, scales, fsr, stop, theory
            )
        except CalibrationError:
            raise weak_error from None
        model = (
            f"intense-probe theory at the sheet's {rec.probe_power_W:g} W, temperature and "
            "field at the sheet's values (the weak-probe theory matched at no axis scale)"
        )
        free = []  # the axis only: the series fit measures the physics with this model
    axis_degree = 4 if cfg["baseline_degree"] == "auto" else int(cfg["baseline_degree"])
    fit = _fit_axis(
        t,
        channel,
        f,
        fit_cell,
        fit_pol,
        free,
        run,
        axis_degree,
        cfg["max_fit_points"],
        sign,
        offset,
        what,
        fit_scale,
        scale0,
        probe,
    )
    nu = fit.values["offset_MHz"] + sign * fit.values["scale"] * f
    fitted = {n: fit.values[n] for n in free}
    if mode == "self":
        cell = cell.with_fitted(fitted)
    return Absolute(
        mode,
        nu,
        fit,
        fitted,
        cell,
        pol,
        fit_cell,
        channel,
        channel_noise,
        sign,
        score,
        axis_degree,
        bool(fit_scale),
        model,
    )


#: detuning step [MHz] of the intense-probe theory of a run's far wings
#: (:func:`_wing_transmission`), interpolated to the samples: the wings are smooth over
#: hundreds of MHz
WING_THEORY_STEP_MHZ = 10.0


def _wing_transmission(absolute, probe, cell: Cell, weak: np.ndarray, off: np.ndarray):
    """The theory transmission of the run's light at its kept samples where it is
    off-resonant (``off``): the weak probe's (``weak``) without a ``probe``; with one, the
    intense-probe model at the sheet's power, temperature and field (``cell``;
    :func:`mohilbert.theory.intense_arrays`, on a :data:`WING_THEORY_STEP_MHZ` grid) — not
    a self-calibration's fitted cell: its weak-probe fit of a saturated run lowers the
    temperature to mimic the saturation (62 → 38 °C at 1.8 mW), which the intense model
    would count twice. The sheet's power is the nominal one (the series fit measures the
    intensity scale, after this): on simulated series with true scales 0.5–1 the baseline
    points' transmission against the truth moved from −1.4e-4 / −1.6e-4 / −3.7e-4 (0.35, 7,
    350 I_sat; the weak probe's wings) to −0.6e-4 / +0.9e-4 / +0.7e-4."""
    if probe is None or not off.any():
        return weak
    nu = absolute.nu
    grid = np.arange(
        nu.min() - WING_THEORY_STEP_MHZ, nu.max() + 2 * WING_THEORY_STEP_MHZ, WING_THEORY_STEP_MHZ
    )
    t = intense_arrays(grid, cell, absolute.pol, probe)["S0"]
    return np.interp(nu, grid, t)


def baseline_fit(
    raw: xr.Dataset,
    scan: Scan,
    v: np.ndarray,
    sigma_v: float,
    absolute: Absolute,
    cfg: dict,
    run: str,
    probe=None,
    sheet_cell: Cell | None = None,
) -> Baseline:
    """The light level without atoms: the monitor channel scaled to the off-resonant median,
    or a Legendre polynomial in scan time through the off-resonant points (degree by blocked
    cross-validation), with its statistical and model uncertainty and its error shapes; the
    off-resonant mask starts from the theory and drops points the data show absorbing.

    The off-resonant points are those where the weak-probe theory absorbs little (below
    ``od_threshold``); what it does absorb there (far wings) is divided out of the signal
    with the theory of the run's light (:func:`_wing_transmission`): a saturated run's wings
    absorb less than the weak probe's, and dividing out the weak probe's set its baseline
    high and every optical depth with it (simulated series at 350 I_sat: Figure 4's points
    +0.6 of their σ above the truth on average).

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run (a ``monitor`` channel is used if recorded) [V].
    scan : Scan
        The kept stretch of the scan (:func:`scan_axis`).
    v : numpy.ndarray
        Dark-subtracted signal over the kept samples [V].
    sigma_v : float
        Its white noise per sample [V].
    absolute : Absolute
        The absolute axis and its theory (:func:`absolute_axis`): where the cell is transparent.
    cfg : dict
        The calibrate configuration (``baseline_degree``, ``od_threshold``).
    run : str
        Run id, for messages.
    probe : mohilbert.intense.Probe, optional
        The run's probe at the sheet's power (:meth:`mohilbert.records.Run.probe`), for a
        run of a power series; ``None``: a weak probe.
    sheet_cell : Cell, optional
        The sheet's cell (:meth:`mohilbert.records.Run.cell`) for the probe's wings
        (default: the axis fit's).
    """
    t = scan.t
    span = (t[0], t[-1])
    model_t = spectrum_arrays(absolute.nu, absolute.cell, absolute.pol)["S0"]
    # optically thick lines can underflow to T = 0 in double precision
    model_t = np.maximum(model_t, np.finfo(float).tiny)
    od_model = -np.log(model_t)
    mask = od_model < cfg["od_threshold"]
    if mask.sum() < 50:
        raise CalibrationError(
            f"run {run}: fewer than 50 off-resonant points (OD < {cfg['od_threshold']}) in the "
            "scan; widen the scan or raise calibrate.od_threshold"
        )
    if "monitor" in raw:
        mon = raw["monitor"].values[scan.keep]
        ratio = v / mon
        scale_m = np.median(ratio[mask])
        baseline = mon * scale_m
        return Baseline(
            baseline,
            np.zeros_like(baseline),
            {},
            "monitor channel scaled to the off-resonant median",
            mask,
            model_t,
        )
    degree = cfg["baseline_degree"]
    # light level seen through the off-resonant points: the signal with the model's small
    # residual absorption there (OD < od_threshold, far wings) divided out
    off = od_model < cfg["od_threshold"]
    wings = _wing_transmission(absolute, probe, sheet_cell or absolute.cell, model_t, off)
    light = v / np.where(off, wings, 1.0)
    for _ in range(int(cfg["mask_iterations"])):
        if cfg["baseline_degree"] == "auto":
            degree = _cv_degree(t, light, mask, span)
        a = legendre_design(t, int(degree), span)
        coef, *_ = np.linalg.lstsq(a[mask], light[mask], rcond=None)
        baseline = a @ coef
        # standard error of the baseline from the fit scatter (includes drifts in the wings)
        scatter = np.std(light[mask] - baseline[mask])
        # the residual is not white (1/f drifts, window fringes): its coefficients' error is
        # that of fewer independent points (batch means: the variance of block averages
        # against a white residual's)
        inflation = _batch_inflation(light[mask] - baseline[mask])
        cov = inflation * scatter**2 * np.linalg.pinv(a[mask].T @ a[mask])
        stat = np.sqrt(np.einsum("ij,jk,ik->i", a, cov, a))
        # model uncertainty of the interpolation under the lines: spread of the
        # neighbouring degrees (d - 1, d + 1) around the chosen one
        spread = np.zeros_like(baseline)
        spread_mode = np.zeros_like(baseline)
        for other in (int(degree) - 1, int(degree) + 1):
            if other >= 1:
                ao = legendre_design(t, other, span)
                co, *_ = np.linalg.lstsq(ao[mask], light[mask], rcond=None)
                diff = ao @ co - baseline
                spread = np.maximum(spread, np.abs(diff))
                if np.sum(diff**2) > np.sum(spread_mode**2):
                    spread_mode = diff
        # the baseline is interpolated under the lines: its error there, measured by leaving
        # out stretches of off-resonant points as wide as the lines and predicting them
        under = _under_lines(mask)
        gap_mode = _gap_error(t, light, mask, int(degree), span) * baseline * under
        baseline_sigma = np.hypot(np.hypot(stat, spread), gap_mode)
        # the same error as shapes (1 sigma each): principal axes of the coefficients'
        # covariance and the larger neighbouring-degree difference, so that a fit can
        # propagate how the baseline can really be wrong (a tilt across a line pair moves
        # the lines; a uniform offset does not)
        lam, vec = np.linalg.eigh(cov)
        baseline_modes = {
            f"baseline_axis_{k + 1}": a @ (np.sqrt(max(lam[i], 0.0)) * vec[:, i])
            for k, i in enumerate(np.argsort(lam)[::-1])
        }
        baseline_modes["baseline_degree"] = spread_mode
        baseline_modes["baseline_under_lines"] = gap_mode
        # refine: drop points that absorb although the model says they do not. "Absorb" is
        # judged against the robust scatter of the off-resonant points about the baseline
        # (white noise and slow drifts together): a white-noise threshold would drop every
        # point a drift pushes below the baseline and walk the baseline up to the envelope
        r = light / baseline - 1
        scatter_r = robust_sigma(r[mask])
        excess = -r > 4 * max(scatter_r, sigma_v / np.median(baseline))
        new_mask = (od_model < cfg["od_threshold"]) & ~excess
        if new_mask.sum() < 50 or np.array_equal(new_mask, mask):
            break
        mask = new_mask
    return Baseline(
        baseline,
        baseline_sigma,
        baseline_modes,
        f"Legendre polynomial of degree {degree} in time through off-resonant points",
        mask,
        model_t,
    )
