"""Figures and table of a power series (the HIP-ElecSus paper's Figures 3 and 4, regenerated).

* :func:`spectra_figure` — measured spectra of a series at ≲ 1, ≈ 10 and ≳ 100 I_sat with the
  joint intense-probe model and the residuals [%] (the paper's Figure 3, one column);
* :func:`line_centre_figure` — line-centre absorption coefficient α of the open and the
  closed transition against I/I_sat: points from the calibrated spectra (with their
  uncertainty), curves from the model at each series' fitted parameters, propagated through
  the cell (the paper's Figure 4, one panel);
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

from mohilbert.atoms.hamiltonian import line_list, populations
from mohilbert.atoms.pumping import pumping_system
from mohilbert.calibration.core import probe_model
from mohilbert.experiment import fitted_cell
from mohilbert.formatting import pm
from mohilbert.intense import field_frame_components, saturation_intensity_W_m2
from mohilbert.plotting import PALETTE, STYLE, THEORY
from mohilbert.power_series import _points, intensity_scale, run_models
from mohilbert.theory import intense_arrays

#: half-width of the window around a line centre for its data point [MHz]
_CENTRE_WINDOW_MHZ = 25.0


def _value(fit: xr.Dataset, name: str) -> tuple[float, float]:
    names = fit["parameter"].values.tolist()
    i = names.index(name)
    return float(fit["value"].values[i]), float(fit["stderr_total"].values[i])


def open_and_closed_lines(fit: xr.Dataset, records: dict) -> dict[str, float]:
    """Frequencies [MHz] of the closed line (the strong line whose excited state decays only
    back, e.g. the stretched state) and the open line (the strong line that leaks most) of the
    main isotope for the series' probe, at its fitted field."""
    cell, _ = fitted_cell(records, fit)
    rec = records[sorted(records)[0]]
    eps = field_frame_components(
        np.array([1, 1j]) / np.sqrt(2)
        if rec["polarisation"] == "sigma_plus"
        else np.array([1, -1j]) / np.sqrt(2),
        cell.b_hat(),
    )
    iso = "87Rb" if cell.element == "Rb" else None
    if iso is None:
        raise ValueError("open/closed lines are defined here for Rb (87Rb) only")
    field_g = 1e4 * cell.field_T
    ll = line_list(iso, cell.line, field_g)
    sysm = pumping_system(iso, cell.line, field_g, eps, populations(ll, None), 6.065)
    ee, gg = sysm.driven_pairs()
    strong = np.abs(sysm.coupling[ee, gg]) ** 2 > 0.3
    e, g = ee[strong], gg[strong]
    leak = 1 - sysm.branching[e, g]
    nu = sysm.transition_MHz[e, g]
    return {"closed": float(nu[np.argmin(leak)]), "open": float(nu[np.argmax(leak)])}


def data_line_centre_alpha(
    cal: xr.Dataset, centre_MHz: float, length_m: float
) -> tuple[float, float]:
    """α = OD/L [1/m] at a line centre from a calibrated spectrum, with its standard
    uncertainty: a parabola through the optical depth within ±25 MHz (weighted), evaluated at
    its vertex; the correlated part of the OD uncertainty (normalisation) added in full."""
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


def series_line_centres(fit: xr.Dataset, cal: dict[str, xr.Dataset], records: dict) -> pd.DataFrame:
    """Per run of a series: effective peak I/I_sat and the data's line-centre α (with
    uncertainty) of the open and the closed line."""
    cell, shifts = fitted_cell(records, fit)
    lines = open_and_closed_lines(fit, records)
    isat = saturation_intensity_W_m2(cell.element, cell.line)
    rows = []
    for run in sorted(cal):
        probe = probe_model(records[run])
        s = probe.peak_intensity_W_m2 * intensity_scale(fit) / isat
        for name, nu in lines.items():
            a, u = data_line_centre_alpha(cal[run], nu + shifts[run], cell.length_m)
            rows.append({"run": run, "saturation": s, "line": name, "alpha": a, "alpha_u": u})
    return pd.DataFrame(rows)


def model_line_centre_alpha(
    fit: xr.Dataset, records: dict, saturation: np.ndarray, z_slices: int = 10
) -> dict[str, np.ndarray]:
    """Model α = −ln T / L [1/m] at the open and closed line centres against the effective
    peak I/I_sat, at the series' fitted parameters, propagated through the cell."""
    cell, _ = fitted_cell(records, fit)
    rec = records[sorted(records)[0]]
    probe0 = probe_model(rec)
    isat = saturation_intensity_W_m2(cell.element, cell.line)
    lines = open_and_closed_lines(fit, records)
    x = np.array([lines["closed"], lines["open"]])
    out = {"closed": [], "open": []}
    for s in saturation:
        power = s * isat / (probe0.peak_intensity_W_m2 / probe0.power_W)
        probe = replace(probe0, power_W=float(power), z_slices=z_slices)
        t = intense_arrays(x, cell, rec["polarisation"], probe)["S0"]
        out["closed"].append(-np.log(t[0]) / cell.length_m)
        out["open"].append(-np.log(t[1]) / cell.length_m)
    return {k: np.array(v) for k, v in out.items()}


