"""The line-centre absorption of a power series' runs against the model (the HIP-ElecSus
paper's Figure 4, its numbers) → ``results/line_centre/{series}.nc``.

For each run of a series: the effective peak intensity I/I_sat (the sheet's power times the
fitted intensity scale), the data's line-centre absorption coefficient α of the open and the
closed transition with its standard uncertainty (:func:`data_line_centre_alpha`), the model's
α at the series' fitted parameters (:func:`model_line_centre_alpha`) and the pull between
them (:func:`line_centre_pulls`); and the model's α on a grid of intensities, the curves
the figure draws (:func:`line_centre_points`, written by :func:`line_centre_dataset`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from mohilbert.atoms.constants import get_line
from mohilbert.atoms.hamiltonian import line_list, populations
from mohilbert.atoms.pumping import pumping_system
from mohilbert.intense import field_frame_components, saturation_intensity_W_m2
from mohilbert.parameters import domain
from mohilbert.products import split_left_out
from mohilbert.records import Experiment, parameter_parts
from mohilbert.stages.fit import fitted_cell
from mohilbert.stages.series import (
    fitted_probe,
    intensity_scale,
    series_dark_uncertainty,
    with_dark_uncertainty,
)
from mohilbert.theory import intense_arrays

#: half-width of the window around a line centre for its data point [MHz]
CENTRE_WINDOW_MHZ = 25.0


def open_and_closed_lines(fit: xr.Dataset, exp: Experiment | dict) -> dict[str, float]:
    """Frequencies [MHz] of the closed line and an open line of the main isotope for the
    series' probe, at its fitted field.

    Closed: the strong line whose excited state decays only back (the stretched state). Open:
    of the strong lines that leak more than half their decays to other ground states, the one
    farthest from the closed line — at 0.6 T the isolated line at 17.1 GHz for σ+ on 87Rb D2,
    the open transition of the HIP-ElecSus paper's Figure 4."""
    exp = Experiment.coerce(exp)
    cell, _ = fitted_cell(exp, fit)
    rec = exp.first
    eps = field_frame_components(
        np.array([1, 1j]) / np.sqrt(2)
        if rec.polarisation == "sigma_plus"
        else np.array([1, -1j]) / np.sqrt(2),
        cell.b_hat(),
    )
    iso = "87Rb" if cell.element == "Rb" else None
    if iso is None:
        raise ValueError("open/closed lines are defined here for Rb (87Rb) only")
    field_g = 1e4 * cell.field_T
    ll = line_list(iso, cell.line, field_g)
    gamma = get_line(cell.element, cell.line).gamma_natural_MHz  # the line's natural width
    sysm = pumping_system(iso, cell.line, field_g, eps, populations(ll, None), gamma)
    ee, gg = sysm.driven_pairs()
    strong = np.abs(sysm.coupling[ee, gg]) ** 2 > 0.3
    e, g = ee[strong], gg[strong]
    leak = 1 - sysm.branching[e, g]
    nu = sysm.transition_MHz[e, g]
    closed = float(nu[np.argmin(leak)])
    leaky = nu[leak > 0.5] if np.any(leak > 0.5) else nu[[np.argmax(leak)]]
    return {"closed": closed, "open": float(leaky[np.argmax(np.abs(leaky - closed))])}


def data_line_centre_alpha(
    cal: xr.Dataset, centre_MHz: float, length_m: float
) -> tuple[float, float]:
    """α = OD/L [1/m] at a line centre from a calibrated spectrum, with its standard
    uncertainty: a parabola through the optical depth within ±25 MHz (weighted), evaluated at
    its vertex; the correlated part of the OD uncertainty (normalisation) added in full.

    Parameters
    ----------
    cal : xarray.Dataset
        A calibrated run (optical depth and its uncertainties).
    centre_MHz : float
        The line centre on the run's detuning axis [MHz].
    length_m : float
        Cell length [m].
    """
    x = cal["detuning"].values
    sel = np.abs(x - centre_MHz) <= CENTRE_WINDOW_MHZ
    sel &= np.isfinite(cal["optical_depth"].values)
    if sel.sum() < 4:
        return float("nan"), float("nan")
    od = cal["optical_depth"].values[sel]
    sig = cal["optical_depth_uncertainty"].values[sel]
    corr = (
        cal["optical_depth_uncertainty_correlated"].values[sel]
        if "optical_depth_uncertainty_correlated" in cal
        else np.zeros_like(sig)
    )
    indep = np.sqrt(np.clip(sig**2 - corr**2, 1e-30, None))
    t = x[sel] - centre_MHz
    a = np.stack([np.ones_like(t), t, t**2], axis=1) / indep[:, None]
    coef, *_ = np.linalg.lstsq(a, od / indep, rcond=None)
    cov = np.linalg.inv(a.T @ a)
    t0 = float(np.clip(-coef[1] / (2 * coef[2]) if coef[2] < 0 else 0.0, t.min(), t.max()))
    basis = np.array([1.0, t0, t0**2])
    peak = float(basis @ coef)
    u = float(np.sqrt(basis @ cov @ basis + np.mean(corr) ** 2))
    return peak / length_m, u / length_m


