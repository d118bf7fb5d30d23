"""Figures and table of a power series (the HIP-ElecSus paper's Figures 3 and 4, regenerated).

* :func:`spectra_figure` — measured spectra of a series at ≲ 1, ≈ 10 and ≳ 100 I_sat with the
  joint intense-probe model and the residuals [%] (the paper's Figure 3, one column);
  :func:`paper_spectra_figure` the whole Figure 3, a column per beam;
* :func:`line_centre_figure` — line-centre absorption coefficient α of the open and the
  closed transition against I/I_sat: points from the calibrated spectra (with their
  uncertainty), curves from the model at each series' fitted parameters, propagated through
  the cell, a column per beam diameter (the paper's Figure 4);
* :func:`series_table` — the fitted temperature, field and intensity scale of every series
  with their uncertainty budgets.
"""

from __future__ import annotations

import json
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from mohilbert.atoms.constants import get_line
from mohilbert.atoms.hamiltonian import line_list, populations
from mohilbert.atoms.pumping import pumping_system
from mohilbert.experiment import fitted_cell
from mohilbert.formatting import pm, power
from mohilbert.intense import field_frame_components, saturation_intensity_W_m2
from mohilbert.plotting.common import PALETTE, STYLE, THEORY
from mohilbert.power_series import _points, fitted_probe, intensity_scale, run_models
from mohilbert.records import Experiment, Run, parameter_parts, parameter_ties
from mohilbert.theory import intense_arrays

#: half-width of the window around a line centre for its data point [MHz]
_CENTRE_WINDOW_MHZ = 25.0


def _value(fit: xr.Dataset, name: str) -> tuple[float, float]:
    names = fit["parameter"].values.tolist()
    i = names.index(name)
    return float(fit["value"].values[i]), float(fit["stderr_total"].values[i])


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
    sel = np.abs(x - centre_MHz) <= _CENTRE_WINDOW_MHZ
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


def _title(fit: xr.Dataset, exp: Experiment) -> str:
    t, ut = _value(fit, "temperature_C")
    return f"{1e3 * float(exp.first.beam_diameter_m):.2g} mm beam, T = {pm(t, ut)} °C"


def pick_runs(fit: xr.Dataset, targets=(1.0, 10.0, 100.0)) -> list[str]:
    """The runs whose effective I/I_sat is nearest (in log) to each target."""
    s = fit["saturation_parameter"].values
    runs = fit["run"].values.tolist()
    return [runs[int(np.argmin(np.abs(np.log(s / t))))] for t in targets]


def spectra_figure(
    fit: xr.Dataset, cal: dict[str, xr.Dataset], records: dict, runs: list[str] | None = None
) -> plt.Figure:
    """Measured spectra with the joint model and residuals [%] (Figure 3, one column).

    ``records``: the series' runs (run → :class:`~mohilbert.records.Run` or record).

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    records : dict of str to Run or dict
        Their sheet values.
    runs : list of str, optional
        Runs to draw (default: those nearest 1, 10 and 100 I_sat).
    """
    exp = Experiment.coerce(records)
    with plt.style.context(STYLE):
        fig, (ax, axr) = plt.subplots(
            2, 1, figsize=(6.0, 5.2), sharex=True, height_ratios=(3, 1.4), layout="constrained"
        )
        _draw_spectra(ax, axr, fit, cal, exp, runs or pick_runs(fit))
        ax.set_ylabel("transmission")
        ax.set_title(_title(fit, exp), fontsize=9)
        axr.set_ylabel("residual [%]")
    return fig


def _draw_spectra(ax, axr, fit, cal, exp: Experiment, runs: list[str]) -> None:
    """Each run's measured spectrum with the joint model above, the residual [%] below; the
    legend names each run's effective I/I_sat and its residual RMS [%]."""
    for k, run in enumerate(runs):
        ds = cal[run]
        idx = _points(ds, 4000)
        x, t_int, _, _ = run_models(fit, ds, exp[run], idx)
        s = float(fit["saturation_parameter"].sel(run=run))
        y = ds["transmission"].values[idx]
        color = PALETTE[k % len(PALETTE)]
        x_ghz = x / 1e3
        rms = 100 * float(np.sqrt(np.mean((y - t_int) ** 2)))
        label = f"{run}: {s:.3g} I_sat, residual RMS {rms:.2g} %"
        ax.plot(x_ghz, y, color=color, lw=1.2, alpha=0.8, label=label)
        ax.plot(x_ghz, t_int, **THEORY)
        axr.plot(x_ghz, 100 * (y - t_int), color=color, lw=0.6, alpha=0.8)
    ax.plot([], [], **THEORY, label="intense-probe model (joint fit)")
    ax.legend(fontsize=6, loc="lower right")
    axr.axhline(0, color="0.5", lw=0.5)
    axr.set_xlabel(f"detuning from the {exp.first.line} line centre [GHz]")


