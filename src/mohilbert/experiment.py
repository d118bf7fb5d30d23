"""One experiment = the runs taken together (σ+ and σ− in one field; ∥ and ⊥ in Voigt).

:func:`fit_experiment` fits the theory jointly to every run's calibrated transmission (shared
temperature and field, a small detuning offset per run). :func:`hilbert_experiment` applies the
Kramers–Kronig analysis to each eigen-polarisation run and combines them into the rotation
(Faraday) or retardance (Voigt): measured indirectly, from theory at the fitted parameters, and
directly from a polarimeter run when the experiment has one. :func:`summary_table` flattens the
results of all experiments into one table (``results/summary.csv``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import xarray as xr

from mohilbert import gates as quality
from mohilbert.atoms.constants import get_line
from mohilbert.config import schema_defaults
from mohilbert.errors import AnalysisError, FitError
from mohilbert.formatting import rounded
from mohilbert.intense import PROBE_PARAMETERS
from mohilbert.kramers_kronig import (
    agreement,
    faraday_rotation_direct,
    group_index,
    index_from_od,
    voigt_retardance_direct,
)
from mohilbert.records import Experiment, FitValues, Run, parameter_parts
from mohilbert.theory import Cell, spectrum


@dataclass(frozen=True)
class Geometry:
    """A field geometry of the Hilbert analysis: its pair of eigen-modes and how their two
    indices combine into the magneto-optical quantity.

    Attributes
    ----------
    modes : tuple of str
        The eigen-modes (a, b), in the order the quantity is b − a.
    quantity, label : str
        Variable stem (``rotation`` / ``retardance``) and its words.
    coefficient : float
        Quantity = coefficient · kL · Re(n_b − n_a) [rad]: 1/2 for the Faraday rotation,
        1 for the Voigt retardance.
    dichroism, dichroism_label : str
        Name and words of OD(a) − OD(b).
    direct : callable
        The angle from the polarimeter signal and the two transmissions.
    angle_multiple : int
        The polarimeter measures sin(angle_multiple · angle) √(T_a T_b): 2 (S2, Faraday),
        1 (S3, Voigt).
    """

    modes: tuple[str, str]
    quantity: str
    label: str
    coefficient: float
    dichroism: str
    dichroism_label: str
    direct: object
    angle_multiple: int


GEOMETRIES = {
    "faraday": Geometry(
        ("sigma_plus", "sigma_minus"),
        "rotation",
        "Faraday rotation",
        0.5,  # (kL/2) Re(n_sigma- - n_sigma+)
        "circular_dichroism",
        "circular dichroism OD(sigma+) - OD(sigma-)",
        faraday_rotation_direct,
        2,
    ),
    "voigt": Geometry(
        ("parallel", "perpendicular"),
        "retardance",
        "Voigt retardance",
        1.0,  # kL Re(n_perp - n_par)
        "linear_dichroism",
        "linear dichroism OD(parallel) - OD(perpendicular)",
        voigt_retardance_direct,
        1,
    ),
}

#: per-mode variables of the Hilbert file: units, long name
MODE_VARIABLES = {
    "index": ("1", "Re(n) - 1 from the Hilbert transform of the measured optical depth"),
    "index_uncertainty": (
        "1",
        "standard uncertainty of the measured Re(n) - 1 (noise, calibration, frequency "
        "axis, wing model and truncation in quadrature)",
    ),
    "theory_index": ("1", "Re(n) - 1 of the theory at the fitted parameters"),
    "group_index": ("1", "group index from the measured index"),
    "theory_group_index": ("1", "group index of the theory"),
    "optical_depth": ("1", "measured optical depth"),
    "optical_depth_uncertainty": ("1", "standard uncertainty of the optical depth"),
    "theory_optical_depth": ("1", "theory optical depth at the fitted parameters"),
    "filled": ("1", "1 where a saturated point was filled from the theory"),
    "edge": ("1", "1 where the truncation bound exceeds the other index uncertainty terms"),
    "index_model_uncertainty": (
        "1",
        "part of the index uncertainty from the fitted wing model (covariance axes)",
    ),
    "truncation_bound": (
        "1",
        "bound on the index error from the finite scan window (edge residual level)",
    ),
}

MODE_PAIRS = {
    **{name: geo.modes for name, geo in GEOMETRIES.items()},
    "zero_field": ("isotropic",),  # B = 0: every polarisation sees the same index
}

#: the fit and Hilbert stages' defaults: ``fit:`` and ``hilbert:`` of the configuration schema
DEFAULTS = {**schema_defaults("fit"), **schema_defaults("hilbert")}


def _valid(ds: xr.Dataset) -> np.ndarray:
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
    "stated noise)",
    "normalisation": "baseline, drifts and dark level: each run's transmission moved by its "
    "correlated calibration uncertainty (runs independent)",
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
    a = ds.attrs
    sign, scale = float(a.get("axis_sign", 1)), float(a.get("axis_scale", 1.0))
    res = ds["fringe_residual"].values
    nu = float(a.get("axis_offset_MHz", 0.0)) + sign * scale * (ds["fringe_frequency"].values - res)
    order = np.argsort(nu)
    return np.interp(detuning, nu[order], (sign * scale * res)[order])


def _axis_scale_uncertainty(ds: xr.Dataset, rec: Run) -> tuple[str, float]:
    """Which axis-scale term applies to a run and its relative standard uncertainty."""
    a = ds.attrs
    if int(a.get("axis_scale_fitted", 0)):
        return "axis_scale", float(a.get("axis_scale_stderr", 0.0)) / float(a["axis_scale"])
    fsr = float(rec.etalon_fsr_MHz or 0.0)
    u = float(rec.etalon_fsr_uncertainty_MHz or 0.0)
    return "etalon_fsr", (u / fsr if fsr > 0 else 0.0)


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
    result = fit_spectra(spectra, cell, free, per_spectrum=tuple(cfg["per_run"]), groups=groups)
    components, drift_cov = budget_components(result, spectra, correlated, cal, exp, cell)
    budget, cov = combined_budget(result, components, drift_cov)
    out = fit_dataset(result, budget, cov, cal, exp, gates)
    if any(sp.probe is not None for sp in spectra):  # the intense model: how it was propagated
        out.attrs["z_slices"] = int(cfg["z_slices"])
    return out


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
        ok = _valid(ds)
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
        drift = float(cal[run].attrs.get("correlated_noise_relative", 0.0))
        if drift > 0:
            # detector drifts: a random smooth error of rms `drift` with the correlation
            # length the calibration measured where the cell is transparent
            length = float(cal[run].attrs.get("correlated_noise_length_MHz", 10.0))
            drift_cov.append(result.drift_covariance_response(k, drift, length))
        for mode in correlated[k]:
            moved = list(spectra)
            moved[k] = replace(spectra[k], data=spectra[k].data + mode)
            components["normalisation"].append(response(spectra=moved))
        term, u = _axis_scale_uncertainty(cal[run], exp[run])
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
    cov = np.nan_to_num(result.covariance, nan=0.0).copy()
    budget = np.zeros((n_free, len(BUDGET_TERMS)))
    budget[:, 0] = np.sqrt(np.clip(np.diag(result.covariance), 0, None))
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
        [_parameter_unit(q) for q, _ in parameter_parts(out)],
        {"units": "1", "long_name": "unit of the parameter's value and uncertainties"},
    )
    out.attrs["etalon_fsr_json"] = json.dumps(
        {
            run: {
                "sheet_MHz": float(cal[run].attrs.get("etalon_fsr_sheet_MHz", np.nan)),
                "fitted_MHz": float(cal[run].attrs.get("etalon_fsr_fitted_MHz", np.nan)),
                "fitted_uncertainty_MHz": float(
                    cal[run].attrs.get("etalon_fsr_fitted_uncertainty_MHz", np.nan)
                ),
            }
            for run in runs
        }
    )
    from mohilbert.runs import EXPERIMENT_COLUMNS

    out.attrs["nominal_json"] = json.dumps(
        {c: getattr(exp.first, c) for c in EXPERIMENT_COLUMNS}, sort_keys=True, default=str
    )
    warnings = [w for run in runs for w in quality.read(cal[run].attrs)]
    warnings += quality.fit_warnings(
        exp.label, result.redchi, quality.thresholds("fit", {"gates": gates})
    )
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


def _stderr(fit: xr.Dataset, quantity: str, run: str = "") -> float:
    """Total 1-sigma uncertainty of a fitted quantity, shared (``run`` empty) or of ``run``
    (0 when absent or undefined)."""
    parts = parameter_parts(fit)
    if (quantity, run) not in parts:
        return 0.0
    value = float(fit["stderr_total"].values[parts.index((quantity, run))])
    return value if np.isfinite(value) else 0.0


_BOUNDS = {"field_T": (0.0, np.inf), "length_m": (1e-9, np.inf), "gamma_buffer_MHz": (0.0, np.inf)}


def _covariance_axes(fit: xr.Dataset, cell: Cell, shifts: dict[str, float], runs: list[str]):
    """± 1 σ steps along each principal axis of the fit's covariance of the parameters that
    shape the theory of ``runs`` (the shared ones and those runs' shifts).

    Yields, per axis, a pair (plus, minus) of dicts run → cell, with an extra entry ``None``:
    the cell at the runs' mean shift (the theory the rotation or retardance is compared to).
    Summing a linear response over the axes in quadrature gives its variance
    :math:`g^T C g`.
    """
    if "covariance" not in fit:
        return
    parts = parameter_parts(fit)
    values = fit["value"].values
    own = [
        i
        for i, (q, r) in enumerate(parts)
        if (not r or (q == "shift_MHz" and r in runs)) and not q.startswith("jones_")
    ]
    cov = fit["covariance"].values[np.ix_(own, own)]
    if not np.any(cov):
        return
    lam, vec = np.linalg.eigh(cov)
    for k in range(lam.size):
        if lam[k] <= 0:
            continue
        step = np.sqrt(lam[k]) * vec[:, k]
        pair = []
        for sign in (1.0, -1.0):
            changes, run_shift = {}, dict(shifts)
            for j, i in enumerate(own):
                (quantity, run), v = parts[i], float(values[i] + sign * step[j])
                lo, hi = _BOUNDS.get(quantity, (-np.inf, np.inf))
                if quantity.startswith("percent_"):
                    lo, hi = 0.0, 100.0
                v = float(np.clip(v, lo, hi))
                if quantity == "shift_MHz" and run:
                    run_shift[run] = v
                elif quantity == "shift_MHz":
                    run_shift = dict.fromkeys(run_shift, v)
                else:
                    changes[quantity] = v
            base = cell.with_fitted(changes)
            cells = {r: base.with_(shift_MHz=run_shift[r]) for r in runs}
            cells[None] = base.with_(shift_MHz=float(np.mean([run_shift[r] for r in runs])))
            pair.append(cells)
        yield pair


def _common_grid(cal: dict[str, xr.Dataset], runs: list[str]) -> np.ndarray:
    step = float(cal[runs[0]]["detuning"].values[1] - cal[runs[0]]["detuning"].values[0])
    lo = max(float(cal[r]["detuning"].values.min()) for r in runs)
    hi = min(float(cal[r]["detuning"].values.max()) for r in runs)
    if hi - lo < 20 * step:
        raise AnalysisError(f"runs {runs} do not overlap in detuning ({lo:.0f}..{hi:.0f} MHz)")
    return np.round(np.arange(np.ceil(lo / step) * step, hi + step / 2, step), 9)


def _on(ds: xr.Dataset, name: str, grid: np.ndarray) -> np.ndarray:
    return ds[name].interp(detuning=grid).values


def hilbert_experiment(
    cal: dict[str, xr.Dataset],
    records: dict[str, Run | dict],
    fit: xr.Dataset,
    config: dict | None = None,
    gates: dict | None = None,
    series: dict[str, xr.Dataset] | None = None,
) -> xr.Dataset:
    """Kramers–Kronig analysis of one experiment → Dataset for ``results/hilbert/{exp}.nc``.

    Steps: pick one run per eigen-mode (:func:`eigen_mode_runs`); per mode, the index from
    the Hilbert transform with its uncertainty (:func:`mode_index`); for a pair of modes, the
    rotation (Faraday) or retardance (Voigt) they imply (:func:`combined_quantity`) and its
    direct measurement by a polarimeter run (:func:`direct_quantity`); one dataset with the
    agreement metrics and the quality gates (:func:`hilbert_dataset`).

    Carries the fit's warnings and adds the Hilbert gate's (:mod:`mohilbert.gates`).
    ``series`` maps a run to its power-series fit (:func:`mohilbert.power_series.fit_series`):
    where that says the weak-probe assumption does not hold for the run, its optical depth is
    not transformed (``saturated_runs="refuse"``: left out, and an error if no run is left) or
    is first linearised with the intense-probe model (``"linearise"``:
    OD − OD_intense + OD_weak at the series' fitted parameters) — never silently the
    saturated one.

    Parameters
    ----------
    cal : dict of str to xarray.Dataset
        Calibrated runs of the experiment (run → dataset).
    records : dict of str to Run or dict
        Their sheet values (run → :class:`~mohilbert.records.Run` or hilbert-stage record).
    fit : xarray.Dataset
        The experiment's joint fit (``results/fits/{exp}.nc``).
    config : dict, optional
        ``hilbert:`` of the configuration (defaults :data:`DEFAULTS`).
    gates : dict, optional
        ``gates.hilbert`` thresholds.
    series : dict of str to xarray.Dataset, optional
        Run → its power-series fit, where it has one.
    """
    cfg = {**DEFAULTS, **(config or {})}
    experiment = Experiment.of({r: records[r] for r in cal})
    exp = experiment.first.experiment
    refused, linearise = _saturated_runs(exp, sorted(cal), series or {}, cfg["saturated_runs"])
    cal = {r: ds for r, ds in cal.items() if r not in refused}
    geometry = experiment.first.geometry
    cell, shifts = fitted_cell(experiment, fit)
    mode_runs = eigen_mode_runs(exp, geometry, cal, experiment)
    modes = list(mode_runs)
    grid = _common_grid(cal, list(mode_runs.values()))
    axes = list(_covariance_axes(fit, cell, shifts, list(mode_runs.values())))
    per_mode = {}
    for m, run in mode_runs.items():
        od_correction = None
        if run in linearise:
            od_correction = _saturation_od(series[run], cal[run], experiment[run], grid)
        per_mode[m] = mode_index(
            m,
            run,
            cal[run],
            grid,
            cell,
            shifts[run],
            _stderr(fit, "shift_MHz", run),
            axes,
            cfg,
            od_correction,
        )
    out = {
        k: (
            ("mode", "detuning"),
            np.asarray(
                [per_mode[m][k] for m in modes], dtype=np.int8 if k in ("filled", "edge") else float
            ),
            {"units": units, "long_name": text},
        )
        for k, (units, text) in MODE_VARIABLES.items()
    }
    metrics = {f"index_{m}": per_mode[m]["metrics"] for m in modes}
    geo = GEOMETRIES.get(geometry)
    if len(modes) == 2 and geo is not None:
        valid = ~np.any(out["edge"][1] > 0, axis=0) & ~np.any(out["filled"][1] > 0, axis=0)
        combo = combined_quantity(geo, per_mode, axes, grid, cell, shifts, mode_runs, valid)
        out.update(combo.variables)
        metrics.update(combo.metrics)
        pol_runs = [r for r in sorted(cal) if "polarimeter" in cal[r]]
        if pol_runs:
            direct = direct_quantity(
                geo,
                cal[pol_runs[0]],
                pol_runs[0],
                per_mode,
                grid,
                cell,
                shifts[pol_runs[0]],
                combo,
                valid,
            )
            out.update(direct.variables)
            metrics.update(direct.metrics)
    out["run"] = (
        "mode",
        np.array([mode_runs[m] for m in modes], dtype=str),
        {"units": "1", "long_name": "run that measured the eigen-mode"},
    )
    notes = [refused[r] for r in sorted(refused)] + [linearise[r] for r in sorted(linearise)]
    return hilbert_dataset(
        out,
        grid=grid,
        mode_runs=mode_runs,
        exp=exp,
        geometry=geometry,
        cell=cell,
        cfg=cfg,
        metrics=metrics,
        warnings=quality.read(fit.attrs) + notes,
        gates=gates,
        saturated={"refused": sorted(refused), "linearised": sorted(linearise)},
    )


def eigen_mode_runs(
    exp: str, geometry: str, cal: dict[str, xr.Dataset], experiment: Experiment
) -> dict[str, str]:
    """The run measuring each eigen-mode of an experiment (mode → run, in the geometry's
    mode order); polarimeter runs are not eigen-mode runs.

    Parameters
    ----------
    exp : str
        Experiment id, for messages.
    geometry : str
        ``"faraday"``, ``"voigt"`` or ``"zero_field"``.
    cal : dict of str to xarray.Dataset
        Calibrated runs (a polarimeter channel marks a polarimeter run).
    experiment : Experiment
        The runs' sheet values (their polarisations).

    Raises
    ------
    AnalysisError
        Two runs of one eigen-polarisation, or none at all.
    """
    names = MODE_PAIRS.get(geometry, ())
    found = {}
    for run in sorted(cal):
        pol = "isotropic" if geometry == "zero_field" else experiment[run].polarisation
        if pol in names and "polarimeter" not in cal[run]:
            if pol in found:
                # never drop a run silently: which one is "the" spectrum is the user's call
                raise AnalysisError(
                    f"experiment {exp}: runs {found[pol]} and {run} are both {pol}; the "
                    "Hilbert analysis takes one run per eigen-polarisation: put repeated or "
                    "other-power scans in experiments of their own (column 'experiment')"
                )
            found[pol] = run
    if not found:
        raise AnalysisError(
            f"experiment {exp}: no eigen-polarisation run ({' or '.join(names) or 'faraday/voigt geometry'}); "
            "the Hilbert analysis needs sigma_plus/sigma_minus (Faraday) or parallel/perpendicular (Voigt) runs"
        )
    return {m: found[m] for m in names if m in found}


def _theory_mode_index(theory: xr.Dataset, mode: str) -> int:
    index = {str(m): i for i, m in enumerate(theory["mode"].values)}
    return index.get(mode, 0)  # isotropic (B = 0): every mode is the first


def mode_index(
    mode: str,
    run: str,
    ds: xr.Dataset,
    grid: np.ndarray,
    cell: Cell,
    shift_MHz: float,
    shift_stderr_MHz: float,
    axes: list,
    cfg: dict,
    od_correction: np.ndarray | None = None,
) -> dict:
    """Re(n) − 1 of one eigen-mode from its calibrated run, with every uncertainty term.

    Parameters
    ----------
    mode : str
        The eigen-mode (``sigma_plus``, ``parallel``, ...).
    run : str
        The run that measured it (its key in ``axes``).
    ds : xarray.Dataset
        The run's calibrated file.
    grid : ndarray
        Common detuning grid [MHz].
    cell : Cell
        The fitted cell.
    shift_MHz : float
        The run's fitted detuning shift [MHz].
    shift_stderr_MHz : float
        Its standard uncertainty [MHz].
    axes : list
        Parameter sets (+, −) on the axes of the fit's covariance (per run), for the wing
        model's uncertainty.
    cfg : dict
        The ``hilbert`` configuration (``pad_factor``, ``edge_fraction``,
        ``wing_subtraction``).
    od_correction : ndarray, optional
        Subtracted from the measured OD first (OD_intense − OD_weak of a linearised run).

    Returns
    -------
    dict
        Arrays named as :data:`MODE_VARIABLES`, ``axis_index`` (the index's change along
        each covariance axis) and ``metrics`` (agreement with the theory).
    """
    ln = get_line(cell.element, cell.line)
    kL = 2 * np.pi / ln.wavelength_m * cell.length_m
    run_theory = spectrum(grid, cell.with_(shift_MHz=shift_MHz), "x")
    which = _theory_mode_index(run_theory, mode)
    n_mode = run_theory["n"].values[which]
    od = _on(ds, "optical_depth", grid)
    sig = _on(ds, "optical_depth_uncertainty", grid)
    sig_c = None
    if "optical_depth_uncertainty_correlated" in ds:
        sig_c = _on(ds, "optical_depth_uncertainty_correlated", grid)
    sat = _on(ds, "saturated", grid) > 0.5
    if od_correction is not None:
        od = od - od_correction
    model_od = 2 * kL * n_mode.imag
    model_idx = n_mode.real - 1
    use_wings = bool(cfg["wing_subtraction"])
    # without wing subtraction the model OD only fills saturated points
    res = index_from_od(
        grid,
        od,
        kL,
        od_sigma=sig,
        od_sigma_correlated=sig_c,
        model_od=model_od,
        model_index=model_idx,
        subtract_model=use_wings,
        saturated=sat,
        pad_factor=cfg["pad_factor"],
        edge_fraction=cfg["edge_fraction"],
    )
    # the wing model's own uncertainty: the transform repeated with the theory at
    # parameter sets on the axes of the fit's covariance (± 1 sigma each)
    model_sigma = np.zeros(grid.size)
    axis_index = []
    for plus, minus in axes:
        pair = []
        for c in (plus[run], minus[run]):
            n_c = spectrum(grid, c, "x")["n"].values[which]
            pair.append(
                index_from_od(
                    grid,
                    od,
                    kL,
                    model_od=2 * kL * n_c.imag,
                    model_index=n_c.real - 1,
                    subtract_model=use_wings,
                    saturated=sat,
                    pad_factor=cfg["pad_factor"],
                )["index"]
            )
        axis_index.append(0.5 * (pair[0] - pair[1]))
        model_sigma = np.hypot(model_sigma, axis_index[-1])
    # frequency-axis uncertainty of the calibration (linearisation, offset, per-run shift)
    a = ds.attrs
    sigma_nu = float(
        np.sqrt(
            np.nansum(
                [
                    a.get("linearisation_rms_MHz", 0.0) ** 2,
                    a.get("axis_offset_stderr_MHz", 0.0) ** 2,
                    shift_stderr_MHz**2,
                    # the run's fitted shift itself measures how far the calibrated axis is off
                    shift_MHz**2,
                ]
            )
        )
    )
    slope = np.gradient(model_idx, grid)
    known = np.sqrt(res["index_uncertainty"] ** 2 + (slope * sigma_nu) ** 2 + model_sigma**2)
    # the truncation estimate is evidence of its own (the data's misfit at the window
    # edges), independent of the covariance: it enters in quadrature, and points where it
    # dominates are flagged
    total_sigma = np.hypot(known, res["truncation_bound"])
    edge = res["truncation_bound"] > known
    k_edge = int(round(cfg["edge_fraction"] * grid.size))
    if k_edge:
        edge[:k_edge] = edge[-k_edge:] = True
    valid = ~edge & ~res["filled"]
    return {
        "index": res["index"],
        "index_uncertainty": total_sigma,
        "theory_index": model_idx,
        "group_index": group_index(grid, res["index"], ln.frequency_Hz),
        "theory_group_index": group_index(grid, model_idx, ln.frequency_Hz, window=5),
        "optical_depth": od,
        "optical_depth_uncertainty": sig,
        "theory_optical_depth": model_od,
        "filled": res["filled"],
        "edge": edge,
        "index_model_uncertainty": model_sigma,
        "truncation_bound": res["truncation_bound"],
        "axis_index": axis_index,
        "metrics": agreement(res["index"], model_idx, total_sigma, valid),
    }


@dataclass
class Quantity:
    """Variables of the Hilbert file (name → (dims, values, attrs)) and agreement metrics,
    plus what the direct estimate compares with."""

    variables: dict
    metrics: dict
    indirect: np.ndarray | None = None
    sigma: np.ndarray | None = None
    theory_sigma: np.ndarray | None = None


def combined_quantity(
    geo: Geometry,
    per_mode: dict[str, dict],
    axes: list,
    grid: np.ndarray,
    cell: Cell,
    shifts: dict[str, float],
    mode_runs: dict[str, str],
    valid: np.ndarray,
) -> Quantity:
    """The rotation (Faraday) or retardance (Voigt) from the two modes' indices, the theory's,
    both with uncertainties, and the dichroism.

    The wing-model term moves both indices (and the theory) together: it is combined per
    covariance axis; the other terms in quadrature.

    Parameters
    ----------
    geo : Geometry
        The geometry (its mode pair and combination rule, :data:`GEOMETRIES`).
    per_mode : dict of str to dict
        Mode → its index analysis (:func:`mode_index`).
    axes : list
        The fit's ±1σ covariance axes (cells per run).
    grid : numpy.ndarray
        Common detuning grid [MHz].
    cell : Cell
        The fitted cell.
    shifts : dict of str to float
        Run → its fitted detuning shift [MHz].
    mode_runs : dict of str to str
        Mode → the run that measured it.
    valid : numpy.ndarray
        Boolean mask of grid points where both modes' indices are valid.
    """
    a, b = geo.modes
    ln = get_line(cell.element, cell.line)
    kL = 2 * np.pi / ln.wavelength_m * cell.length_m
    coef = geo.coefficient * kL
    mean_shift = float(np.mean([shifts[mode_runs[m]] for m in geo.modes]))
    theory = spectrum(grid, cell.with_(shift_MHz=mean_shift), "x")[geo.quantity].values
    axis_theory = []
    for plus, minus in axes:
        th_p, th_m = spectrum(grid, plus[None], "x"), spectrum(grid, minus[None], "x")
        axis_theory.append(0.5 * (th_p[geo.quantity].values - th_m[geo.quantity].values))
    pa, pb = per_mode[a], per_mode[b]
    sa_own = np.sqrt(
        np.clip(pa["index_uncertainty"] ** 2 - pa["index_model_uncertainty"] ** 2, 0, None)
    )
    sb_own = np.sqrt(
        np.clip(pb["index_uncertainty"] ** 2 - pb["index_model_uncertainty"] ** 2, 0, None)
    )
    model_diff = np.zeros(grid.size)  # indirect minus theory, along the axes
    theory_sigma = np.zeros(grid.size)
    model_indirect = np.zeros(grid.size)
    for k in range(len(axes)):
        d_ind = coef * (pb["axis_index"][k] - pa["axis_index"][k])
        model_indirect = np.hypot(model_indirect, d_ind)
        model_diff = np.hypot(model_diff, d_ind - axis_theory[k])
        theory_sigma = np.hypot(theory_sigma, axis_theory[k])
    own_sigma = coef * np.hypot(sa_own, sb_own)
    indirect = coef * (pb["index"] - pa["index"])
    sigma = np.hypot(own_sigma, model_indirect)
    q, label = geo.quantity, geo.label
    variables = {
        f"{q}_indirect": (
            "detuning",
            indirect,
            {"units": "rad", "long_name": f"{label} from the two Hilbert-transformed indices"},
        ),
        f"{q}_indirect_uncertainty": (
            "detuning",
            sigma,
            {"units": "rad", "long_name": f"standard uncertainty of the indirect {q}"},
        ),
        f"{q}_theory": (
            "detuning",
            theory,
            {"units": "rad", "long_name": f"{label} of the theory at the fitted parameters"},
        ),
        f"{q}_theory_uncertainty": (
            "detuning",
            theory_sigma,
            {
                "units": "rad",
                "long_name": f"standard uncertainty of the theory {q} from the fit's covariance",
            },
        ),
        geo.dichroism: (
            "detuning",
            pa["optical_depth"] - pb["optical_depth"],
            {"units": "1", "long_name": geo.dichroism_label},
        ),
    }
    metrics = {
        f"{q}_indirect_vs_theory": agreement(
            indirect, theory, np.hypot(own_sigma, model_diff), valid
        )
    }
    return Quantity(variables, metrics, indirect, sigma, theory_sigma)


def direct_quantity(
    geo: Geometry,
    ds: xr.Dataset,
    run: str,
    per_mode: dict[str, dict],
    grid: np.ndarray,
    cell: Cell,
    shift_MHz: float,
    combo: Quantity,
    valid: np.ndarray,
) -> Quantity:
    """The rotation/retardance measured directly by a polarimeter run, with its uncertainty,
    against the theory on that run's own axis and against the indirect estimate.

    The polarimeter measures sin(m·angle) √(T_a T_b) (m = 2: S2 in Faraday; m = 1: S3 in
    Voigt), so besides its own noise an OD error e of each mode moves the angle by
    tan(m·angle) e / (2m).

    Parameters
    ----------
    geo : Geometry
        The geometry (its direct estimator and polarimeter angle multiple).
    ds : xarray.Dataset
        The polarimeter run's calibrated dataset.
    run : str
        Its run id.
    per_mode : dict of str to dict
        Mode → its index analysis (the transmissions the estimator needs).
    grid : numpy.ndarray
        Common detuning grid [MHz].
    cell : Cell
        The fitted cell.
    shift_MHz : float
        The polarimeter run's detuning shift [MHz].
    combo : Quantity
        The indirect (Hilbert) estimate it is compared with.
    valid : numpy.ndarray
        Boolean mask of valid grid points.
    """
    a, b = geo.modes
    m = geo.angle_multiple
    s = _on(ds, "polarimeter", grid)
    s_sig = _on(ds, "polarimeter_uncertainty", grid)
    if "optical_depth_uncertainty_correlated" in ds:
        # normalised by the same baseline as the run's transmission: its relative error
        # (baseline, drifts) scales the polarimeter signal too
        s_sig = np.hypot(s_sig, np.abs(s) * _on(ds, "optical_depth_uncertainty_correlated", grid))
    ta = np.exp(-per_mode[a]["optical_depth"])
    tb = np.exp(-per_mode[b]["optical_depth"])
    od_sig = np.hypot(
        per_mode[a]["optical_depth_uncertainty"], per_mode[b]["optical_depth_uncertainty"]
    )
    direct = geo.direct(s, ta, tb)
    cos = np.maximum(np.abs(np.cos(m * direct)), 1e-3)
    d_sigma = np.hypot(
        s_sig / (m * np.sqrt(ta * tb) * cos), np.abs(np.sin(m * direct)) / cos * od_sig / (2 * m)
    )
    q = geo.quantity
    variables = {
        f"{q}_direct": (
            "detuning",
            direct,
            {
                "units": "rad",
                "long_name": f"{geo.label} measured directly with the polarimeter (run {run})",
            },
        ),
        f"{q}_direct_uncertainty": (
            "detuning",
            d_sigma,
            {"units": "rad", "long_name": f"standard uncertainty of the direct {q}"},
        ),
    }
    # the theory on the polarimeter run's own axis (its fitted shift)
    th_pol = spectrum(grid, cell.with_(shift_MHz=shift_MHz), "x")[q].values
    metrics = {
        f"{q}_direct_vs_theory": agreement(
            direct, th_pol, np.hypot(d_sigma, combo.theory_sigma), valid
        ),
        f"{q}_indirect_vs_direct": agreement(
            combo.indirect, direct, np.hypot(combo.sigma, d_sigma), valid
        ),
    }
    return Quantity(variables, metrics)


def hilbert_dataset(
    out: dict,
    *,
    grid: np.ndarray,
    mode_runs: dict[str, str],
    exp: str,
    geometry: str,
    cell: Cell,
    cfg: dict,
    metrics: dict,
    warnings: list[str],
    gates: dict | None,
    saturated: dict,
) -> xr.Dataset:
    """The Hilbert file: the variables, coordinates with units, the metrics as attributes
    (also as JSON), the saturated-run choices and every warning (those given: the fit's, the
    refusals and linearisations; then the Hilbert gate's).

    Parameters
    ----------
    out : dict
        Per-mode variables (name → (dims, values)).
    grid : numpy.ndarray
        Common detuning grid [MHz].
    mode_runs : dict of str to str
        Mode → the run that measured it.
    exp : str
        Experiment id.
    geometry : str
        The experiment's geometry.
    cell : Cell
        The fitted cell.
    cfg : dict
        The hilbert configuration.
    metrics : dict
        Agreement metrics of the indirect and direct estimates.
    warnings : list of str
        Warnings carried from the fit and the runs.
    gates : dict or None
        ``gates.hilbert`` thresholds.
    saturated : dict
        Run → how its saturated optical depth was handled.
    """
    modes = list(mode_runs)
    coords = {
        "detuning": (
            "detuning",
            grid,
            {"units": "MHz", "long_name": "laser detuning from the line centre"},
        ),
        "mode": ("mode", modes, {"units": "1", "long_name": "eigen-polarisation"}),
    }
    ds = xr.Dataset(out, coords=coords)
    ds.attrs.update(
        title=f"Hilbert-transform analysis of experiment {exp}",
        experiment=exp,
        geometry=geometry,
        runs=", ".join(f"{m}={mode_runs[m]}" for m in modes),
        cell_length_m=cell.length_m,
        fitted_temperature_C=cell.temperature_C,
        fitted_field_T=cell.field_T,
        wing_subtraction="; ".join(
            f"{m}: {'yes' if cfg['wing_subtraction'] else 'no'}" for m in modes
        ),
        pad_factor=int(cfg["pad_factor"]),
        metrics_json=json.dumps(metrics, sort_keys=True),
    )
    for name, vals in metrics.items():
        for k, v in vals.items():
            ds.attrs[f"{name}_{k}"] = v
    ds.attrs["saturated_runs"] = json.dumps(saturated)
    warnings = warnings + quality.hilbert_warnings(
        exp, metrics, quality.thresholds("hilbert", {"gates": gates})
    )
    quality.store(ds.attrs, warnings)
    return ds


def _saturated_runs(
    exp: str, runs: list[str], series: dict[str, xr.Dataset], choice: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Runs refused and runs linearised, each with its one-line reason."""
    from mohilbert.power_series import series_validity

    if choice not in ("refuse", "linearise"):
        raise AnalysisError(
            f"hilbert.saturated_runs must be 'refuse' or 'linearise', got {choice!r}"
        )
    refused, linearised = {}, {}
    for run in runs:
        verdict = series_validity(series[run], run) if run in series else None
        if verdict is None or verdict["holds"]:
            continue
        why = (
            f"run {run}: beyond the weak probe ({verdict['saturation_parameter']:.3g} I_sat; its "
            f"power series tells the models apart by delta chi-square {verdict['delta_chi2']:.3g})"
        )
        if choice == "refuse":
            refused[run] = why + ": its optical depth is not transformed (hilbert.saturated_runs)"
        else:
            linearised[run] = (
                why + ": the transform uses its linear optical depth recovered with the "
                "intense-probe model (hilbert.saturated_runs: linearise)"
            )
    if refused and len(refused) == len(runs):
        raise AnalysisError(
            f"experiment {exp}: every run is beyond the weak probe ({', '.join(sorted(refused))}); "
            "the Hilbert transform of a saturated optical depth is not the index: lower the power, "
            "or set hilbert.saturated_runs: linearise"
        )
    return refused, linearised


def _saturation_od(series: xr.Dataset, ds: xr.Dataset, run: Run, grid) -> np.ndarray:
    """OD_intense − OD_weak of ``run`` (calibrated ``ds``) on ``grid`` at the series' fitted
    parameters: the detected intense model less the probe mode's own linear response, so
    that the data less it is the atoms' linear optical depth (without the orthogonal light's
    floor, where one was fitted)."""
    from mohilbert.power_series import run_models

    on_grid = ds.interp(detuning=grid)
    idx = np.arange(grid.size)
    _, t_int, t_weak, _ = run_models(series, on_grid, run, idx, detected=False)
    return -np.log(t_int) + np.log(t_weak)


def _parameter_unit(quantity: str) -> str:
    """Unit of a fitted quantity (a parameter's name without its run)."""
    from mohilbert.fitting import UNITS  # the fit module owns the parameter names

    return UNITS.get(quantity, "%" if quantity.startswith("percent_") else "1")


def summary_table(
    fits: dict[str, xr.Dataset], hilberts: dict[str, xr.Dataset], gates: dict | None = None
) -> pd.DataFrame:
    """The campaign's results as a tidy table: one row per (experiment, run, quantity).

    Columns: ``experiment``, ``run`` (empty for a quantity shared by the experiment's runs),
    ``quantity``, ``value``, ``uncertainty`` (total, 1 σ; empty where none applies),
    ``unit``, one ``u_<term>`` column per uncertainty-budget term
    (:data:`BUDGET_TERMS`), and ``warnings`` (the quality gates' warnings that concern the
    row: a run's calibration warnings on its rows, the fit's on the fitted parameters).
    Quantities: every fitted parameter, the fit's reduced χ², each run's measured etalon FSR
    where the calibration fitted the axis scale, and the Hilbert analysis' agreement metrics.
    Experiments of one cell that disagree get the consistency gate's warning
    (:func:`mohilbert.gates.consistency_warnings`, thresholds ``gates.summary``).

    Parameters
    ----------
    fits : dict of str to xarray.Dataset
        Experiment → its fit file.
    hilberts : dict of str to xarray.Dataset
        Experiment → its Hilbert file.
    gates : dict, optional
        ``gates.summary`` thresholds (the consistency gate).
    """
    terms = list(BUDGET_TERMS)
    rows = []
    shared = {}
    for exp, fit in fits.items():
        parts = parameter_parts(fit)
        shared[exp] = {
            "cell": fit.attrs.get("nominal_json", exp),  # unknown cell: compared with nothing
            "values": {
                q: (
                    float(fit["value"].values[k]),
                    float(fit["stderr_total"].values[k]),
                    _parameter_unit(q),
                )
                for k, (q, r) in enumerate(parts)
                if not r and (fit["vary"].values[k] if "vary" in fit else True)
            },
        }
    across = quality.consistency_warnings(shared, quality.thresholds("summary", {"gates": gates}))

    def add(exp, run, quantity, value, unit, uncertainty=np.nan, budget=None, warnings=()):
        row = {
            "experiment": exp,
            "run": run,
            "quantity": quantity,
            "value": value,
            "uncertainty": uncertainty,
            "unit": unit,
        }
        for k, t in enumerate(terms):
            row[f"u_{t}"] = budget[k] if budget is not None else np.nan
        row["warnings"] = " | ".join(warnings)
        rows.append(row)

    for exp in sorted(set(fits) | set(hilberts)):
        fit, hil = fits.get(exp), hilberts.get(exp)
        warnings = quality.read(hil.attrs if hil is not None else fit.attrs)
        run_warn = {}
        if fit is not None:
            runs = [r.strip() for r in fit.attrs.get("runs", "").split(",") if r.strip()]
            run_warn = {r: [w for w in warnings if w.startswith(f"run {r}:")] for r in runs}
            exp_warn = [w for w in warnings if not w.startswith("run ")] + across.get(exp, [])
            parts = parameter_parts(fit)
            vary = fit["vary"].values if "vary" in fit else np.ones(len(parts))
            for k, (base, run) in enumerate(parts):
                if not vary[k]:
                    continue
                budget = fit["budget"].values[k] if "budget" in fit else None
                add(
                    exp,
                    run,
                    base,
                    float(fit["value"].values[k]),
                    _parameter_unit(base),
                    float(fit["stderr_total"].values[k]),
                    budget,
                    exp_warn + run_warn.get(run, []),
                )
            add(
                exp,
                "",
                "fit_reduced_chi_square",
                float(fit.attrs.get("redchi")),
                "1",
                warnings=exp_warn,
            )
            for run, fsr in json.loads(fit.attrs.get("etalon_fsr_json", "{}")).items():
                if np.isfinite(fsr.get("fitted_MHz", np.nan)):
                    add(
                        exp,
                        run,
                        "etalon_fsr_fitted",
                        fsr["fitted_MHz"],
                        "MHz",
                        fsr["fitted_uncertainty_MHz"],
                        warnings=run_warn.get(run, []),
                    )
        if hil is not None:
            for name, vals in json.loads(hil.attrs["metrics_json"]).items():
                for k, v in vals.items():
                    angle = name.startswith(("rotation", "retardance")) and k in ("rms", "max")
                    add(exp, "", f"{name}_{k}", v, "rad" if angle else "1")
    columns = ["experiment", "run", "quantity", "value", "uncertainty", "unit"]
    table = pd.DataFrame(rows, columns=columns + [f"u_{t}" for t in terms] + ["warnings"])
    # each value with the digits its uncertainty needs, as the report and the figures print it
    pairs = [rounded(v, u) for v, u in zip(table["value"], table["uncertainty"], strict=True)]
    if pairs:
        table["value"], table["uncertainty"] = (list(c) for c in zip(*pairs, strict=True))
    return table
