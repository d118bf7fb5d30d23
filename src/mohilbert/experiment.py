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
from dataclasses import replace

import numpy as np
import pandas as pd
import xarray as xr

from mohilbert.atoms.constants import get_line
from mohilbert.calibration.core import signal_model
from mohilbert.errors import AnalysisError, FitError
from mohilbert.kramers_kronig import (
    agreement,
    faraday_rotation_direct,
    group_index,
    index_from_od,
    voigt_retardance_direct,
)
from mohilbert.theory import Cell, spectrum

MODE_PAIRS = {
    "faraday": ("sigma_plus", "sigma_minus"),
    "voigt": ("parallel", "perpendicular"),
    "zero_field": ("isotropic",),  # B = 0: every polarisation sees the same index
}

DEFAULTS = {
    "free": ["temperature_C", "field_T"],
    "per_run": ["shift_MHz"],
    "max_points_per_run": 3000,
    "pad_factor": 2,
    "edge_fraction": 0.05,
    "wing_subtraction": True,  # transform OD - OD_theory and add the theory's n - 1 back
}


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


def fit_experiment(
    cal: dict[str, xr.Dataset], records: dict[str, dict], config: dict | None = None
) -> xr.Dataset:
    """Joint theory fit of all runs of an experiment → Dataset for ``results/fits/{exp}.nc``.

    Per parameter: ``value``, ``stderr`` (statistical, from the fit), ``stderr_systematic``
    (the normalisation: the fit repeated with every transmission moved by ± its correlated
    calibration uncertainty) and ``stderr_total`` (both in quadrature).
    """
    from mohilbert.fitting import (
        FitSpectrum,
        fit_spectra,
    )  # lmfit: only the fit rule pays its import

    cfg = {**DEFAULTS, **(config or {})}
    if not cal:
        raise FitError("no calibrated runs to fit")
    runs = sorted(cal)
    cell, _ = signal_model(records[runs[0]])
    spectra, correlated = [], []
    for run in runs:
        ds, rec = cal[run], records[run]
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
                polarisation=rec["polarisation"],
                sigma=ds["transmission_uncertainty"].values[idx],
                name=run,
            )
        )
        correlated.append(_correlated_transmission_sigma(ds)[idx])
    free = {name: None for name in cfg["free"]}
    for p in cfg["per_run"]:
        free[p] = (-100.0, 100.0)
    per_run = tuple(cfg["per_run"])
    result = fit_spectra(spectra, cell, free, per_spectrum=per_run)
    out = result.to_dataset()
    # systematic part: the fit's standard errors treat every point as independent, but the
    # normalisation error (baseline, drifts) is shared by all points of a run. Repeat the fit
    # with every transmission moved coherently by + and - its correlated uncertainty.
    names = out["parameter"].values.tolist()
    shifted = []
    for sign in (1.0, -1.0):
        moved = [
            replace(sp, data=sp.data + sign * sc)
            for sp, sc in zip(spectra, correlated, strict=True)
        ]
        refit = fit_spectra(moved, result.cell, free, per_spectrum=per_run)
        shifted.append(np.array([refit.values[n] for n in names]))
    best = out["value"].values
    systematic = 0.5 * (np.abs(shifted[0] - best) + np.abs(shifted[1] - best))
    out["stderr_systematic"].values = systematic
    out["stderr_systematic"].attrs["long_name"] = (
        "systematic uncertainty from the normalisation (fit repeated with the transmission "
        "moved by +- its correlated calibration uncertainty)"
    )
    out["stderr_total"].values = np.hypot(out["stderr"].values, systematic)
    out.attrs.update(
        title=f"joint theory fit of experiment {records[runs[0]]['experiment']}",
        experiment=records[runs[0]]["experiment"],
        runs=", ".join(runs),
        cell_json=json.dumps(
            {k: (v if not isinstance(v, dict) else v) for k, v in vars(result.cell).items()},
            default=str,
        ),
    )
    return out