def paper_spectra_figure(series: dict[str, tuple[xr.Dataset, dict, dict]]) -> plt.Figure:
    """Figure 3 as the paper draws it: a column per beam diameter with the spectra of its
    coolest series nearest 1, 10 and 100 I_sat and the joint model, the residuals [%]
    below.

    Parameters
    ----------
    series : dict
        Series name → (series fit, its calibrated runs, its runs' records).
    """
    beams = _series_by_beam(series)
    with plt.style.context(STYLE):
        fig, axes = _beam_columns(len(beams), 3.6, 5.2, 1.4)
        for c, (_, names) in enumerate(beams):
            name = names[0]  # the coolest
            fit, cal, records = series[name]
            exp = Experiment.coerce(records)
            _draw_spectra(axes[0, c], axes[1, c], fit, cal, exp, pick_runs(fit))
            axes[0, c].set_title(_title(fit, exp), fontsize=8)
        axes[0, 0].set_ylabel("transmission")
        axes[1, 0].set_ylabel("residual [%]")
    return fig


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


def agreement_text(pulls: pd.DataFrame) -> str:
    """One line per transition: how many points lie within 1 and 2 σ of the model, χ²/N, and
    the lowest intensity at which the data leave the model by more than 3 σ."""
    parts = []
    for line in ("closed", "open"):
        sub = pulls[(pulls["line"] == line) & np.isfinite(pulls["pull"])]
        sub = sub.sort_values("saturation")
        if sub.empty:
            continue
        z = np.abs(sub["pull"].to_numpy())
        text = (
            f"{line}: {int(np.sum(z <= 1))}/{z.size} within 1σ, {int(np.sum(z <= 2))} within "
            f"2σ, χ²/N = {np.mean(z**2):.3g}"
        )
        bad = np.flatnonzero(z > 3)
        if bad.size:
            text += f"; first beyond 3σ at {sub['saturation'].to_numpy()[bad[0]]:.3g} I_sat"
        parts.append(text)
    return "\n".join(parts)


#: marker of each detection setting in the line-centre figure (0, 1, ...)
_SETTING_MARKERS = ("o", "s", "^", "D", "v", "P")


def line_centre_points(fit: xr.Dataset, cal: dict[str, xr.Dataset], records: dict):
    """The line-centre points of one series against its model: (points, grid, curves).

    ``points`` (:func:`series_line_centres` with ``model``, ``pull``, and per run its
    ``probe_power_W`` [W], ``detector_response`` [V/W], ``detector_setting`` and
    ``intensity_ratio`` with its uncertainty, from the series file where it has them),
    ``grid`` the effective I/I_sat of the model curves and ``curves`` line → α [1/m] on it.

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    records : dict
        Their sheet values.
    """
    exp = Experiment.coerce(records)
    table = series_line_centres(fit, cal, exp)
    s_all = table["saturation"].values
    grid = np.geomspace(max(s_all.min() / 3, 1e-4), s_all.max() * 3, 40)
    curves = model_line_centre_alpha(fit, exp, grid)
    at_points = {
        line: np.interp(
            np.log(table.loc[table["line"] == line, "saturation"].to_numpy()),
            np.log(grid),
            curves[line],
        )
        for line in ("closed", "open")
    }
    points = line_centre_pulls(table, at_points)
    points["probe_power_W"] = [float(exp[r].probe_power_W) for r in points["run"]]
    per_run = ("detector_response", "detector_setting", "intensity_ratio")
    for var in (*per_run, "intensity_ratio_uncertainty"):
        if var in fit and "run" in fit.coords:
            by_run = dict(zip(fit["run"].values.tolist(), fit[var].values.tolist(), strict=True))
            points[var] = [by_run.get(r, np.nan) for r in points["run"]]
        else:
            points[var] = 0 if var == "detector_setting" else np.nan
    return points, grid, curves


def settings_text(points: pd.DataFrame) -> str:
    """Where a series' detection setting changes, in words (empty for one setting): the
    detector response [V/W] of the runs on either side and the power at which it changed."""
    runs = points.drop_duplicates("run").sort_values("probe_power_W")
    if runs["detector_setting"].nunique() < 2:
        return ""
    parts = []
    prev = None
    for _, row in runs.iterrows():
        if prev is not None and row["detector_setting"] != prev["detector_setting"]:
            parts.append(
                f"{prev['detector_response']:.3g} → {row['detector_response']:.3g} V/W at "
                f"{power(row['probe_power_W'])}"
            )
        prev = row
    return "detection setting changes: " + "; ".join(parts)


