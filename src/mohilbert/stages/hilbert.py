"""The Hilbert stage: the Kramers–Kronig analysis of one experiment.

:func:`hilbert_experiment` applies the Hilbert transform to each eigen-polarisation run's
optical depth (:func:`mode_index`) and combines the two indices into the rotation (Faraday)
or retardance (Voigt) they imply (:func:`combined_quantity`), compared with the theory at
the fitted parameters and with its direct measurement by a polarimeter run
(:func:`direct_quantity`) → ``results/hilbert/{experiment}.nc`` (:func:`hilbert_dataset`).
A run its power series finds beyond the weak probe is refused or linearised
(:func:`saturated_runs`), never transformed as if it were linear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from mohilbert import gates as quality
from mohilbert.atoms.constants import get_line
from mohilbert.config import schema_defaults
from mohilbert.errors import AnalysisError
from mohilbert.geometry import GEOMETRIES, MODE_PAIRS, Geometry
from mohilbert.kramers_kronig import agreement, group_index, index_from_od
from mohilbert.parameters import domain
from mohilbert.products import CalibratedAttrs
from mohilbert.records import Experiment, Run, parameter_parts
from mohilbert.stages.fit import fitted_cell
from mohilbert.stages.series import (
    series_dark_uncertainty,
    series_validity,
    with_dark_uncertainty,
)
from mohilbert.theory import Cell, spectrum

#: the Hilbert stage's defaults: ``hilbert:`` of the configuration schema
DEFAULTS = schema_defaults("hilbert")

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


def _stderr(fit: xr.Dataset, quantity: str, run: str = "") -> float:
    """Total 1-sigma uncertainty of a fitted quantity, shared (``run`` empty) or of ``run``
    (0 when absent or undefined)."""
    parts = parameter_parts(fit)
    if (quantity, run) not in parts:
        return 0.0
    value = float(fit["stderr_total"].values[parts.index((quantity, run))])
    return value if np.isfinite(value) else 0.0


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
                v = float(np.clip(v, *domain(quantity)))
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
    ``series`` maps a run to its power-series fit (:func:`mohilbert.stages.series.fit_series`):
    where that says the weak-probe assumption does not hold for the run, its optical depth is
    not transformed (``saturated_runs="refuse"``: left out, and an error if no run is left) or
    is first linearised with the intense-probe model (``"linearise"``:
    OD − OD_intense + OD_weak at the series' fitted parameters) — never silently the
    saturated one; and a run that borrows its dark has the dark uncertainty the series
    measured (:func:`mohilbert.stages.series.series_dark_uncertainty`) in its optical depth's.

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
    refused, linearise = saturated_runs(exp, sorted(cal), series or {}, cfg["saturated_runs"])
    cal = {r: ds for r, ds in cal.items() if r not in refused}
    # a run that borrows its dark: the dark uncertainty its series measured, as in the fit
    dark = {r: series_dark_uncertainty(series[r]).get(r) for r in cal if r in (series or {})}
    cal = with_dark_uncertainty(cal, {r: s for r, s in dark.items() if s is not None})
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
            od_correction = saturation_od(series[run], run, grid)
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
        pair = _pair_quantities(geo, per_mode, out, axes, grid, cell, shifts, mode_runs, cal)
        out.update(pair.variables)
        metrics.update(pair.metrics)
    out["run"] = (
        "mode",
        np.array([mode_runs[m] for m in modes], dtype=str),
        {"units": "1", "long_name": "run that measured the eigen-mode"},
    )
    notes = [
        quality.GateWarning(f"run {r}", "hilbert.saturated_runs", why[r], "note")
        for why in (refused, linearise)
        for r in sorted(why)
    ]
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


def _pair_quantities(geo, per_mode, out, axes, grid, cell, shifts, mode_runs, cal) -> Quantity:
    """The pair's rotation or retardance: from the two indices (:func:`combined_quantity`)
    and, where the experiment has a polarimeter run, measured directly
    (:func:`direct_quantity`); their variables and metrics together."""
    valid = ~np.any(out["edge"][1] > 0, axis=0) & ~np.any(out["filled"][1] > 0, axis=0)
    combo = combined_quantity(geo, per_mode, axes, grid, cell, shifts, mode_runs, valid)
    variables, metrics = dict(combo.variables), dict(combo.metrics)
    pol_runs = [r for r in sorted(cal) if "polarimeter" in cal[r]]
    if pol_runs:
        run = pol_runs[0]
        direct = direct_quantity(
            geo, cal[run], run, per_mode, grid, cell, shifts[run], combo, valid
        )
        variables.update(direct.variables)
        metrics.update(direct.metrics)
    return Quantity(variables, metrics)


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
    axis_index = _wing_model_steps(axes, run, which, grid, od, kL, sat, cfg)
    model_sigma = np.zeros(grid.size)
    for step in axis_index:
        model_sigma = np.hypot(model_sigma, step)
    # frequency-axis uncertainty of the calibration (linearisation, offset, scale, per-run
    # shift): the same model of the axis as the fit's budget
    axis = CalibratedAttrs.from_dataset(ds).axis_uncertainty()
    sigma_nu = axis.sigma_MHz(grid, shift_MHz, shift_stderr_MHz)
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


def _wing_model_steps(axes, run, which, grid, od, kL, saturated, cfg) -> list[np.ndarray]:
    """The wing model's own uncertainty: the index's change when the transform is repeated
    with the theory at the parameter sets on each axis of the fit's covariance (half the
    difference between +1 σ and −1 σ), one array per axis."""
    steps = []
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
                    subtract_model=bool(cfg["wing_subtraction"]),
                    saturated=saturated,
                    pad_factor=cfg["pad_factor"],
                )["index"]
            )
        steps.append(0.5 * (pair[0] - pair[1]))
    return steps


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
    warnings: list[quality.GateWarning],
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


def saturated_runs(
    exp: str, runs: list[str], series: dict[str, xr.Dataset], choice: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Runs refused and runs linearised, each with its one-line reason.

    Parameters
    ----------
    exp : str
        Experiment id, for messages.
    runs : list of str
        The experiment's runs.
    series : dict of str to xarray.Dataset
        Run → its power-series fit, where it has one (its weak-probe verdict).
    choice : str
        ``hilbert.saturated_runs``: ``"refuse"`` or ``"linearise"``.

    Returns
    -------
    tuple of dict
        (run → why it is refused, run → why it is linearised).
    """
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


def saturation_od(series: xr.Dataset, run: str, grid: np.ndarray) -> np.ndarray:
    """OD_intense − OD_weak of ``run`` on ``grid`` [MHz] at the series' fitted parameters, as
    the series fit wrote it on the run's calibrated points
    (:func:`mohilbert.stages.series.saturation_optical_depth`; on a grid of those points,
    the values themselves).

    Parameters
    ----------
    series : xarray.Dataset
        The run's power-series fit.
    run : str
        The run id.
    grid : numpy.ndarray
        Detuning grid [MHz] inside the run's calibrated points.
    """
    if "saturation_od" not in series:
        raise AnalysisError(
            f"run {run}: its series file has no saturation_od (written by an older "
            "mohilbert): run the series fit again"
        )
    row = series.sel(run=run)
    keep = np.isfinite(row["saturation_od_detuning"].values)
    return np.interp(
        grid, row["saturation_od_detuning"].values[keep], row["saturation_od"].values[keep]
    )
