"""Quick look at any netCDF file mohilbert writes (``mohilbert plot FILE.nc``).

One figure per kind of file, recognised from its variables: a theory spectrum, a raw
acquisition, a calibrated run, a joint fit or a Hilbert analysis. The calibrated run reuses the
calibration figure; the others are drawn here.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from mohilbert.formatting import pm
from mohilbert.parameters import PROBE_PARAMETERS
from mohilbert.plotting.calibration import calibration_figure
from mohilbert.plotting.common import (
    DATA_LW,
    LEGEND_ABOVE,
    MODE_LABEL,
    PALETTE,
    STYLE,
    THEORY,
    decade,
    label,
    residual_panel,
    scaled_label,
)
from mohilbert.records import parameter_parts, parameter_ties

KINDS = ("theory", "raw", "calibrated", "fit", "hilbert")


def file_kind(ds: xr.Dataset) -> str | None:
    """Which of :data:`KINDS` a dataset is (``None`` for a file mohilbert did not write)."""
    if "fringe_residual" in ds and "transmission" in ds:
        return "calibrated"
    if "index" in ds and "theory_index" in ds:
        return "hilbert"
    if "parameter" in ds.dims and any(str(v).startswith("fit_") for v in ds.data_vars):
        return "fit"
    if "S0" in ds and "detuning" in ds.dims:
        return "theory"
    if "time" in ds.dims and ds.data_vars:
        return "raw"
    return None


def quick_look(ds: xr.Dataset, name: str = "") -> plt.Figure:
    """The quick-look figure of a mohilbert netCDF file.

    Parameters
    ----------
    ds : xarray.Dataset
        A file written by ``mohilbert theory``, ``mohilbert ingest`` or the workflow.
    name : str
        The file's name, for the title and the error message.

    Raises
    ------
    ValueError
        If the dataset is none of :data:`KINDS`.
    """
    kind = file_kind(ds)
    if kind is None:
        raise ValueError(
            f"{name or 'dataset'}: not a file mohilbert writes (a theory spectrum, raw, "
            "calibrated, fit or Hilbert netCDF); nothing to plot"
        )
    if kind == "calibrated":
        return calibration_figure(ds)
    return {"theory": _theory, "raw": _raw, "fit": _fit, "hilbert": _hilbert}[kind](ds, name)


def _theory(ds: xr.Dataset, name: str) -> plt.Figure:
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(3, 1, figsize=(7.0, 7.5), sharex=True, layout="constrained")
        x = ds["detuning"].values / 1e3
        axes[0].plot(x, ds["S0"].values, color=PALETTE[0], lw=DATA_LW, label="S0")
        axes[0].set_ylabel(label(ds["S0"], "transmission S0"))
        for i, mode in enumerate(ds["mode"].values if "mode" in ds.dims else []):
            text = MODE_LABEL.get(str(mode), str(mode))
            n_minus_1 = np.real(ds["n"].values[i]) - 1
            axes[1].plot(x, n_minus_1 * 1e5, color=PALETTE[i], label=text)
        axes[1].set_ylabel("Re(n) − 1  [×10⁻⁵]")
        axes[1].legend(ncols=2, **LEGEND_ABOVE)
        qty = next((q for q in ("rotation", "retardance") if q in ds), None)
        if qty:
            axes[2].plot(x, ds[qty].values, color=PALETTE[2])
            axes[2].set_ylabel(label(ds[qty], qty))
        axes[2].set_xlabel("detuning [GHz]")
        fig.suptitle(f"theory spectrum {name}".strip())
        return fig


def _raw(ds: xr.Dataset, name: str) -> plt.Figure:
    names = [v for v in ds.data_vars if ds[v].dims == ("time",)]
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(
            len(names),
            1,
            figsize=(7.0, 1.2 + 1.6 * len(names)),
            sharex=True,
            squeeze=False,
            layout="constrained",
        )
        t = ds["time"].values * 1e3
        for ax, v, color in zip(axes[:, 0], names, PALETTE * 4, strict=False):
            ax.plot(t, ds[v].values, color=color, lw=0.6)
            ax.set_ylabel(label(ds[v], v))
        axes[-1, 0].set_xlabel("time [ms]")
        fig.suptitle(ds.attrs.get("title", f"raw traces {name}"))
        return fig


def _fit(ds: xr.Dataset, name: str) -> plt.Figure:
    runs = sorted(str(v)[len("fit_") :] for v in ds.data_vars if str(v).startswith("fit_"))
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(
            2 * len(runs),
            1,
            figsize=(7.0, 1.0 + 3.0 * len(runs)),
            sharex=True,
            layout="constrained",
            gridspec_kw={"height_ratios": [1.0, 0.45] * len(runs)},
        )
        for i, run in enumerate(runs):
            x = ds[f"detuning_{run}"].values / 1e3
            data, model = ds[f"data_{run}"].values, ds[f"fit_{run}"].values
            ax, ax_res = axes[2 * i], axes[2 * i + 1]
            ax.plot(x, data, color=PALETTE[i % 6], lw=DATA_LW, alpha=0.8, label=f"measured {run}")
            ax.plot(x, model, **THEORY, label="best fit")
            ax.set_ylabel(label(ds[f"data_{run}"], "S0"))
            ax.legend(ncols=2, **LEGEND_ABOVE)
            residual_panel(ax_res, x, [data - model], None, [run], "Δ [%]", 100.0)
        axes[-1].set_xlabel("detuning [GHz]")
        pars = [str(p) for p in ds["parameter"].values]
        # per run or per detection setting, a probe parameter once per value (not its ties)
        ties = parameter_ties(ds)
        text = ", ".join(
            f"{p} = {pm(float(v), float(e))}"
            for p, (q, _), v, e in zip(
                pars,
                parameter_parts(ds),
                ds["value"].values,
                ds["stderr_total"].values,
                strict=True,
            )
            if q in ("temperature_C", "field_T", *PROBE_PARAMETERS) and p not in ties
        )
        fig.suptitle(f"{ds.attrs.get('title', name)}\n{text}")
        return fig


def _hilbert(ds: xr.Dataset, name: str) -> plt.Figure:
    modes = [str(m) for m in ds["mode"].values]
    qty = next((q for q in ("rotation", "retardance") if f"{q}_indirect" in ds), None)
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(
            3 if qty else 2, 1, figsize=(7.0, 7.5), sharex=True, layout="constrained"
        )
        x = ds["detuning"].values / 1e3
        res, sig = [], []
        for i, mode in enumerate(modes):
            text = MODE_LABEL.get(mode, mode)
            axes[0].plot(x, ds["index"].values[i] * 1e5, color=PALETTE[i], label=f"Hilbert {text}")
            axes[0].plot(x, ds["theory_index"].values[i] * 1e5, **THEORY)
            res.append(ds["index"].values[i] - ds["theory_index"].values[i])
            sig.append(ds["index_uncertainty"].values[i])
        axes[0].set_ylabel("Re(n) − 1  [×10⁻⁵]")
        axes[0].legend(ncols=2, **LEGEND_ABOVE)
        p = decade(np.concatenate(sig))
        residual_panel(
            axes[1],
            x,
            res,
            sig,
            [MODE_LABEL.get(m, m) for m in modes],
            scaled_label("Δ(n − 1)", "1", p),
            10.0**-p,
        )
        if qty:
            axes[2].plot(x, ds[f"{qty}_indirect"].values, color=PALETTE[2], label="indirect")
            axes[2].plot(x, ds[f"{qty}_theory"].values, **THEORY, label="theory")
            axes[2].set_ylabel(label(ds[f"{qty}_theory"], qty))
            axes[2].legend(ncols=2, **LEGEND_ABOVE)
        axes[-1].set_xlabel("detuning [GHz]")
        fig.suptitle(ds.attrs.get("title", name))
        return fig