def all_line_centre_points(series: dict[str, tuple[xr.Dataset, dict, dict]]) -> dict:
    """:func:`line_centre_points` of every series (name → (points, grid, curves)), computed
    once for the figure and its table.

    Parameters
    ----------
    series : dict
        Series name → (series fit, its calibrated runs, its runs' records).
    """
    return {name: line_centre_points(*series[name]) for name in sorted(series)}


def line_centre_table(points: dict) -> pd.DataFrame:
    """The points of :func:`line_centre_figure` as a table, every series (tidy: one row per
    run and line, with ``series``).

    Parameters
    ----------
    points : dict
        :func:`all_line_centre_points`.
    """
    frames = [pts.assign(series=name) for name, (pts, _, _) in sorted(points.items())]
    out = pd.concat(frames, ignore_index=True)
    cols = ["series", "run", "line", "probe_power_W", "saturation", "alpha", "alpha_u"]
    cols += ["model", "pull", "detector_response", "detector_setting", "intensity_ratio"]
    cols += ["intensity_ratio_uncertainty"]
    return out[cols].rename(
        columns={
            "saturation": "saturation_parameter",
            "alpha": "alpha_per_m",
            "alpha_u": "alpha_uncertainty_per_m",
            "model": "alpha_model_per_m",
            "detector_response": "detector_response_V_per_W",
        }
    )


def _beam_diameter_m(records: dict) -> float:
    """The probe beam diameter [m] of a series' runs (one per series: the sheet checks it)."""
    return float(Run.coerce(next(iter(records.values()))).beam_diameter_m or np.nan)


def _series_by_beam(series: dict) -> list[tuple[float, list[str]]]:
    """(beam diameter [m], its series coolest first) for each beam, narrowest first: the
    columns of the paper's Figures 3 and 4."""
    beams: dict[float, list[str]] = {}
    for name, (_, _, records) in sorted(series.items()):
        beams.setdefault(_beam_diameter_m(records), []).append(name)
    return [
        (d, sorted(beams[d], key=lambda n: _value(series[n][0], "temperature_C")))
        for d in sorted(beams)
    ]


def _beam_columns(n: int, width: float, height: float, lower: float):
    """A figure of ``n`` columns (one per beam), a main row and a lower row of relative height
    ``lower`` (the main row's 3), sharing x per column and y per row."""
    return plt.subplots(
        2,
        n,
        figsize=(0.6 + width * n, height),
        sharex=True,
        sharey="row",
        height_ratios=(3, lower),
        layout="constrained",
        squeeze=False,
    )


