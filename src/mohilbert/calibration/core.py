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

from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr
from numpy.polynomial import legendre as leg

from mohilbert.calibration.fringes import detect_fringes, linearise, segment_scan
from mohilbert.config import schema_defaults
from mohilbert.errors import CalibrationError
from mohilbert.records import Run
from mohilbert.signal import fft_convolve, running_median, white_noise_rms
from mohilbert.theory import Cell, intense_arrays, spectrum_arrays

#: the calibrate stage's defaults: ``calibrate:`` of the configuration schema (its one home)
DEFAULTS = schema_defaults("calibrate")


def probe_attrs(run: Run) -> dict:
    """Probe values of a run for a file's attributes, with the nominal peak I/I_sat."""
    probe = run.probe()
    if probe is None:
        return {}
    from mohilbert.intense import saturation_intensity_W_m2

    cell = run.cell()
    return {
        "probe_power_W": probe.power_W,
        "beam_diameter_m": probe.beam_diameter_m,
        "beam_profile": probe.beam_profile,
        "saturation_parameter_nominal": probe.peak_intensity_W_m2
        / saturation_intensity_W_m2(cell.element, cell.line),
    }


def _white_noise(v: np.ndarray) -> float:
    """Per-sample white-noise rms (second differences; robust to ADC quantisation)."""
    return white_noise_rms(v, order=2)


def _legendre_design(t: np.ndarray, degree: int, span: tuple[float, float]) -> np.ndarray:
    u = 2 * (t - span[0]) / (span[1] - span[0]) - 1
    return leg.legvander(u, degree)


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
    a_all = _legendre_design(tm, max_degree, span)
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


def _upper_envelope(t: np.ndarray, v: np.ndarray, degree: int) -> np.ndarray:
    """Rough baseline for a first look: polynomial through the upper part of the trace."""
    span = (t[0], t[-1])
    a = _legendre_design(t, degree, span)
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


def _correlation_length(grid: np.ndarray, clear: np.ndarray, r: np.ndarray) -> float:
    """Correlation length [MHz] of the drift residual ``r`` seen at the ``clear`` points of
    ``grid``: exponential-kernel length from the autocorrelation at lags of 1–20 grid steps
    (pairs of clear points only), bounded by one grid step and a quarter of the scan."""
    step = float(grid[1] - grid[0])
    full = np.zeros(grid.size)
    full[clear] = r  # r: the residual at the clear points, in grid order
    var = np.mean(r**2)
    lengths = []
    for lag in range(1, 21):
        both = clear[:-lag] & clear[lag:]
        if both.sum() < 20 or var <= 0:
            continue
        rho = np.mean(full[:-lag][both] * full[lag:][both]) / var
        lengths.append(-lag * step / np.log(min(max(rho, 1e-3), 0.999)))
    span = float(grid[-1] - grid[0])
    return float(np.clip(np.median(lengths), step, span / 4)) if lengths else step


@dataclass
class AxisFit:
    """Result of the absolute-axis fit: values, standard errors, reduced chi-square."""

    values: dict[str, float]
    stderr: dict[str, float]
    redchi: float


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
    a = _legendre_design(ts, degree, (t[0], t[-1]))
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


@dataclass
class Scan:
    """The linearised laser scan: the samples kept (a regular stretch between etalon fringes)
    and their relative frequency [MHz]."""

    keep: np.ndarray  # mask over the raw record
    t: np.ndarray  # time of the kept samples [s]
    f: np.ndarray  # relative frequency of the kept samples [MHz]
    fringes: object  # detect_fringes result
    segment: object  # segment_scan result
    fringe_times: np.ndarray  # [s]
    lin: object  # linearise result
    n_record: int


@dataclass
class Dark:
    """The dark level [V] subtracted from the signal and reference, and where it came from."""

    level_V: float
    source: str
    uncertainty_V: float
    #: the dark trace's file ("" when the level is not from a trace)
    file: str = ""