def series_line_centres(
    fit: xr.Dataset, cal: dict[str, xr.Dataset], exp: Experiment | dict
) -> pd.DataFrame:
    """Per run of a series: effective peak I/I_sat and the data's line-centre α (with
    uncertainty) of the open and the closed line.

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit (``results/series/{series}.nc``).
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    exp : Experiment or dict
        Their sheet values.
    """
    exp = Experiment.coerce(exp)
    cell, shifts = fitted_cell(exp, fit)
    lines = open_and_closed_lines(fit, exp)
    isat = saturation_intensity_W_m2(cell.element, cell.line)
    rows = []
    for run in sorted(cal):
        probe = exp[run].probe()
        s = probe.peak_intensity_W_m2 * intensity_scale(fit, run) / isat
        for name, nu in lines.items():
            a, u = data_line_centre_alpha(cal[run], nu + shifts[run], cell.length_m)
            rows.append({"run": run, "saturation": s, "line": name, "alpha": a, "alpha_u": u})
    return pd.DataFrame(rows)


def model_line_centre_alpha(
    fit: xr.Dataset, exp: Experiment | dict, saturation: np.ndarray
) -> dict[str, np.ndarray]:
    """Model α = −ln T / L [1/m] at the open and closed line centres against the effective
    peak I/I_sat, at the series' fitted parameters, propagated through the cell as the fit
    propagated it (its ``z_slices``). It is α as detected: with the fitted orthogonal light
    (``orthogonal_fraction``), like the data's −ln T.

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    exp : Experiment or dict
        The series' sheet values (cell, beam, polarisation).
    saturation : numpy.ndarray
        Effective peak intensities I/I_sat at which to evaluate.
    """
    exp = Experiment.coerce(exp)
    cell, _ = fitted_cell(exp, fit)
    rec = exp.first
    probe0 = fitted_probe(fit, rec)
    isat = saturation_intensity_W_m2(cell.element, cell.line)
    lines = open_and_closed_lines(fit, exp)
    x = np.array([lines["closed"], lines["open"]])
    out = {"closed": [], "open": []}
    for s in saturation:
        power = s * isat / (probe0.peak_intensity_W_m2 / probe0.power_W)
        probe = replace(probe0, power_W=float(power))
        t = intense_arrays(x, cell, rec.polarisation, probe)["S0"]
        out["closed"].append(-np.log(t[0]) / cell.length_m)
        out["open"].append(-np.log(t[1]) / cell.length_m)
    return {k: np.array(v) for k, v in out.items()}


def line_centre_pulls(table: pd.DataFrame, model: dict[str, np.ndarray]) -> pd.DataFrame:
    """The data's line-centre α against the model at each run's effective intensity:
    ``table`` (:func:`series_line_centres`) with ``model`` (α of the model at the same
    points, per line) and ``pull`` = (α_data − α_model)/σ_data added."""
    out = table.copy()
    out["model"] = np.nan
    for line, values in model.items():
        sel = (out["line"] == line).to_numpy()
        out.loc[sel, "model"] = values
    out["pull"] = (out["alpha"] - out["model"]) / out["alpha_u"]
    return out