def line_centre_figure(
    series: dict[str, tuple[xr.Dataset, dict, dict]], points: dict | None = None
) -> plt.Figure:
    """Line-centre α of the open and closed line against I/I_sat (Figure 4): a column per
    probe beam diameter with each of its series (temperatures) in its own colour, the closed
    line filled with a solid model curve, the open line hollow with a dashed one; below each,
    every point's pull against its model, and the agreement stated in words above. Points of
    different detection settings (:func:`mohilbert.power_series.detector_settings`) have
    different markers, and where the setting changes is stated.

    Parameters
    ----------
    series : dict
        Series name → (series fit, its calibrated runs, its runs' records).
    points : dict, optional
        :func:`all_line_centre_points` of ``series`` when already computed.
    """
    points = points or all_line_centre_points(series)
    beams = _series_by_beam(series)
    with plt.style.context(STYLE):
        fig, axes = _beam_columns(len(beams), 3.4, 5.6, 1.3)
        notes = []
        n_settings = 1
        for c, (diameter, names) in enumerate(beams):
            ax, axp = axes[0, c], axes[1, c]
            for k, name in enumerate(names):
                fit = series[name][0]
                pulls, grid, model = points[name]
                notes += [f"{name}, {text}" for text in agreement_text(pulls).splitlines()]
                if text := settings_text(pulls):
                    notes.append(f"{name}, {text}")
                n_settings = max(n_settings, int(np.nanmax(pulls["detector_setting"])) + 1)
                t, ut = _value(fit, "temperature_C")
                color = PALETTE[k % len(PALETTE)]
                ax.plot([], [], "s", ms=4, color=color, label=f"{pm(t, ut)} °C")
                for line in ("closed", "open"):
                    face = color if line == "closed" else "none"
                    sub = pulls[pulls["line"] == line]
                    for setting, part in sub.groupby("detector_setting"):
                        marker = _SETTING_MARKERS[int(setting) % len(_SETTING_MARKERS)]
                        ax.errorbar(
                            part["saturation"],
                            part["alpha"],
                            yerr=part["alpha_u"],
                            fmt=marker,
                            ms=3.5,
                            color=color,
                            mfc=face,
                        )
                        axp.plot(
                            part["saturation"], part["pull"], marker, ms=3.0, color=color, mfc=face
                        )
                    ax.plot(
                        grid, model[line], color=color, lw=1.0, ls="-" if line == "closed" else "--"
                    )
            ax.set_title(f"beam diameter {diameter * 1e3:g} mm", fontsize=8)
            ax.set_xscale("log")
            _pull_axis(axp)
            axp.set_xlabel("effective peak intensity I / I_sat")
            if c == 0:
                ax.plot([], [], "o-", ms=3.5, color="0.3", lw=1.0, label="closed line, model")
                ax.plot(
                    [], [], "o--", ms=3.5, color="0.3", mfc="none", lw=1.0, label="open line, model"
                )
                if n_settings > 1:
                    for setting in range(n_settings):
                        marker = _SETTING_MARKERS[setting % len(_SETTING_MARKERS)]
                        ax.plot(
                            [],
                            [],
                            marker,
                            ms=3.5,
                            color="0.4",
                            label=f"detection setting {setting}",
                        )
                ax.set_ylabel("line-centre absorption coefficient α [1/m]")
                axp.set_ylabel("(data − model)/σ")
            ax.legend(fontsize=6.5)
        top = max(3.0, *(float(np.nanmax(np.abs(a.get_ylim()))) for a in axes[1]))
        ticks = [t for t in (3, 10, 30, 100, 300, 1000) if t <= 1.5 * top]
        axes[1, 0].set_yticks([-t for t in ticks[::-1]] + [0] + ticks)
        axes[1, 0].set_yticklabels([str(-t) for t in ticks[::-1]] + ["0"] + [str(t) for t in ticks])
        axes[1, 0].set_ylim(-1.3 * top, 1.3 * top)
        fig.suptitle("\n".join(notes), fontsize=6.0, x=0.01, ha="left")
    return fig


def _pull_axis(axp) -> None:
    """A pull panel: ±2σ band, zero line, a symmetric log scale beyond ±3."""
    axp.axhspan(-2, 2, color="0.85", lw=0, zorder=0)
    axp.axhline(0, color="0.5", lw=0.5)
    axp.set_yscale("symlog", linthresh=3, linscale=0.6)


def series_table(fits: dict[str, xr.Dataset]) -> pd.DataFrame:
    """Fitted shared parameters of each series with their uncertainty budgets (tidy); a
    parameter fitted per detection setting has a row per setting, ``runs`` naming its runs in
    order of power (empty for a parameter shared by all)."""
    rows = []
    for name, fit in sorted(fits.items()):
        terms = json.loads(fit.attrs["budget_terms_json"])
        names = fit["parameter"].values.tolist()
        parts = parameter_parts(fit)
        ties = parameter_ties(fit)
        grouped = {q for q in fit.attrs.get("per_detection_setting", "").split(", ") if q}
        power = (
            dict(zip(fit["run"].values.tolist(), fit["probe_power_W"].values, strict=True))
            if "probe_power_W" in fit
            else {}
        )
        first = {}
        for i, (q, _) in enumerate(parts):
            first.setdefault(q, i)
        # rows in the order of the quantities, a quantity's settings in order of power
        order = sorted(
            range(len(names)), key=lambda i: (first[parts[i][0]], power.get(parts[i][1], 0.0))
        )
        for i in order:
            p = names[i]
            quantity, run = parts[i]
            if run and (quantity not in grouped or p in ties):
                continue  # a per-run parameter, or one of a group other than its first
            members = [run] + [parts[names.index(t)][1] for t, o in ties.items() if o == p]
            row = {
                "series": name,
                "quantity": quantity,
                "runs": ", ".join(sorted(members, key=lambda r: (power.get(r, np.inf), r)))
                if run
                else "",
                "value": float(fit["value"].values[i]),
                "uncertainty": float(fit["stderr_total"].values[i]),
                "unit": str(fit["unit"].values[i]),
            }
            for j, term in enumerate(terms):
                row[f"u_{term}"] = float(fit["budget"].values[i, j])
            rows.append(row)
        rows.append(
            {
                "series": name,
                "quantity": "weak_probe_limit_saturation",
                "runs": "",
                "value": float(fit.attrs["weak_probe_limit_saturation"]),
                "uncertainty": np.nan,
                "unit": "1",
            }
        )
    return pd.DataFrame(rows)