@dataclass
class Absolute:
    """The absolute detuning axis and the fit that pinned it (reference cell or the signal's
    own theory)."""

    mode: str  # reference | self
    nu: np.ndarray  # absolute detuning of the kept samples [MHz]
    fit: AxisFit
    fitted: dict  # the fitted physical parameters
    cell: Cell  # the signal's cell (fitted parameters in the self-calibration)
    pol: object
    fit_cell: Cell
    channel: np.ndarray  # the channel fitted (reference or signal), dark subtracted [V]
    channel_noise: float
    sign: int
    score: float
    axis_degree: int
    fit_scale: bool
    #: the theory the axis was fitted with
    model: str = "weak-probe theory"


@dataclass
class Baseline:
    """The light level without atoms [V] at every kept sample, its standard error, its
    correlated error shapes, and the off-resonant mask it was fitted through."""

    level: np.ndarray
    sigma: np.ndarray
    modes: dict
    description: str
    mask: np.ndarray
    model_t: np.ndarray  # theory transmission at the kept samples (the mask's source)


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
    base = baseline_fit(raw, scan, v, sigma_v, absolute, cfg, run)
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
        return Dark(level, f"median of the dark trace ({path})", sigma, path)
    if rec.dark_level_V is not None:
        return Dark(float(rec.dark_level_V), "dark_level_V from the runs sheet", sigma)
    return Dark(0.0, "none (no dark trace or dark_level_V): assumed 0 V", sigma)


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
            length_m=float(rec.reference_length_m or 0.075),
            temperature_C=float(rec.reference_temperature_C or 20.0),
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


def baseline_fit(
    raw: xr.Dataset,
    scan: Scan,
    v: np.ndarray,
    sigma_v: float,
    absolute: Absolute,
    cfg: dict,
    run: str,
) -> Baseline:
    """The light level without atoms: the monitor channel scaled to the off-resonant median,
    or a Legendre polynomial in scan time through the off-resonant points (degree by blocked
    cross-validation), with its statistical and model uncertainty and its error shapes; the
    off-resonant mask starts from the theory and drops points the data show absorbing.

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
    light = v / np.where(od_model < cfg["od_threshold"], model_t, 1.0)
    for _ in range(int(cfg["mask_iterations"])):
        if cfg["baseline_degree"] == "auto":
            degree = _cv_degree(t, light, mask, span)
        a = _legendre_design(t, int(degree), span)
        coef, *_ = np.linalg.lstsq(a[mask], light[mask], rcond=None)
        baseline = a @ coef
        # standard error of the baseline from the fit scatter (includes drifts in the wings)
        scatter = np.std(light[mask] - baseline[mask])
        cov = scatter**2 * np.linalg.pinv(a[mask].T @ a[mask])
        stat = np.sqrt(np.einsum("ij,jk,ik->i", a, cov, a))
        # model uncertainty of the interpolation under the lines: spread of the
        # neighbouring degrees (d - 1, d + 1) around the chosen one
        spread = np.zeros_like(baseline)
        spread_mode = np.zeros_like(baseline)
        for other in (int(degree) - 1, int(degree) + 1):
            if other >= 1:
                ao = _legendre_design(t, other, span)
                co, *_ = np.linalg.lstsq(ao[mask], light[mask], rcond=None)
                diff = ao @ co - baseline
                spread = np.maximum(spread, np.abs(diff))
                if np.sum(diff**2) > np.sum(spread_mode**2):
                    spread_mode = diff
        baseline_sigma = np.hypot(stat, spread)
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
        # refine: drop points that absorb although the model says they do not. "Absorb" is
        # judged against the robust scatter of the off-resonant points about the baseline
        # (white noise and slow drifts together): a white-noise threshold would drop every
        # point a drift pushes below the baseline and walk the baseline up to the envelope
        r = light / baseline - 1
        scatter_r = 1.4826 * np.median(np.abs(r[mask] - np.median(r[mask])))
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


@dataclass
class Binning:
    """Samples binned onto a uniform detuning grid [MHz].

    A bin's samples do not sit at its centre on average (a few samples per bin, a sweep speed
    that varies): each bin mean belongs to its samples' mean detuning, and the grid value is
    interpolated between those (else a line slope times that offset, a pattern that beats with
    the sweep nonlinearity, biases line positions by up to ~1 MHz).
    """

    grid: np.ndarray
    counts: np.ndarray  # samples per grid point
    order: np.ndarray
    which: np.ndarray
    ok: np.ndarray
    full: np.ndarray
    nu_mean: np.ndarray
    step: float  # grid step [MHz]

    @classmethod
    def of(cls, nu: np.ndarray, step: float, run: str) -> Binning:
        """The grid of ``step`` MHz over the detuning ``nu`` of the samples [MHz].

        Raises
        ------
        CalibrationError
            The scan spans fewer than 10 grid steps.
        """
        order = np.argsort(nu)
        nu_s = nu[order]
        grid = np.arange(np.ceil(nu_s[0] / step) * step, nu_s[-1], step)
        if grid.size < 10:
            raise CalibrationError(
                f"run {run}: the calibrated scan spans {nu_s[-1] - nu_s[0]:.0f} MHz, fewer than 10 "
                f"grid steps of {step:g} MHz; lower calibrate.grid_step_MHz"
            )
        edges = np.concatenate([grid - step / 2, [grid[-1] + step / 2]])
        which = np.digitize(nu_s, edges) - 1
        ok = (which >= 0) & (which < grid.size)
        counts = np.bincount(which[ok], minlength=grid.size)
        full = counts > 0
        nu_mean = np.bincount(which[ok], weights=nu_s[ok], minlength=grid.size)[full] / counts[full]
        return cls(grid, counts, order, which, ok, full, nu_mean, float(step))

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Per-sample ``values`` (in sample order) averaged onto the grid."""
        sums = np.bincount(
            self.which[self.ok], weights=values[self.order][self.ok], minlength=self.grid.size
        )
        return np.interp(self.grid, self.nu_mean, sums[self.full] / self.counts[self.full])