def line_centre_points(fit: xr.Dataset, cal: dict[str, xr.Dataset], records: dict):
    """The line-centre points of one series against its model (a :class:`LineCentre`).

    ``points`` (:func:`series_line_centres` with ``model``, ``model_u``, ``pull``, and per run its
    ``probe_power_W`` [W], ``detector_response`` [V/W], ``detector_setting`` and
    ``intensity_ratio`` with its uncertainty, from the series file where it has them),
    ``grid`` the effective I/I_sat of the model curves, ``alpha`` line → α [1/m] on it and
    ``alpha_u`` its standard uncertainty (:func:`model_line_centre_alpha_uncertainty`).

    A run that borrows its dark has the dark uncertainty the series fit gave it (the
    series' measured one, :func:`mohilbert.stages.series.series_dark_uncertainty`) in its
    points' uncertainty, as in the fit.

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    records : dict
        Their sheet values. Runs left out of the series (their calibration failed) have no
        points.
    """
    cal, _ = split_left_out(cal)
    dark = series_dark_uncertainty(fit)
    cal = with_dark_uncertainty(cal, {r: s for r, s in dark.items() if r in cal})
    exp = Experiment.coerce({r: records[r] for r in cal})
    table = series_line_centres(fit, cal, exp)
    s_all = table["saturation"].values
    grid = np.geomspace(max(s_all.min() / 3, 1e-4), s_all.max() * 3, 40)
    curves = model_line_centre_alpha(fit, exp, grid)
    curves_u = model_line_centre_alpha_uncertainty(fit, exp, grid)

    def at_points(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            line: np.interp(
                np.log(table.loc[table["line"] == line, "saturation"].to_numpy()),
                np.log(grid),
                values[line],
            )
            for line in ("closed", "open")
        }

    points = line_centre_pulls(table, at_points(curves))
    points["model_u"] = np.nan
    for line, values in at_points(curves_u).items():
        points.loc[(points["line"] == line).to_numpy(), "model_u"] = values
    points["probe_power_W"] = [float(exp[r].probe_power_W) for r in points["run"]]
    per_run = ("detector_response", "detector_setting", "intensity_ratio")
    for var in (*per_run, "intensity_ratio_uncertainty"):
        if var in fit and "run" in fit.coords:
            by_run = dict(zip(fit["run"].values.tolist(), fit[var].values.tolist(), strict=True))
            points[var] = [by_run.get(r, np.nan) for r in points["run"]]
        else:
            points[var] = 0 if var == "detector_setting" else np.nan
    return LineCentre(points[list(POINT_VARIABLES)], grid, curves, curves_u)


class LineCentre(NamedTuple):
    """One series' line-centre points against its model, and the model's curves.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per run and line (:data:`POINT_VARIABLES`).
    grid : numpy.ndarray
        Effective peak intensities I/I_sat of the curves.
    alpha, alpha_u : dict of str to numpy.ndarray
        Line (``closed``, ``open``) → the model's α [1/m] on ``grid`` and its standard
        uncertainty from the fit's covariance.
    """

    points: pd.DataFrame
    grid: np.ndarray
    alpha: dict
    alpha_u: dict


#: the shared fit parameters that shape the line-centre curve against I/I_sat (the
#: intensity scale moves the points along it, a run's shift moves neither)
CURVE_PARAMETERS = (
    "temperature_C",
    "field_T",
    "transit_scale",
    "orthogonal_fraction",
    "beam_order",
)


def model_line_centre_alpha_uncertainty(
    fit: xr.Dataset, exp: Experiment | dict, saturation: np.ndarray
) -> dict[str, np.ndarray]:
    """Standard uncertainty of the model's line-centre α [1/m] (:func:`model_line_centre_alpha`)
    from the series fit's total covariance of :data:`CURVE_PARAMETERS`: the curve recomputed
    at ±1 σ along each principal axis of that covariance, half the difference per axis, the
    axes in quadrature (first order in the parameters).

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit (its ``value`` and ``covariance``).
    exp : Experiment or dict
        The series' sheet values.
    saturation : numpy.ndarray
        Effective peak intensities I/I_sat of the curve.
    """
    parts = parameter_parts(fit)
    own = [i for i, (q, r) in enumerate(parts) if not r and q in CURVE_PARAMETERS]
    var = {line: np.zeros(len(saturation)) for line in ("closed", "open")}
    if "covariance" not in fit or not own:
        return var
    lam, vec = np.linalg.eigh(fit["covariance"].values[np.ix_(own, own)])
    values = fit["value"].values
    for k in np.flatnonzero(lam > 0):
        step = np.sqrt(lam[k]) * vec[:, k]
        pair = []
        for sign in (1.0, -1.0):
            moved = values.copy()
            for j, i in enumerate(own):
                moved[i] = np.clip(values[i] + sign * step[j], *domain(parts[i][0]))
            moved_fit = fit.assign(value=(fit["value"].dims, moved, fit["value"].attrs))
            pair.append(model_line_centre_alpha(moved_fit, exp, saturation))
        for line in var:
            var[line] += (0.5 * (pair[0][line] - pair[1][line])) ** 2
    return {line: np.sqrt(v) for line, v in var.items()}