def fitted_cell(records: dict[str, dict], fit: xr.Dataset) -> tuple[Cell, dict[str, float]]:
    """The base cell with the fitted shared values, and each run's fitted shift [MHz]."""
    runs = sorted(records)
    cell, _ = signal_model(records[runs[0]])
    values = dict(zip(fit["parameter"].values.tolist(), fit["value"].values.tolist(), strict=True))
    shared = {
        k: v
        for k, v in values.items()
        if "__" not in k and not k.startswith(("jones_", "percent_"))
    }
    iso = {k.removeprefix("percent_"): v for k, v in values.items() if k.startswith("percent_")}
    if iso:
        shared["isotope_percent"] = iso
    shifts = {r: values.get(f"shift_MHz__{r}", shared.get("shift_MHz", 0.0)) for r in runs}
    shared.pop("shift_MHz", None)
    return cell.with_(**shared), shifts


def _stderr(fit: xr.Dataset, name: str) -> float:
    """Total 1-sigma uncertainty of a fitted parameter (0 when absent or undefined)."""
    names = fit["parameter"].values.tolist()
    if name not in names:
        return 0.0
    value = float(fit["stderr_total"].values[names.index(name)])
    return value if np.isfinite(value) else 0.0


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
    records: dict[str, dict],
    fit: xr.Dataset,
    config: dict | None = None,
) -> xr.Dataset:
    """Kramers–Kronig analysis of one experiment → Dataset for ``results/hilbert/{exp}.nc``."""
    cfg = {**DEFAULTS, **(config or {})}
    runs = sorted(cal)
    exp = records[runs[0]]["experiment"]
    geometry = records[runs[0]]["geometry"]
    cell, shifts = fitted_cell(records, fit)
    ln = get_line(cell.element, cell.line)
    kL = 2 * np.pi / ln.wavelength_m * cell.length_m
    names = MODE_PAIRS.get(geometry, ())
    mode_runs = {}
    for run in runs:
        pol = "isotropic" if geometry == "zero_field" else records[run]["polarisation"]
        if pol in names and "polarimeter" not in cal[run]:
            if pol in mode_runs:
                # never drop a run silently: which one is "the" spectrum is the user's call
                raise AnalysisError(
                    f"experiment {exp}: runs {mode_runs[pol]} and {run} are both {pol}; the "
                    "Hilbert analysis takes one run per eigen-polarisation: put repeated or "
                    "other-power scans in experiments of their own (column 'experiment')"
                )
            mode_runs[pol] = run
    if not mode_runs:
        raise AnalysisError(
            f"experiment {exp}: no eigen-polarisation run ({' or '.join(names) or 'faraday/voigt geometry'}); "
            "the Hilbert analysis needs sigma_plus/sigma_minus (Faraday) or parallel/perpendicular (Voigt) runs"
        )
    modes = [m for m in names if m in mode_runs]
    grid = _common_grid(cal, [mode_runs[m] for m in modes])
    mean_shift = float(np.mean([shifts[mode_runs[m]] for m in modes]))
    theory = spectrum(grid, cell.with_(shift_MHz=mean_shift), "x")
    theory_mode = {str(m): i for i, m in enumerate(theory["mode"].values)}
    theory_mode.setdefault("isotropic", 0)
    data = {
        k: []
        for k in (
            "index",
            "index_uncertainty",
            "theory_index",
            "group_index",
            "theory_group_index",
            "optical_depth",
            "optical_depth_uncertainty",
            "theory_optical_depth",
            "filled",
            "edge",
        )
    }
    wing_used = []
    metrics: dict[str, dict] = {}
    for m in modes:
        ds = cal[mode_runs[m]]
        run_theory = spectrum(grid, cell.with_(shift_MHz=shifts[mode_runs[m]]), "x")
        n_mode = run_theory["n"].values[theory_mode[m]]
        od = _on(ds, "optical_depth", grid)
        sig = _on(ds, "optical_depth_uncertainty", grid)
        sig_c = None
        if "optical_depth_uncertainty_correlated" in ds:
            sig_c = _on(ds, "optical_depth_uncertainty_correlated", grid)
        sat = _on(ds, "saturated", grid) > 0.5
        model_od = 2 * kL * n_mode.imag
        model_idx = n_mode.real - 1
        use_wings = cfg["wing_subtraction"]
        if use_wings == "auto":
            edge_od = max(np.abs(model_od[:5]).max(), np.abs(model_od[-5:]).max())
            use_wings = bool(edge_od > 0.01)
        wing_used.append(f"{m}: {'yes' if use_wings else 'no'}")
        # without wing subtraction the model OD only fills saturated points
        res = index_from_od(
            grid,
            od,
            kL,
            od_sigma=sig,
            od_sigma_correlated=sig_c,
            model_od=model_od,
            model_index=model_idx if use_wings else None,
            saturated=sat,
            pad_factor=cfg["pad_factor"],
            edge_fraction=cfg["edge_fraction"],
        )
        # frequency-axis uncertainty of the calibration (linearisation, offset, per-run shift)
        a = ds.attrs
        sigma_nu = float(
            np.sqrt(
                np.nansum(
                    [
                        a.get("linearisation_rms_MHz", 0.0) ** 2,
                        a.get("axis_offset_stderr_MHz", 0.0) ** 2,
                        _stderr(fit, f"shift_MHz__{mode_runs[m]}") ** 2,
                        # the run's fitted shift itself measures how far the calibrated axis is off
                        shifts[mode_runs[m]] ** 2,
                    ]
                )
            )
        )
        slope = np.gradient(model_idx, grid)
        total_sigma = np.hypot(res["index_sigma"], slope * sigma_nu)
        res["index_sigma"] = total_sigma
        data["index"].append(res["index"])
        data["index_uncertainty"].append(total_sigma)
        data["theory_index"].append(model_idx)
        data["group_index"].append(group_index(grid, res["index"], ln.frequency_Hz))
        data["theory_group_index"].append(group_index(grid, model_idx, ln.frequency_Hz, window=5))
        data["optical_depth"].append(od)
        data["optical_depth_uncertainty"].append(sig)
        data["theory_optical_depth"].append(model_od)
        data["filled"].append(res["filled"])
        data["edge"].append(res["edge"])
        valid = ~res["edge"] & ~res["filled"]
        metrics[f"index_{m}"] = agreement(res["index"], model_idx, res["index_sigma"], valid)
    coords = {
        "detuning": (
            "detuning",
            grid,
            {"units": "MHz", "long_name": "laser detuning from the line centre"},
        ),
        "mode": ("mode", modes, {"units": "1", "long_name": "eigen-polarisation"}),
    }
    attrs_of = {
        "index": ("1", "Re(n) - 1 from the Hilbert transform of the measured optical depth"),
        "index_uncertainty": ("1", "standard uncertainty of the measured Re(n) - 1"),
        "theory_index": ("1", "Re(n) - 1 of the theory at the fitted parameters"),
        "group_index": ("1", "group index from the measured index"),
        "theory_group_index": ("1", "group index of the theory"),
        "optical_depth": ("1", "measured optical depth"),
        "optical_depth_uncertainty": ("1", "standard uncertainty of the optical depth"),
        "theory_optical_depth": ("1", "theory optical depth at the fitted parameters"),
        "filled": ("1", "1 where a saturated point was filled from the theory"),
        "edge": ("1", "1 near the window edges"),
    }
    out = {
        k: (
            ("mode", "detuning"),
            np.asarray(v, dtype=float if k not in ("filled", "edge") else np.int8),
            {"units": attrs_of[k][0], "long_name": attrs_of[k][1]},
        )
        for k, v in data.items()
    }
    idx_of = {m: i for i, m in enumerate(modes)}
    valid_all = ~np.any(np.asarray(data["edge"]), axis=0) & ~np.any(
        np.asarray(data["filled"]), axis=0
    )
    if len(modes) == 2:
        a, b = modes
        da, db = np.asarray(data["index"][idx_of[a]]), np.asarray(data["index"][idx_of[b]])
        sa, sb = (
            np.asarray(data["index_uncertainty"][idx_of[a]]),
            np.asarray(data["index_uncertainty"][idx_of[b]]),
        )
        if geometry == "faraday":
            qty, label, unit_name = "rotation", "Faraday rotation", "rotation"
            indirect = 0.5 * kL * (db - da)  # (kL/2) Re(n_sigma- - n_sigma+)
            sigma = 0.5 * kL * np.hypot(sa, sb)
            th = theory["rotation"].values
            dich = (
                "circular_dichroism",
                np.asarray(data["optical_depth"][idx_of[a]])
                - np.asarray(data["optical_depth"][idx_of[b]]),
                "circular dichroism OD(sigma+) - OD(sigma-)",
            )
        else:
            qty, label, unit_name = "retardance", "Voigt retardance", "retardance"
            indirect = kL * (db - da)  # kL Re(n_perp - n_par)
            sigma = kL * np.hypot(sa, sb)
            th = theory["retardance"].values
            dich = (
                "linear_dichroism",
                np.asarray(data["optical_depth"][idx_of[a]])
                - np.asarray(data["optical_depth"][idx_of[b]]),
                "linear dichroism OD(parallel) - OD(perpendicular)",
            )
        out[f"{qty}_indirect"] = (
            "detuning",
            indirect,
            {"units": "rad", "long_name": f"{label} from the two Hilbert-transformed indices"},
        )
        out[f"{qty}_indirect_uncertainty"] = (
            "detuning",
            sigma,
            {"units": "rad", "long_name": f"standard uncertainty of the indirect {unit_name}"},
        )
        out[f"{qty}_theory"] = (
            "detuning",
            th,
            {"units": "rad", "long_name": f"{label} of the theory at the fitted parameters"},
        )
        out[dich[0]] = ("detuning", dich[1], {"units": "1", "long_name": dich[2]})
        metrics[f"{qty}_indirect_vs_theory"] = agreement(indirect, th, sigma, valid_all)
        pol_runs = [r for r in runs if "polarimeter" in cal[r]]
        if pol_runs:
            pr = pol_runs[0]
            s = _on(cal[pr], "polarimeter", grid)
            s_sig = _on(cal[pr], "polarimeter_uncertainty", grid)
            ta = np.exp(-np.asarray(data["optical_depth"][idx_of[a]]))
            tb = np.exp(-np.asarray(data["optical_depth"][idx_of[b]]))
            if geometry == "faraday":
                direct = faraday_rotation_direct(s, ta, tb)
                d_sigma = s_sig / np.maximum(
                    2 * np.sqrt(ta * tb) * np.abs(np.cos(2 * direct)), 1e-3
                )
            else:
                direct = voigt_retardance_direct(s, ta, tb)
                d_sigma = s_sig / np.maximum(np.sqrt(ta * tb) * np.abs(np.cos(direct)), 1e-3)
            out[f"{qty}_direct"] = (
                "detuning",
                direct,
                {
                    "units": "rad",
                    "long_name": f"{label} measured directly with the polarimeter (run {pr})",
                },
            )
            out[f"{qty}_direct_uncertainty"] = (
                "detuning",
                d_sigma,
                {"units": "rad", "long_name": f"standard uncertainty of the direct {unit_name}"},
            )
            metrics[f"{qty}_direct_vs_theory"] = agreement(direct, th, d_sigma, valid_all)
            metrics[f"{qty}_indirect_vs_direct"] = agreement(
                indirect, direct, np.hypot(sigma, d_sigma), valid_all
            )
    ds = xr.Dataset(out, coords=coords)
    ds.attrs.update(
        title=f"Hilbert-transform analysis of experiment {exp}",
        experiment=exp,
        geometry=geometry,
        runs=", ".join(f"{m}={mode_runs[m]}" for m in modes),
        cell_length_m=cell.length_m,
        fitted_temperature_C=cell.temperature_C,
        fitted_field_T=cell.field_T,
        wing_subtraction="; ".join(wing_used),
        pad_factor=int(cfg["pad_factor"]),
        metrics_json=json.dumps(metrics, sort_keys=True),
    )
    for name, vals in metrics.items():
        for k, v in vals.items():
            ds.attrs[f"{name}_{k}"] = v
    return ds


def summary_table(fits: dict[str, xr.Dataset], hilberts: dict[str, xr.Dataset]) -> pd.DataFrame:
    """One row per experiment: fitted parameters with their statistical, systematic and total
    uncertainties, and agreement metrics."""
    rows = []
    for exp in sorted(set(fits) | set(hilberts)):
        row: dict = {"experiment": exp}
        fit = fits.get(exp)
        if fit is not None:
            for k, name in enumerate(fit["parameter"].values):
                row[name] = fit["value"].values[k]
                for var in ("stderr", "stderr_systematic", "stderr_total"):
                    row[f"{name}_{var}"] = fit[var].values[k]
            row["fit_redchi"] = fit.attrs.get("redchi")
            row["fit_runs"] = fit.attrs.get("runs")
        hil = hilberts.get(exp)
        if hil is not None:
            for name, vals in json.loads(hil.attrs["metrics_json"]).items():
                for k, v in vals.items():
                    row[f"{name}_{k}"] = v
        rows.append(row)
    return pd.DataFrame(rows)