def polarimeter_variables(
    raw: xr.Dataset,
    scan: Scan,
    baseline: np.ndarray,
    bins: Binning,
    base_grid: np.ndarray,
    clear: np.ndarray,
) -> dict:
    """The polarimeter difference normalised by the run's baseline, on the grid, with its
    uncertainty: the per-sample white noise, scaled up by the binned signal's excess scatter
    point to point, and the drift scatter where the cell is transparent.

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run, with its ``polarimeter`` channel [V].
    scan : Scan
        The kept stretch of the scan (:func:`scan_axis`).
    baseline : numpy.ndarray
        The light level without atoms over the kept samples [V].
    bins : Binning
        The samples' bins on the output grid.
    base_grid : numpy.ndarray
        The baseline on the grid [V].
    clear : numpy.ndarray
        Boolean mask of grid points where the cell is transparent.
    """
    binned = bins.mean
    n_eff = np.maximum(bins.counts, 1)
    data = {}
    pol_v = raw["polarimeter"].values[scan.keep]
    pol_grid = binned(pol_v / baseline)
    pol_sigma = _white_noise(pol_v) / base_grid / np.sqrt(n_eff)
    # noise the per-sample estimate does not see (1/f, pick-up) shows as excess scatter
    # of the binned signal point to point: scale the uncertainty up by it
    pol_scale = max(1.0, _white_noise(pol_grid) / float(np.median(pol_sigma)))
    # slower drifts: scatter about a 1 GHz running median where the cell is transparent
    pol_excess = 0.0
    if clear.sum() > 200:
        r = (pol_grid - running_median(pol_grid, 101))[clear]
        scatter = 1.4826 * np.median(np.abs(r - np.median(r)))
        white_p = float(np.median(pol_sigma[clear])) * pol_scale
        pol_excess = float(np.sqrt(max(scatter**2 - white_p**2, 0.0)))
    data["polarimeter"] = (
        "detuning",
        pol_grid,
        {
            "units": "1",
            "long_name": "polarimeter difference / input intensity (S2 Faraday, S3 Voigt)",
        },
    )
    data["polarimeter_uncertainty"] = (
        "detuning",
        np.hypot(pol_sigma * pol_scale, pol_excess),
        {
            "units": "1",
            "long_name": "standard uncertainty of the polarimeter signal",
            "excess_noise_factor": pol_scale,
            "drift_noise": pol_excess,
        },
    )
    return data