#: the per-point columns of a line-centre file: name → (dtype, units, long name)
POINT_VARIABLES = {
    "run": (str, "1", "run of the point"),
    "saturation": (float, "1", "effective peak intensity I/I_sat (sheet power x fitted scale)"),
    "line": (str, "1", "transition: closed (cycling) or open (pumped away)"),
    "alpha": (float, "1/m", "line-centre absorption coefficient of the data, -ln T / L"),
    "alpha_u": (float, "1/m", "standard uncertainty of the data's line-centre alpha"),
    "model": (float, "1/m", "line-centre alpha of the series' model at the point's intensity"),
    "model_u": (
        float,
        "1/m",
        "standard uncertainty of the model's alpha from the fit's covariance (T, B, transit, "
        "orthogonal light)",
    ),
    "pull": (float, "1", "(alpha - model) / alpha_u (against the data's uncertainty)"),
    "probe_power_W": (float, "W", "probe power entering the cell (sheet)"),
    "detector_response": (float, "V/W", "detected signal per watt of probe power"),
    "detector_setting": (int, "1", "detection setting of the run (0, 1, ...)"),
    "intensity_ratio": (float, "1", "the run's own intensity scale over its setting's"),
    "intensity_ratio_uncertainty": (float, "1", "standard uncertainty of intensity_ratio"),
}


def line_centre_dataset(
    series: str, fit: xr.Dataset, cal: dict[str, xr.Dataset], records: dict
) -> xr.Dataset:
    """The line-centre file of one series (``results/line_centre/{series}.nc``): every run's
    points (dimension ``point``, :data:`POINT_VARIABLES`) and the model's α of each line on a
    grid of intensities (``model_alpha``, dimensions ``transition`` × ``saturation_grid``).

    Parameters
    ----------
    series : str
        The series' name.
    fit : xarray.Dataset
        Its fit (``results/series/{series}.nc``).
    cal : dict of str to xarray.Dataset
        Its calibrated runs.
    records : dict
        Their sheet values.
    """
    lc = line_centre_points(fit, cal, records)
    points, grid, lines = lc.points, lc.grid, list(lc.alpha)
    data = {
        name: ("point", points[name].to_numpy().astype(dtype), {"units": u, "long_name": text})
        for name, (dtype, u, text) in POINT_VARIABLES.items()
    }
    data["model_alpha"] = (
        ("transition", "saturation_grid"),
        np.array([lc.alpha[k] for k in lines]),
        {
            "units": "1/m",
            "long_name": "line-centre alpha of the model (detected, through the cell)",
        },
    )
    data["model_alpha_uncertainty"] = (
        ("transition", "saturation_grid"),
        np.array([lc.alpha_u[k] for k in lines]),
        {"units": "1/m", "long_name": "standard uncertainty of model_alpha (fit covariance)"},
    )
    coords = {
        "transition": ("transition", lines, {"units": "1", "long_name": "transition of a curve"}),
        "saturation_grid": (
            "saturation_grid",
            grid,
            {"units": "1", "long_name": "effective peak intensity I/I_sat of the model curves"},
        ),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        title=f"line-centre absorption of series {series} against its model",
        series=series,
        temperature_C=float(fitted_cell(Experiment.coerce(records), fit)[0].temperature_C),
    )
    return ds


def read_line_centre(ds: xr.Dataset) -> LineCentre:
    """The :class:`LineCentre` of a line-centre file, as :func:`line_centre_points` made it."""
    points = pd.DataFrame(
        {name: ds[name].values.astype(dtype) for name, (dtype, _, _) in POINT_VARIABLES.items()}
    )

    def curves(var: str) -> dict[str, np.ndarray]:
        return {str(k): ds[var].sel(transition=k).values for k in ds["transition"].values}

    return LineCentre(
        points,
        ds["saturation_grid"].values,
        curves("model_alpha"),
        curves("model_alpha_uncertainty"),
    )