def _title(fit: xr.Dataset, records: dict) -> str:
    rec = records[sorted(records)[0]]
    t, ut = _value(fit, "temperature_C")
    return f"{1e3 * float(rec['beam_diameter_m']):.2g} mm beam, T = {pm(t, ut)} °C"


def pick_runs(fit: xr.Dataset, targets=(1.0, 10.0, 100.0)) -> list[str]:
    """The runs whose effective I/I_sat is nearest (in log) to each target."""
    s = fit["saturation_parameter"].values
    runs = fit["run"].values.tolist()
    return [runs[int(np.argmin(np.abs(np.log(s / t))))] for t in targets]


def spectra_figure(
    fit: xr.Dataset, cal: dict[str, xr.Dataset], records: dict, runs: list[str] | None = None
) -> plt.Figure:
    """Measured spectra with the joint model and residuals [%] (Figure 3, one column)."""
    runs = runs or pick_runs(fit)
    with plt.style.context(STYLE):
        fig, (ax, axr) = plt.subplots(
            2, 1, figsize=(6.0, 5.2), sharex=True, height_ratios=(3, 1.4), layout="constrained"
        )
        for k, run in enumerate(runs):
            ds, rec = cal[run], records[run]
            idx = _points(ds, 4000)
            x, t_int, _, probe = run_models(fit, ds, rec, records, idx)
            s = float(fit["saturation_parameter"].sel(run=run))
            y = ds["transmission"].values[idx]
            color = PALETTE[k % len(PALETTE)]
            x_ghz = x / 1e3
            ax.plot(x_ghz, y, color=color, lw=1.2, alpha=0.8, label=f"{run}: {s:.3g} I_sat")
            ax.plot(x_ghz, t_int, **THEORY)
            axr.plot(x_ghz, 100 * (y - t_int), color=color, lw=0.6, alpha=0.8)
        ax.plot([], [], **THEORY, label="intense-probe model (joint fit)")
        ax.set_ylabel("transmission")
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(_title(fit, records), fontsize=9)
        axr.axhline(0, color="0.5", lw=0.5)
        axr.set_ylabel("residual [%]")
        axr.set_xlabel("detuning from the D2 line centre [GHz]")
    return fig


def line_centre_figure(series: dict[str, tuple[xr.Dataset, dict, dict]]) -> plt.Figure:
    """Line-centre α of the open and closed line against I/I_sat (Figure 4, one panel).

    ``series`` maps a series name to (fit, calibrated runs, records)."""
    with plt.style.context(STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 4.2), layout="constrained")
        for k, (_name, (fit, cal, records)) in enumerate(sorted(series.items())):
            table = series_line_centres(fit, cal, records)
            s_all = table["saturation"].values
            grid = np.geomspace(max(s_all.min() / 3, 1e-4), s_all.max() * 3, 40)
            model = model_line_centre_alpha(fit, records, grid)
            t, ut = _value(fit, "temperature_C")
            for j, line in enumerate(("closed", "open")):
                color = PALETTE[(2 * k + j) % len(PALETTE)]
                sub = table[table["line"] == line]
                ax.errorbar(
                    sub["saturation"],
                    sub["alpha"],
                    yerr=sub["alpha_u"],
                    fmt="o",
                    ms=3.5,
                    color=color,
                    label=f"{line}, {pm(t, ut)} °C",
                )
                ax.plot(grid, model[line], color=color, lw=1.0)
        ax.plot([], [], color="0.3", lw=1.0, label="model at the fitted parameters")
        ax.set_xscale("log")
        ax.set_xlabel("effective peak intensity I / I_sat")
        ax.set_ylabel("line-centre absorption coefficient α [1/m]")
        ax.legend(fontsize=7)
    return fig


def series_table(fits: dict[str, xr.Dataset]) -> pd.DataFrame:
    """Fitted shared parameters of each series with their uncertainty budgets (tidy)."""
    rows = []
    for name, fit in sorted(fits.items()):
        terms = json.loads(fit.attrs["budget_terms_json"])
        names = fit["parameter"].values.tolist()
        for i, p in enumerate(names):
            if "__" in p:
                continue
            row = {
                "series": name,
                "quantity": p,
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
                "value": float(fit.attrs["weak_probe_limit_saturation"]),
                "uncertainty": np.nan,
                "unit": "1",
            }
        )
    return pd.DataFrame(rows)