def reference_variables(absolute: Absolute, t, nu, grid, binned) -> dict:
    """The reference cell's normalised transmission (its own fitted baseline divided out) and
    its fitted theory, on the grid.

    Parameters
    ----------
    absolute : Absolute
        The absolute axis with the reference cell's fit (:func:`absolute_axis`).
    t : numpy.ndarray
        Scan time of the kept samples [s].
    nu : numpy.ndarray
        Their detuning [MHz].
    grid : numpy.ndarray
        The output detuning grid [MHz].
    binned : callable
        Bins a per-sample array onto ``grid`` (:class:`Binning`).
    """
    data = {}
    ref_t = absolute.channel / (
        _legendre_design(t, absolute.axis_degree, (t[0], t[-1]))
        @ np.linalg.lstsq(
            _legendre_design(t, absolute.axis_degree, (t[0], t[-1]))
            * spectrum_arrays(nu, absolute.fit_cell.with_fitted(absolute.fitted), "x")["S0"][
                :, None
            ],
            absolute.channel,
            rcond=None,
        )[0]
    )
    data["reference_transmission"] = (
        "detuning",
        binned(ref_t),
        {"units": "1", "long_name": "normalised reference-cell transmission"},
    )
    data["reference_model"] = (
        "detuning",
        spectrum_arrays(grid, absolute.fit_cell.with_fitted(absolute.fitted), "x")["S0"],
        {"units": "1", "long_name": "fitted reference-cell theory"},
    )
    return data


def calibrated_dataset(
    raw: xr.Dataset,
    rec: Run,
    cfg: dict,
    scan: Scan,
    dark: Dark,
    v: np.ndarray,
    sigma_v: float,
    absolute: Absolute,
    base: Baseline,
) -> xr.Dataset:
    """Resample onto the uniform detuning grid and build ``results/calibrated/{run}.nc``:
    transmission and optical depth with their independent and correlated uncertainties (bin
    noise, baseline, the correlated noise measured where the cell is transparent, the dark
    level), the error shapes, the polarimeter and reference channels, the fringe fit and every
    calibration number in the attributes.

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run [V].
    rec : Run
        The run's sheet values (stored in the file's attributes).
    cfg : dict
        The calibrate configuration (``grid_step_MHz``, ...).
    scan : Scan
        The kept stretch of the scan (:func:`scan_axis`).
    dark : Dark
        The dark level (:func:`dark_level`).
    v : numpy.ndarray
        Dark-subtracted signal over the kept samples [V].
    sigma_v : float
        Its white noise per sample [V].
    absolute : Absolute
        The absolute axis (:func:`absolute_axis`).
    base : Baseline
        The baseline and its uncertainties (:func:`baseline_fit`).
    """
    bins = Binning.of(absolute.nu, float(cfg["grid_step_MHz"]), rec.run)
    g = grid_spectrum(bins, v, sigma_v, dark, base)
    data, coords = spectrum_variables(g, bins, v, base, absolute.mode, scan)
    if "polarimeter" in raw:
        data.update(polarimeter_variables(raw, scan, base.level, bins, g.base, g.clear))
    if absolute.mode == "reference":
        data.update(reference_variables(absolute, scan.t, absolute.nu, bins.grid, bins.mean))
    if g.error_modes:
        data["transmission_error_modes"] = (
            ("error_mode", "detuning"),
            np.array(list(g.error_modes.values())),
            {
                "units": "1",
                "long_name": "shapes of the correlated transmission error (each 1 sigma, "
                "independent; their quadrature sum is the correlated uncertainty)",
            },
        )
        coords["error_mode"] = (
            "error_mode",
            list(g.error_modes),
            {"units": "1", "long_name": "source of a correlated transmission error shape"},
        )
    ds = xr.Dataset(data, coords=coords)
    ds["fringe"] = (
        "fringe",
        np.arange(scan.fringe_times.size),
        {"units": "1", "long_name": "fringe index"},
    )
    ds.attrs.update(calibration_attrs(raw, rec, cfg, scan, dark, sigma_v, absolute, base, g))
    return ds


