"""The fit stage: one joint theory fit of the runs of an experiment, with its uncertainty budget.

:func:`fit_experiment` fits the theory jointly to every run's calibrated transmission (shared
temperature and field, a small detuning offset per run) → ``results/fits/{experiment}.nc``.
Its steps: the spectra to fit (:func:`fit_inputs`), the fit
(:func:`mohilbert.fitting.fit_spectra`), each systematic input moved by its standard
uncertainty (:func:`budget_components`), the budget and total covariance
(:func:`combined_budget`), the file (:func:`fit_dataset`). :func:`fitted_cell` reads a fit
file back as the theory cell at the fitted values. The power-series fit
(:mod:`mohilbert.stages.series`) is this fit over the runs of one series.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import xarray as xr

from mohilbert import gates as quality
from mohilbert.config import schema_defaults
from mohilbert.errors import FitError
from mohilbert.parameters import PROBE_PARAMETERS, unit
from mohilbert.products import CalibratedAttrs
from mohilbert.records import EXPERIMENT_COLUMNS, Experiment, FitValues, Run, parameter_parts
from mohilbert.theory import Cell

#: the fit stage's defaults: ``fit:`` of the configuration schema
DEFAULTS = schema_defaults("fit")


def valid_points(ds: xr.Dataset) -> np.ndarray:
    ok = np.isfinite(ds["transmission"].values) & (ds["transmission_uncertainty"].values > 0)
    if "saturated" in ds:
        ok &= ds["saturated"].values == 0
    return ok


def _correlated_transmission_sigma(ds: xr.Dataset) -> np.ndarray:
    """The part of the transmission uncertainty shared by all points of a run (baseline,
    drifts), from the calibrated dataset; zero when the calibration did not record it."""
    if "optical_depth_uncertainty_correlated" not in ds:
        return np.zeros(ds.sizes["detuning"])
    t = ds["transmission"].values
    floor = np.maximum(t, ds["transmission_uncertainty"].values)
    return ds["optical_depth_uncertainty_correlated"].values * floor


#: terms of a fitted parameter's uncertainty budget, in the order they are reported
BUDGET_TERMS = {
    "statistical": "the fit's statistical error from its residuals (sandwich estimator: scaled "
    "by the reduced chi-square and by the residuals' correlation length when they exceed the "
    "stated noise), less the detector drift they show (in normalisation), never below the "
    "stated white noise",
    "normalisation": "baseline (its coefficients, its degree, and its interpolation under the "
    "lines), drifts and dark level: each run's transmission moved by its correlated "
    "calibration uncertainty (runs independent)",
    "etalon_fsr": "etalon free spectral range: every axis without a fitted scale stretched by "
    "the sheet's etalon_fsr_uncertainty_MHz (runs sharing one etalon coherently)",
    "axis_scale": "the calibration's fitted axis scale: each self-calibrated run's axis "
    "stretched by the scale's standard error (runs independent)",
    "linearisation": "scan linearisation: each run's axis displaced by its etalon fringe "
    "residuals (runs independent)",
    "cell_length": "cell length: the cell made longer by the sheet's cell_length_uncertainty_m",
}


def _fringe_displacement(ds: xr.Dataset, detuning: np.ndarray) -> np.ndarray:
    """The linearisation's error at each detuning [MHz]: the etalon fringe residuals (fringe
    frequency minus the fitted map), on the absolute axis, interpolated between fringes."""
    if "fringe_residual" not in ds or ds.sizes.get("fringe", 0) < 2:
        return np.zeros_like(detuning)
    a = CalibratedAttrs.from_dataset(ds)
    sign, scale = float(a.axis_sign), a.axis_scale
    res = ds["fringe_residual"].values
    nu = a.axis_offset_MHz + sign * scale * (ds["fringe_frequency"].values - res)
    order = np.argsort(nu)
    return np.interp(detuning, nu[order], (sign * scale * res)[order])


def _white_transmission_sigma(ds: xr.Dataset, idx: np.ndarray) -> np.ndarray:
    """The part of the transmission uncertainty independent from point to point at the grid
    points ``idx``: the stated uncertainty without its correlated part
    (:func:`_correlated_transmission_sigma`). A point none of whose neighbours is in ``idx``
    has its own white noise: a grid value interpolates between neighbouring bins' means and
    is quieter than its bin's mean (:meth:`mohilbert.calibration.grid.Binning.effective_counts`;
    0.82 of the variance on the demo's records). A point fitted beside its neighbour keeps
    the bin's noise the file states: the two share a bin, and summed over every point that
    is the noise that counts."""
    sigma = ds["transmission_uncertainty"].values[idx]
    corr = _correlated_transmission_sigma(ds)[idx]
    white = np.sqrt(np.maximum(sigma**2 - corr**2, 0.0))
    if "samples_per_point_effective" in ds and idx.size > 1:
        gap = np.diff(idx)
        alone = np.concatenate([[True], gap >= 2]) & np.concatenate([gap >= 2, [True]])
        own = np.maximum(ds["samples_per_point"].values[idx], 1)
        factor = np.sqrt(own / ds["samples_per_point_effective"].values[idx])
        white = np.where(alone, white * factor, white)
    return white


def _correlated_error_modes(ds: xr.Dataset) -> np.ndarray:
    """Shapes of a run's correlated transmission error (error_mode × detuning, each 1 σ):
    the calibration's baseline, drift and dark modes, or, for files without them, one
    uniform shift by the correlated uncertainty."""
    if "transmission_error_modes" in ds:
        return ds["transmission_error_modes"].values
    return _correlated_transmission_sigma(ds)[None, :]


#: bound on a run's residual detuning offset ``shift_MHz`` in a joint fit [MHz]. A saturated
#: run's self-calibrated axis (a weak-probe fit of its own spectrum) can be off by over
#: 150 MHz (the 1.8 mW run of the 81 °C paper series: −161 MHz, reduced χ² 358 at a ±100 MHz
#: bound, 104 without it). The local fit starts at 0 and the bound only stops it beyond: the
#: lines of a Paschen–Back spectrum (0.6 T) are ≳ 1.5 GHz apart
PER_RUN_SHIFT_BOUND_MHZ = 500.0


def fit_experiment(
    cal: dict[str, xr.Dataset],
    records: dict[str, Run | dict],
    config: dict | None = None,
    gates: dict | None = None,
    label: str | None = None,
    groups: dict[str, dict[str, object]] | None = None,
    start: dict[str, float] | None = None,
) -> xr.Dataset:
    """Joint theory fit of all runs of an experiment → Dataset for ``results/fits/{exp}.nc``.

    Steps: the spectra to fit (:func:`fit_inputs`), the joint fit
    (:func:`mohilbert.fitting.fit_spectra`), each systematic input moved by its standard
    uncertainty (:func:`budget_components`), the budget and total covariance
    (:func:`combined_budget`), the file (:func:`fit_dataset`).

    ``label`` names the group of runs in titles and messages (default: their experiment; a
    power series passes ``"series <name>"``). Runs with a ``probe_power_W`` are modelled
    beyond the weak probe (:mod:`mohilbert.intense`), and ``intensity_scale`` and
    ``transit_scale`` may be free.

    Per parameter: ``value``, an uncertainty ``budget`` (one column per term of
    :data:`BUDGET_TERMS`, each the first-order change of the best fit when that input moves
    by its standard uncertainty), ``stderr`` (the statistical term), ``stderr_systematic``
    (the other terms in quadrature), ``stderr_total`` (all in quadrature) and the total
    ``covariance`` (statistical plus one outer product per systematic component, so that
    correlated parameters stay correlated downstream).

    Parameters
    ----------
    cal : dict of str to xarray.Dataset
        Calibrated runs of the experiment (run → ``results/calibrated/{run}.nc``).
    records : dict of str to Run or dict
        Their sheet values (run → :class:`~mohilbert.records.Run` or fit-stage record).
    config : dict, optional
        ``fit:`` of the configuration (``free``, ``per_run``, ``model``, ...; defaults
        :data:`DEFAULTS`).
    gates : dict, optional
        ``gates.fit`` thresholds.
    label : str, optional
        How titles and messages name the runs.
    groups : dict, optional
        Probe parameters fitted once per group of runs: parameter → {run → group label}
        (:func:`mohilbert.fitting.fit_spectra`; a power series' detection settings).
    start : dict, optional
        Start values by parameter name (another fit's ``value``; default: the sheet's
        temperature, the field :func:`field_start` finds near the sheet's, the model's
        defaults).
    """
    from mohilbert.fitting import fit_spectra  # lmfit: only the fit rule pays its import

    cfg = {**DEFAULTS, **(config or {})}
    if not cal:
        raise FitError("no calibrated runs to fit")
    exp = Experiment.of({r: records[r] for r in cal}, label)
    label = exp.label
    cell = exp.cell()
    spectra, correlated = fit_inputs(cal, exp, cfg)
    free = {name: None for name in cfg["free"]}
    for name in PROBE_PARAMETERS:
        if name in free and all(sp.probe is None for sp in spectra):
            raise FitError(
                f"{label}: {name} is free but no run has "
                "probe_power_W (and beam_diameter_m) in the sheet"
            )
    for p in cfg["per_run"]:
        # a run's residual frequency offset (PER_RUN_SHIFT_BOUND_MHZ); other per-run
        # parameters keep their physical bounds (a scale stays > 0)
        free[p] = (-PER_RUN_SHIFT_BOUND_MHZ, PER_RUN_SHIFT_BOUND_MHZ) if p == "shift_MHz" else None
    if "field_T" in free and "field_T" not in (start or {}):
        start = {**(start or {}), "field_T": field_start(spectra, cell, exp)}
    result = fit_spectra(
        spectra, cell, free, per_spectrum=tuple(cfg["per_run"]), groups=groups, start=start
    )
    components, drift_cov = budget_components(result, spectra, correlated, cal, exp, cell)
    budget, cov = combined_budget(result, components, drift_cov)
    out = fit_dataset(result, budget, cov, cal, exp, gates)
    if any(sp.probe is not None for sp in spectra):  # the intense model: how it was propagated
        out.attrs["z_slices"] = int(cfg["z_slices"])
    return out


#: the field scan of :func:`field_start`: the sheet's field times 1 + k × step, |k| ≤ span
FIELD_SCAN_STEP = 0.005
FIELD_SCAN_SPAN = 20


def field_start(spectra: list, cell: Cell, exp: Experiment) -> float:
    """Where a fit with the field free starts it [T]: the field, of the sheet's value
    × (1 ± k :data:`FIELD_SCAN_STEP`, k ≤ :data:`FIELD_SCAN_SPAN`, i.e. ±10 % in 0.5 % steps),
    whose weak-probe spectrum at the sheet's temperature is closest (χ²) to the run of lowest
    power. A local fit from the sheet's field alone finds the lines only within about a
    Doppler width: at 0.6 T a field 5 % off moves the σ lines by ~0.4 GHz, and a simulated
    series with the sheet at 0.600 T and the truth at 0.630 T ended at 0.576 T with its
    runs' offsets at their ±500 MHz bound (χ²/N 402); from the scan's 0.630 T it found
    0.62954 ± 0.00014 T (χ²/N 0.85). The scan costs 41 weak-probe spectra of one run.
    Zero field: the sheet's value.

    Parameters
    ----------
    spectra : list of FitSpectrum
        The fit's spectra (:func:`fit_inputs`).
    cell : Cell
        The sheet's cell.
    exp : Experiment
        The runs' sheet values (their probe powers: the lowest is scanned).
    """
    from mohilbert.theory import spectrum_arrays

    if not cell.field_T > 0:
        return float(cell.field_T)
    power = [exp[sp.name].probe_power_W or 0.0 for sp in spectra]
    sp = spectra[int(np.argmin(power))]
    weight = 1.0 / np.asarray(sp.sigma, float) if sp.sigma is not None else 1.0
    run_cell = cell.with_(**sp.cell_overrides)
    fields = cell.field_T * (1 + FIELD_SCAN_STEP * np.arange(-FIELD_SCAN_SPAN, FIELD_SCAN_SPAN + 1))
    chi2 = [
        np.sum(
            (
                (
                    spectrum_arrays(sp.detuning_MHz, run_cell.with_(field_T=b), sp.polarisation)[
                        sp.quantity
                    ]
                    - sp.data
                )
                * weight
            )
            ** 2
        )
        for b in fields
    ]
    return float(fields[int(np.argmin(chi2))])


def fit_inputs(cal: dict[str, xr.Dataset], exp: Experiment, cfg: dict):
    """The spectra of a joint fit (each run's valid points, decimated to
    ``max_points_per_run``, with its probe where the intense model applies) and each run's
    correlated error shapes on those points.

    Parameters
    ----------
    cal : dict of str to xarray.Dataset
        Calibrated runs (run → dataset).
    exp : Experiment
        The runs' sheet values.
    cfg : dict
        The fit configuration (``max_points_per_run``, ``model``, ``z_slices``).
    """
    from mohilbert.fitting import FitSpectrum

    spectra, correlated = [], []
    for run in sorted(cal):
        ds, rec = cal[run], exp[run]
        ok = valid_points(ds)
        idx = np.flatnonzero(ok)
        if idx.size < 20:
            raise FitError(f"run {run}: fewer than 20 usable points to fit")
        idx = idx[
            np.linspace(0, idx.size - 1, min(idx.size, cfg["max_points_per_run"])).astype(int)
        ]
        spectra.append(
            FitSpectrum(
                detuning_MHz=ds["detuning"].values[idx],
                data=ds["transmission"].values[idx],
                quantity="S0",
                polarisation=rec.polarisation,
                sigma=ds["transmission_uncertainty"].values[idx],
                sigma_white=_white_transmission_sigma(ds, idx),
                name=run,
                probe=rec.probe(cfg["z_slices"]) if cfg["model"] == "auto" else None,
            )
        )
        correlated.append(_correlated_error_modes(ds)[:, idx])
    return spectra, correlated


def budget_components(result, spectra, correlated, cal, exp: Experiment, cell):
    """Each systematic input moved by its standard uncertainty and the parameters' response
    to first order (one model evaluation each; the fit's Jacobian does the rest): baseline
    shapes and dark level, axis scale, linearisation, etalon FSR, cell length; and each
    run's detector-drift covariance.

    Parameters
    ----------
    result : FitResult
        The joint fit (:func:`mohilbert.fitting.fit_spectra`).
    spectra : list of FitSpectrum
        The fitted spectra.
    correlated : list of numpy.ndarray
        Per spectrum, its correlated error shapes on the fitted points (transmission units).
    cal : dict of str to xarray.Dataset
        Calibrated runs (their axis-scale and drift attributes).
    exp : Experiment
        The runs' sheet values (etalon FSR, cell-length uncertainty).
    cell : Cell
        The nominal cell of the fit.
    """
    runs = sorted(cal)
    free_names = result.free
    components: dict[str, list[np.ndarray]] = {t: [] for t in BUDGET_TERMS if t != "statistical"}

    def response(**changed) -> np.ndarray:
        d = result.input_response(**changed)
        return np.array([d[n] for n in free_names])

    fsr_scales, drift_cov = [], []
    for k, run in enumerate(runs):
        calibrated = CalibratedAttrs.from_dataset(cal[run])
        drift = calibrated.correlated_noise_relative
        if drift > 0:
            # detector drifts: a random smooth error of rms `drift` with the correlation
            # length the calibration measured where the cell is transparent
            length = calibrated.correlated_noise_length_MHz
            slow = min(max(calibrated.correlated_noise_slow_fraction, 0.0), 1.0)
            drift_cov.append(result.drift_covariance_response(k, drift * np.sqrt(1 - slow), length))
            if slow > 0:  # its part correlated over GHz (1/f, window fringes)
                drift_cov.append(
                    result.drift_covariance_response(
                        k, drift * np.sqrt(slow), calibrated.correlated_noise_slow_length_MHz
                    )
                )
        for mode in correlated[k]:
            moved = list(spectra)
            moved[k] = replace(spectra[k], data=spectra[k].data + mode)
            components["normalisation"].append(response(spectra=moved))
        axis = calibrated.axis_uncertainty()
        term, u = axis.scale_term, axis.scale_relative
        if term == "axis_scale" and u > 0:
            moved = list(spectra)
            moved[k] = replace(spectra[k], detuning_MHz=spectra[k].detuning_MHz * (1 + u))
            components["axis_scale"].append(response(spectra=moved))
        fsr_scales.append(u if term == "etalon_fsr" else 0.0)
        shift = _fringe_displacement(cal[run], spectra[k].detuning_MHz)
        if np.any(shift):
            moved = list(spectra)
            moved[k] = replace(spectra[k], detuning_MHz=spectra[k].detuning_MHz + shift)
            components["linearisation"].append(response(spectra=moved))
    if any(fsr_scales):
        moved = [
            replace(sp, detuning_MHz=sp.detuning_MHz * (1 + u))
            for sp, u in zip(spectra, fsr_scales, strict=True)
        ]
        components["etalon_fsr"].append(response(spectra=moved))
    u_len = float(exp.first.cell_length_uncertainty_m or 0.0)
    if u_len > 0:
        cells = [
            cell.with_(length_m=cell.length_m + u_len).with_(**sp.cell_overrides) for sp in spectra
        ]
        components["cell_length"].append(response(cells=cells))

    return components, drift_cov


def statistical_without_drift(result, drift_cov) -> np.ndarray:
    """The fit's statistical covariance without the detector drift its residuals show.

    The sandwich estimator reads the drift in the residuals as noise, and the drift's own
    covariance (``drift_cov``, in the normalisation term) counts it again: the two are
    estimates of one error. Per parameter the statistical variance is the sandwich's less
    the drift's, never below the stated white noise's (``result.covariance_white``); the
    covariance is scaled along each parameter's axis. Measured on simulated campaigns
    (200 weak-probe, 50 series through the chain): the field's RMS pull 0.89 → 0.96
    and 0.85 → 0.88, the temperature's 0.96 → 0.97 and 0.99 → 1.02.

    Parameters
    ----------
    result : FitResult
        The joint fit (its statistical and white-noise covariances).
    drift_cov : list of numpy.ndarray
        Per run, the parameters' covariance from its detector drift.
    """
    stat = result.covariance
    if not drift_cov or result.covariance_white is None:
        return stat
    d = np.diag(stat)
    target = np.maximum(d - np.diag(sum(drift_cov)), np.diag(result.covariance_white))
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.sqrt(np.clip(target / d, 0.0, 1.0))
    factor = np.where(np.isfinite(factor), factor, 1.0)
    return stat * np.outer(factor, factor)


def combined_budget(result, components, drift_cov):
    """Budget (free parameters × :data:`BUDGET_TERMS`) and total covariance: the
    statistical covariance plus one outer product per systematic component.

    Parameters
    ----------
    result : FitResult
        The joint fit (its statistical covariance).
    components : dict of str to list of numpy.ndarray
        Budget term → parameter changes for each systematic component (:func:`budget_components`).
    drift_cov : list of numpy.ndarray
        Per run, the parameters' covariance from its detector drift.
    """
    free_names = result.free
    n_free = len(free_names)
    stat = statistical_without_drift(result, drift_cov)
    cov = np.nan_to_num(stat, nan=0.0).copy()
    budget = np.zeros((n_free, len(BUDGET_TERMS)))
    budget[:, 0] = np.sqrt(np.clip(np.diag(stat), 0, None))
    for c in drift_cov:
        cov += c
        budget[:, 1] = np.hypot(budget[:, 1], np.sqrt(np.clip(np.diag(c), 0, None)))
    for j, term in enumerate(BUDGET_TERMS):
        if term == "statistical":
            continue
        for dp in components[term]:
            cov += np.outer(dp, dp)
            budget[:, j] = np.hypot(budget[:, j], dp)
    return budget, cov


def fit_dataset(result, budget, cov, cal, exp: Experiment, gates) -> xr.Dataset:
    """The fit file: values, budget, statistical/systematic/total uncertainties, covariance,
    best-fit curves, the runs' etalon FSRs, the nominal sheet values and every warning.

    Parameters
    ----------
    result : FitResult
        The joint fit.
    budget : numpy.ndarray
        Free parameters × :data:`BUDGET_TERMS` standard uncertainties (parameter units).
    cov : numpy.ndarray
        Total covariance of the free parameters.
    cal : dict of str to xarray.Dataset
        Calibrated runs (their warnings and etalon FSRs).
    exp : Experiment
        The runs' sheet values.
    gates : dict or None
        ``gates.fit`` thresholds.
    """
    from mohilbert.fitting import tie_rows

    runs = sorted(cal)
    out = result.to_dataset()
    names = out["parameter"].values.tolist()
    free_names = result.free
    pos = [names.index(n) for n in free_names]
    full_budget = np.zeros((len(names), len(BUDGET_TERMS)))
    full_budget[pos] = budget
    full_cov = np.zeros((len(names), len(names)))
    full_cov[np.ix_(pos, pos)] = cov
    # a parameter tied to its group's carries that one's budget and covariance
    for tied, owner in result.ties.items():
        full_budget[names.index(tied)] = full_budget[names.index(owner)]
    full_cov = tie_rows(full_cov, names, result.ties)
    systematic = np.sqrt(np.sum(full_budget[:, 1:] ** 2, axis=1))
    out = out.assign_coords(
        term=(
            "term",
            list(BUDGET_TERMS),
            {"units": "1", "long_name": "uncertainty-budget term (see attrs budget_terms_json)"},
        )
    )
    out["budget"] = (
        ("parameter", "term"),
        full_budget,
        {
            "units": "see parameter_units",
            "long_name": "uncertainty budget: the standard uncertainty each term contributes",
        },
    )
    out["stderr"].values = full_budget[:, 0]
    out["stderr_systematic"].values = systematic
    out["stderr_systematic"].attrs["long_name"] = (
        "systematic uncertainty (budget terms other than statistical, in quadrature)"
    )
    out["stderr_total"].values = np.sqrt(np.diag(full_cov))
    out["covariance"] = (
        ("parameter", "parameter2"),
        full_cov,
        {"units": "see parameter_units (product)", "long_name": "total covariance matrix"},
    )
    nominal = np.sqrt(np.clip(np.diag(result.covariance_nominal), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        inflation = budget[:, 0] / nominal
    out.attrs.update(
        title=f"joint theory fit of {exp.label}",
        experiment=exp.first.experiment,
        runs=", ".join(runs),
        budget_terms_json=json.dumps(BUDGET_TERMS),
        statistical_inflation_json=json.dumps(
            dict(zip(free_names, np.round(inflation, 4).tolist(), strict=True))
        ),
        statistical_note=(
            f"reduced chi-square {result.redchi:.3g}: statistical errors are "
            f"{np.nanmax(inflation):.3g} x those of the stated noise at most "
            "(sandwich estimator of the residuals' scatter and correlation)"
            if np.nanmax(inflation) > 1.05
            else f"reduced chi-square {result.redchi:.3g}: residuals consistent with the "
            "stated noise"
        ),
        cell_json=json.dumps(
            {k: (v if not isinstance(v, dict) else v) for k, v in vars(result.cell).items()},
            default=str,
        ),
    )
    out["unit"] = (
        "parameter",
        [unit(q) for q, _ in parameter_parts(out)],
        {"units": "1", "long_name": "unit of the parameter's value and uncertainties"},
    )
    calibrated = {run: CalibratedAttrs.from_dataset(cal[run]) for run in runs}
    out.attrs["etalon_fsr_json"] = json.dumps(
        {
            run: {
                "sheet_MHz": c.etalon_fsr_sheet_MHz,
                "fitted_MHz": c.etalon_fsr_fitted_MHz,
                "fitted_uncertainty_MHz": c.etalon_fsr_fitted_uncertainty_MHz,
            }
            for run, c in calibrated.items()
        }
    )
    out.attrs["nominal_json"] = json.dumps(
        {c: getattr(exp.first, c) for c in EXPERIMENT_COLUMNS}, sort_keys=True, default=str
    )
    warnings = [w for run in runs for w in quality.read(cal[run].attrs)]
    weak = all(sp.probe is None for sp in result.spectra)
    warnings += _fit_gates(exp, result, weak, gates)
    quality.store(out.attrs, warnings)
    return out


def fitted_cell(experiment: Experiment | dict, fit: xr.Dataset) -> tuple[Cell, dict[str, float]]:
    """The experiment's cell with the fitted shared values, and each run's fitted shift [MHz].

    ``experiment``: an :class:`~mohilbert.records.Experiment` or its records (run → record).
    """
    exp = Experiment.coerce(experiment)
    values = FitValues.of(fit)
    cell_values = {
        k: v
        for k, v in values.shared.items()
        if not k.startswith("jones_") and k not in (*PROBE_PARAMETERS, "shift_MHz")
    }
    shifts = {r: values.of_run("shift_MHz", r) for r in exp.names}
    return exp.cell().with_fitted(cell_values), shifts


def _fit_gates(exp: Experiment, result, weak: bool, gates: dict | None) -> list:
    """The fit's gates: its reduced χ² (:func:`mohilbert.gates.fit_warnings`) and its free
    parameters' bounds (:func:`mohilbert.gates.bound_warnings`). A weak-probe fit (``weak``:
    ``fit.model: weak_probe``) of runs of a power series is judged by the series, which fits
    them with the intense-probe model and says per run whether the weak probe holds: here
    its misfit (a saturated run's χ², or its offset driven to the bound by line shapes the
    weak probe does not have) is a note, not a fault."""
    thresholds = quality.thresholds("fit", {"gates": gates})
    found = quality.fit_warnings(exp.label, result.redchi, thresholds)
    found += quality.bound_warnings(
        exp.label, result.values, result.stderr, result.bounds, thresholds
    )
    series_runs = all(exp[r].probe_power_W and exp[r].series for r in exp.names)
    if not weak or not series_runs:
        return found
    why = (
        "; these runs have a probe power and a power series: its intense-probe fit says per "
        "run whether the weak probe holds (series file, weak_probe_holds)"
    )
    return [replace(w, severity="note", message=w.message + why) for w in found]
