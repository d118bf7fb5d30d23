"""The calibrated file of one run: the samples binned onto the uniform detuning grid with
their uncertainties (:func:`grid_spectrum`), its variables (:func:`spectrum_variables`) and
every calibration number in its attributes (:func:`calibration_attrs`), composed by
:func:`calibrated_dataset`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from mohilbert.calibration.steps import Absolute, Baseline, Dark, Scan
from mohilbert.errors import CalibrationError
from mohilbert.records import Run
from mohilbert.signal import legendre_design, robust_sigma, running_median, white_noise_rms
from mohilbert.theory import spectrum_arrays

#: the detector drift is measured about the theory where it absorbs less than this: a cell a
#: few degrees off its sheet temperature (density x1.5) then differs from it by < 1e-4 of T,
#: below any run's white noise (at 0.002 that mismatch read as a drift of ~1e-3 on
#: simulated runs without one); the real paper runs keep 140-600 such points
DRIFT_CLEAR_OPTICAL_DEPTH = 2e-4


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


def _long_drift(
    grid: np.ndarray, clear: np.ndarray, r: np.ndarray, short_MHz: float
) -> tuple[float, float]:
    """The slow part of the drift residual ``r`` (at the ``clear`` points of ``grid``): the
    fraction of its variance correlated over GHz (1/f drifts, window fringes) and that
    correlation length [MHz].

    The autocorrelation at lags from 5 short lengths to an eighth of the scan is fitted with
    a·exp(−lag/Λ); a short-lag estimate alone (:func:`_correlation_length`) sees only the
    fast part, and errors that are coherent across a whole line then average away in a fit.
    Returns (a, Λ); (0, short) when there is no slow part.
    """
    step = float(grid[1] - grid[0])
    span = float(grid[-1] - grid[0])
    full = np.zeros(grid.size)
    full[clear] = r
    var = np.mean(r**2)
    lo, hi = max(5 * short_MHz / step, 2.0), span / 8 / step
    if var <= 0 or hi <= lo:
        return 0.0, short_MHz
    lags, rho = [], []
    for lag in np.unique(np.geomspace(lo, hi, 14).astype(int)):
        both = clear[:-lag] & clear[lag:]
        if both.sum() < 20:
            continue
        value = np.mean(full[:-lag][both] * full[lag:][both]) / var
        if value > 0.02:
            lags.append(lag * step)
            rho.append(value)
    if len(lags) < 3:
        return 0.0, short_MHz
    slope, intercept = np.polyfit(np.array(lags), np.log(rho), 1)
    if slope >= 0:
        return 0.0, short_MHz
    return float(min(np.exp(intercept), 1.0)), float(np.clip(-1 / slope, short_MHz, span / 4))


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

    def effective_counts(self) -> np.ndarray:
        """Per grid point, the number of samples whose mean has the noise variance of the
        point's value [1].

        A grid value interpolates between two neighbouring bins' means (weights 1 − w and w),
        so its white-noise variance is σ² ((1 − w)²/n_j + w²/n_{j+1}), less than its own
        bin's σ²/n: on the demo's records (1.5 samples per 10 MHz point) 0.82 of it. Its
        neighbours share those bin means, so using every point, the bins' σ²/n is the noise
        that counts (``samples_per_point``); points two or more grid steps apart share none,
        and each has this variance (:func:`mohilbert.stages.fit.fit_inputs`).
        """
        nm, n = self.nu_mean, self.counts[self.full].astype(float)
        if nm.size < 2:
            return np.full(self.grid.size, float(n[0]) if n.size else 1.0)
        j = np.clip(np.searchsorted(nm, self.grid) - 1, 0, nm.size - 2)
        w = np.clip((self.grid - nm[j]) / (nm[j + 1] - nm[j]), 0.0, 1.0)
        return 1.0 / ((1 - w) ** 2 / n[j] + w**2 / n[j + 1])


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
    pol_sigma = white_noise_rms(pol_v, order=2) / base_grid / np.sqrt(n_eff)
    # noise the per-sample estimate does not see (1/f, pick-up) shows as excess scatter
    # of the binned signal point to point: scale the uncertainty up by it
    pol_scale = max(1.0, white_noise_rms(pol_grid, order=2) / float(np.median(pol_sigma)))
    # slower drifts: scatter about a 1 GHz running median where the cell is transparent
    pol_excess = 0.0
    if clear.sum() > 200:
        r = (pol_grid - running_median(pol_grid, 101))[clear]
        scatter = robust_sigma(r)
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
        legendre_design(t, absolute.axis_degree, (t[0], t[-1]))
        @ np.linalg.lstsq(
            legendre_design(t, absolute.axis_degree, (t[0], t[-1]))
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
    slow_fraction, slow_length_MHz : float
        The fraction of its variance that is correlated over GHz and that length [MHz]
        (:func:`_long_drift`).
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
    slow_fraction: float = 0.0
    slow_length_MHz: float = 0.0


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
    transparent = (-np.log(model_grid) < 0.002) & (counts > 0)
    clear = (-np.log(model_grid) < DRIFT_CLEAR_OPTICAL_DEPTH) & (counts > 0)
    excess, drift_length = 0.0, bins.step
    slow, slow_length = 0.0, bins.step
    if clear.sum() > 30:
        r = t_grid[clear] - model_grid[clear]
        scatter = robust_sigma(r)
        white = np.median(np.hypot(sigma_white, sigma_corr)[clear])
        excess = float(np.sqrt(max(scatter**2 - white**2, 0.0)))
        drift_length = _correlation_length(grid, clear, r - np.median(r))
        slow, slow_length = _long_drift(grid, clear, r - np.median(r), drift_length)
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
        clear=transparent,
        error_modes=error_modes,
        excess=excess,
        drift_length_MHz=drift_length,
        slow_fraction=slow,
        slow_length_MHz=slow_length,
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
        "samples_per_point_effective": (
            "detuning",
            bins.effective_counts(),
            {
                "units": "1",
                "long_name": "samples whose mean has the point's own noise variance (the point "
                "interpolates between neighbouring bins, which its neighbours share)",
            },
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
            "dark_adc_step_V": dark.adc_step_V,
            "dark_trigger_time": dark.recorded,
            "signal_trigger_time": str(raw["signal"].attrs.get("trigger_time", "")),
            "white_noise_V": sigma_v,
            "correlated_noise_relative": excess,
            "correlated_noise_length_MHz": drift_length,
            "correlated_noise_slow_fraction": g.slow_fraction,
            "correlated_noise_slow_length_MHz": g.slow_length_MHz,
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
            # against the channel's whole noise: white per sample and, for the signal's own
            # theory, the correlated scatter measured where the cell is transparent (drifts,
            # parasitic fringes): the scale a fit to real data can reach
            "absolute_fit_redchi_total": float(
                fit.redchi
                / max(
                    absolute.channel_noise**2
                    + (excess * float(np.median(base.level)) if mode == "self" else 0.0) ** 2,
                    1e-300,
                )
            ),
            "scan_fraction_kept": float(scan.keep.sum() / scan.n_record),
            "scan_lines_covered": lines_covered(absolute.cell, absolute.pol, absolute.nu),
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


def lines_covered(cell, polarisation, nu: np.ndarray) -> float:
    """The fraction of the cell's strong absorption lines (peaks of the weak-probe optical
    depth at the calibration's cell, at least a tenth of the strongest) whose centres lie
    inside the kept scan ``nu`` [MHz]: 1 when the regular stretch holds the whole spectrum,
    whatever else the record held (the sweep's return, its turnarounds); less when a hop or an
    irregular stretch cut lines off.

    Parameters
    ----------
    cell : Cell
        The signal's cell (the fitted one for a self-calibration).
    polarisation : str or array_like
        The run's input polarisation.
    nu : numpy.ndarray
        Absolute detuning of the kept samples [MHz].
    """
    from scipy.signal import find_peaks

    cell = cell.with_(shift_MHz=0.0)
    wide = np.arange(-60000.0, 60000.0, 10.0)
    od = -np.log(np.maximum(spectrum_arrays(wide, cell, polarisation)["S0"], 1e-300))
    peaks, _ = find_peaks(od, height=0.1 * float(np.max(od)))
    if peaks.size == 0:
        return 1.0
    centres = wide[peaks]
    return float(np.mean((centres >= np.min(nu)) & (centres <= np.max(nu))))