@dataclass
class GridSpectrum:
    """A run on the uniform detuning grid: its transmission with the independent and
    correlated parts of the uncertainty, the optical depth, and the error shapes.

    Attributes
    ----------
    t, base : numpy.ndarray
        Transmission [1] and baseline [V] per grid point.
    sigma_t, sigma_corr : numpy.ndarray
        Total and correlated standard uncertainty of the transmission [1].
    od, sigma_od : numpy.ndarray
        Optical depth and its standard uncertainty [1].
    saturated, clear : numpy.ndarray
        Points at the noise floor; points where the theory is transparent.
    error_modes : dict of str to numpy.ndarray
        Shapes of the correlated transmission error (each 1 σ).
    excess, drift_length_MHz : float
        Correlated noise over the white part (relative) and its correlation length [MHz].
    """

    t: np.ndarray
    base: np.ndarray
    sigma_t: np.ndarray
    sigma_corr: np.ndarray
    od: np.ndarray
    sigma_od: np.ndarray
    saturated: np.ndarray
    clear: np.ndarray
    error_modes: dict
    excess: float
    drift_length_MHz: float


def grid_spectrum(bins: Binning, v: np.ndarray, sigma_v: float, dark: Dark, base: Baseline):
    """The transmission on the grid with its uncertainties: bin noise (independent), the
    baseline's standard error and the correlated noise measured where the cell is
    transparent (correlated), the dark level's error (correlated), and the error shapes.

    Parameters
    ----------
    bins : Binning
        The uniform detuning grid and the samples of each point.
    v : numpy.ndarray
        Dark-subtracted signal over the kept samples [V].
    sigma_v : float
        Its white noise per sample [V].
    dark : Dark
        The dark level and its uncertainty.
    base : Baseline
        The baseline, its uncertainty and error shapes, the theory of the mask.
    """
    grid, counts, binned = bins.grid, bins.counts, bins.mean
    t_grid = binned(v / base.level)
    base_grid = binned(base.level)
    n_eff = np.maximum(counts, 1)
    # statistical noise of the bin (independent), and the baseline's standard error (a
    # relative error of T, correlated across points)
    sigma_white = sigma_v / base_grid / np.sqrt(n_eff)
    sigma_corr = t_grid * binned(base.sigma) / base_grid
    # correlated noise (1/f drifts, parasitic fringes) is not in the white-noise estimate:
    # measure the scatter of T about the theory where the theory is transparent, and add the
    # excess over the white part to every point as a correlated component
    model_grid = binned(base.model_t)
    clear = (-np.log(model_grid) < 0.002) & (counts > 0)
    excess, drift_length = 0.0, bins.step
    if clear.sum() > 30:
        r = t_grid[clear] - model_grid[clear]
        scatter = 1.4826 * np.median(np.abs(r - np.median(r)))
        white = np.median(np.hypot(sigma_white, sigma_corr)[clear])
        excess = float(np.sqrt(max(scatter**2 - white**2, 0.0)))
        drift_length = _correlation_length(grid, clear, r - np.median(r))
        sigma_corr = np.hypot(sigma_corr, excess)  # additive (detector drifts): grows in OD as 1/T
    # dark level error δ: T = (S - D) / (B - D) moves by δ (T - 1) / (B - D) at every point
    dark_sigma = dark.uncertainty_V
    sigma_corr = np.hypot(sigma_corr, np.abs(1 - t_grid) * dark_sigma / base_grid)
    sigma_t = np.hypot(sigma_white, sigma_corr)
    error_modes = {k: t_grid * binned(m) / base_grid for k, m in base.modes.items()}
    if dark_sigma > 0:
        error_modes["dark"] = (1 - t_grid) * dark_sigma / base_grid
    return GridSpectrum(
        t=t_grid,
        base=base_grid,
        sigma_t=sigma_t,
        sigma_corr=sigma_corr,
        od=-np.log(np.maximum(t_grid, sigma_t)),
        sigma_od=sigma_t / np.maximum(t_grid, sigma_t),
        saturated=t_grid < 3 * sigma_t,
        clear=clear,
        error_modes=error_modes,
        excess=excess,
        drift_length_MHz=drift_length,
    )


