"""The campaign overview: every experiment's fitted temperature and field with their
uncertainties, about a round reference value."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from mohilbert.plotting.common import PALETTE, STYLE, fit_values


def overview_figure(fits: dict[str, xr.Dataset]) -> plt.Figure:
    """Campaign overview: fitted temperature and field per experiment with ±1σ error bars.

    The field is drawn as B − B₀ in µT about a round reference B₀ that the axis label
    states (no offset notation); the temperature in °C.

    Parameters
    ----------
    fits : dict of str to xarray.Dataset
        ``results/fits/<experiment>.nc`` by experiment name.
    """
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), layout="constrained")
        names = sorted(fits)
        for ax, par in zip(axes, ("temperature_C", "field_T"), strict=True):
            vals, errs = [], []
            for n in names:
                v, e = fit_values(fits[n])
                vals.append(v.get(par, np.nan))
                errs.append(e.get(par, np.nan))
            vals, errs = np.array(vals), np.array(errs)
            if par == "field_T":
                ref = reference_value(vals)
                vals, errs = (vals - ref) * 1e6, errs * 1e6
                ax.set_ylabel(f"field B − {ref:g} T [µT]")
            else:
                ax.set_ylabel("temperature [°C]")
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            ax.errorbar(range(len(names)), vals, yerr=errs, fmt="o", color=PALETTE[0], capsize=3)
            ax.set_xticks(range(len(names)), names)
            ax.set_xlim(-0.5, len(names) - 0.5)
        fig.suptitle("fitted parameters per experiment (±1σ: statistical and systematic)")
        return fig


def reference_value(values: np.ndarray) -> float:
    """A round number near the values' mean (its leading two significant digits of the
    spread's scale), to draw small differences about; 0 when nothing is finite."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.0
    mean = float(v.mean())
    if mean == 0:
        return 0.0
    step = 10.0 ** np.floor(np.log10(abs(mean)) - 1)
    return float(np.round(mean / step) * step)