def spectrum_variables(g: GridSpectrum, bins: Binning, v, base: Baseline, mode: str, scan: Scan):
    """The calibrated file's variables on the grid and of the fringe fit, and its
    coordinates: (data, coords) as ``xarray.Dataset`` takes them.

    Parameters
    ----------
    g : GridSpectrum
        The run on the grid (:func:`grid_spectrum`).
    bins : Binning
        The grid and its binning.
    v : numpy.ndarray
        Dark-subtracted signal over the kept samples [V].
    base : Baseline
        The baseline, its description and mask, the theory of the mask.
    mode : str
        How the absolute axis was pinned (``"reference"`` or ``"self"``).
    scan : Scan
        The fringe times and the linearisation.
    """
    grid, counts, binned = bins.grid, bins.counts, bins.mean
    t_grid, sigma_t, sigma_corr = g.t, g.sigma_t, g.sigma_corr
    od, sigma_od, saturated, base_grid = g.od, g.sigma_od, g.saturated, g.base
    mask, model_t, ft, lin = base.mask, base.model_t, scan.fringe_times, scan.lin
    coords = {
        "detuning": (
            "detuning",
            grid,
            {"units": "MHz", "long_name": "laser detuning from the line centre"},
        )
    }
    data = {
        "transmission": (
            "detuning",
            t_grid,
            {"units": "1", "long_name": "normalised transmission"},
        ),
        "transmission_uncertainty": (
            "detuning",
            sigma_t,
            {"units": "1", "long_name": "standard uncertainty of the transmission"},
        ),
        "optical_depth": ("detuning", od, {"units": "1", "long_name": "optical depth -ln(T)"}),
        "optical_depth_uncertainty": (
            "detuning",
            sigma_od,
            {"units": "1", "long_name": "standard uncertainty of the optical depth"},
        ),
        "optical_depth_uncertainty_correlated": (
            "detuning",
            sigma_corr / np.maximum(t_grid, sigma_t),
            {
                "units": "1",
                "long_name": "part of the optical-depth uncertainty correlated across points (baseline, drifts)",
            },
        ),
        "saturated": (
            "detuning",
            saturated.astype(np.int8),
            {
                "units": "1",
                "long_name": "1 where T is at the noise floor (optical depth unreliable)",
            },
        ),
        "samples_per_point": (
            "detuning",
            counts.astype(np.int32),
            {"units": "1", "long_name": "raw samples averaged into the point"},
        ),
        "off_resonance": (
            "detuning",
            binned(mask.astype(float)) > 0.5,
            {"units": "1", "long_name": "1 where the point was used for the baseline"},
        ),
        "baseline": (
            "detuning",
            base_grid,
            {"units": "V", "long_name": f"baseline ({base.description})"},
        ),
        "signal": ("detuning", binned(v), {"units": "V", "long_name": "signal minus dark level"}),
        "model_transmission": (
            "detuning",
            binned(model_t),
            {
                "units": "1",
                "long_name": f"theory transmission ({'fitted' if mode == 'self' else 'nominal'} cell) used for the mask",
            },
        ),
        "fringe_time": ("fringe", ft, {"units": "s", "long_name": "etalon fringe time"}),
        "fringe_frequency": (
            "fringe",
            lin.fringe_freq_MHz,
            {"units": "MHz", "long_name": "fringe relative frequency (index x FSR)"},
        ),
        "fringe_residual": (
            "fringe",
            lin.residual_MHz,
            {"units": "MHz", "long_name": "fringe frequency minus linearisation"},
        ),
    }
    data["off_resonance"] = (
        "detuning",
        data["off_resonance"][1].astype(np.int8),
        data["off_resonance"][2],
    )
    return data, coords


def calibration_attrs(
    raw,
    rec: Run,
    cfg: dict,
    scan: Scan,
    dark: Dark,
    sigma_v: float,
    absolute: Absolute,
    base: Baseline,
    g: GridSpectrum,
) -> dict:
    """Every calibration number of the file's attributes: the raw file's provenance, the
    sheet values it was calibrated for, the scan, dark, noise, absolute axis and baseline
    (those later stages read are declared in :class:`mohilbert.products.CalibratedAttrs`).

    Parameters
    ----------
    raw : xarray.Dataset
        The ingested run (its attributes: the raw file's provenance).
    rec : Run
        The run's sheet values.
    cfg : dict
        The calibrate configuration.
    scan : Scan
        The kept stretch of the scan and its linearisation.
    dark : Dark
        The dark level.
    sigma_v : float
        The signal's white noise per sample [V].
    absolute : Absolute
        The absolute axis and its fit.
    base : Baseline
        The baseline.
    g : GridSpectrum
        The run on the grid (its correlated noise).
    """
    run, t, ft, lin = rec.run, scan.t, scan.fringe_times, scan.lin
    fit, mode, fsr = absolute.fit, absolute.mode, float(rec.etalon_fsr_MHz)
    excess, drift_length, dark_sigma = g.excess, g.drift_length_MHz, dark.uncertainty_V
    step = float(cfg["grid_step_MHz"])
    attrs = {k: v2 for k, v2 in raw.attrs.items() if k not in ("history",)}
    # the sheet values the calibration used (what the file was calibrated for)
    attrs.update({k: v2 for k, v2 in asdict(rec).items() if v2 is not None})
    attrs.update(
        {
            "title": f"calibrated spectrum of run {run}",
            "calibration_segment_s": f"{t[0]:.6g} .. {t[-1]:.6g}",
            "calibration_segment_cuts": "; ".join(scan.segment.cuts) or "none",
            "etalon_fringe_sign": "peaks" if scan.fringes.sign > 0 else "dips",
            "etalon_fringes_used": int(ft.size),
            "linearisation_degree": lin.degree,
            "linearisation_rms_MHz": lin.rms_MHz,
            "linearisation_max_MHz": lin.max_MHz,
            "dark_level_V": dark.level_V,
            "dark_source": dark.source,
            "dark_file": dark.file,
            "dark_uncertainty_V": dark_sigma,
            "white_noise_V": sigma_v,
            "correlated_noise_relative": excess,
            "correlated_noise_length_MHz": drift_length,
            "absolute_method": mode,
            "absolute_model": absolute.model,
            "absolute_correlation": absolute.score,
            "axis_sign": int(absolute.sign),
            "axis_offset_MHz": fit.values["offset_MHz"],
            "axis_offset_stderr_MHz": fit.stderr["offset_MHz"],
            "axis_scale": fit.values["scale"],
            "axis_scale_stderr": fit.stderr["scale"],
            "axis_scale_fitted": int(absolute.fit_scale),
            "absolute_fit_redchi": float(fit.redchi),
            "absolute_fit_redchi_noise": float(
                fit.redchi / max(absolute.channel_noise, 1e-300) ** 2
            ),
            "scan_fraction_kept": float(scan.keep.sum() / scan.n_record),
            "etalon_fsr_sheet_MHz": fsr,
            "etalon_fsr_uncertainty_MHz": float(rec.etalon_fsr_uncertainty_MHz or 0.0),
            # what the lab learns about its etalon: measured only where the scale is fitted
            "etalon_fsr_fitted_MHz": fsr * fit.values["scale"] if absolute.fit_scale else np.nan,
            "etalon_fsr_fitted_uncertainty_MHz": fsr * fit.stderr["scale"]
            if absolute.fit_scale
            else np.nan,
            "baseline": base.description,
            "od_threshold": float(cfg["od_threshold"]),
            "grid_step_MHz": step,
            **probe_attrs(rec),
        }
    )
    for name, value in absolute.fitted.items():
        key = f"{'reference_' if mode == 'reference' else 'self_fit_'}{name}"
        attrs[key] = value
        attrs[key + "_stderr"] = fit.stderr[name]
    return attrs
