"""The comparison figure of one experiment (transmission, index, rotation or retardance
against the joint fit, with residuals) and its group-index figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from mohilbert.formatting import pm
from mohilbert.plotting.common import (
    DATA_LW,
    LEGEND_ABOVE,
    MODE_LABEL,
    PALETTE,
    STYLE,
    THEORY,
    _band,
    _masked,
    decade,
    fit_values,
    label,
    residual_panel,
    scaled_label,
    tag_panels,
)
from mohilbert.products import HilbertAttrs

GEOMETRY_TITLE = {
    "faraday": "Faraday geometry (B ∥ k), circular eigen-polarisations",
    "voigt": "Voigt geometry (B ⊥ k), linear eigen-polarisations",
}


def experiment_figure(hil: xr.Dataset, cal: dict[str, xr.Dataset], fit: xr.Dataset) -> plt.Figure:
    """Paper-style comparison of one experiment with the jointly fitted theory.

    Panels: (a) transmission of each eigen-polarisation with the theory and (b) its
    residual in percent; (c) Re(n) − 1 from the Hilbert transform and (d) its residual;
    (e) rotation (Faraday) or retardance (Voigt) three ways and (f) the indirect estimate's
    residual. Every residual panel shows the raw points faint, their binned mean and the
    measurement's ±1σ band, so the uncertainty is visible at the residuals' scale.

    Parameters
    ----------
    hil : xarray.Dataset
        ``results/hilbert/<experiment>.nc``.
    cal : dict of str to xarray.Dataset
        Calibrated run datasets by run name.
    fit : xarray.Dataset
        ``results/fits/<experiment>.nc``.
    """
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(
            6,
            1,
            figsize=(7.0, 12.0),
            sharex=True,
            layout="constrained",
            gridspec_kw={"height_ratios": [1.2, 0.55, 1.2, 0.55, 1.2, 0.55]},
        )
        x_ghz = hil["detuning"].values / 1e3
        _transmission_panels(axes[0], axes[1], hil, cal, x_ghz)
        _index_panels(axes[2], axes[3], hil, x_ghz)
        qty = next((q for q in ("rotation", "retardance") if f"{q}_indirect" in hil), None)
        if qty:
            _rotation_panels(axes[4], axes[5], hil, qty, x_ghz)
        else:
            for ax in axes[4:]:
                ax.text(
                    0.5,
                    0.5,
                    "one eigen-polarisation only: no rotation/retardance",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                )
                ax.set_yticks([])
        axes[5].set_xlabel("detuning [GHz]")
        fig.suptitle(experiment_title(hil, fit))
        tag_panels(axes)
        return fig


def _transmission_panels(ax, ax_res, hil: xr.Dataset, cal: dict[str, xr.Dataset], x_ghz) -> None:
    """Each eigen-mode's measured transmission with the fitted theory, and the residuals in
    percent."""
    runs = run_of_mode(hil)
    res, sig, names = [], [], []
    for i, mode in enumerate(str(m) for m in hil["mode"].values):
        c = cal[runs[mode]]
        name = MODE_LABEL.get(mode, mode)
        names.append(name)
        xc = c["detuning"].values / 1e3
        ax.plot(
            xc,
            c["transmission"].values,
            color=PALETTE[i],
            lw=DATA_LW,
            alpha=0.8,
            label=f"measured {name} (run {runs[mode]})",
        )
        t_theory = np.exp(-hil["theory_optical_depth"].values[i])
        ax.plot(x_ghz, t_theory, **THEORY, label="theory (fit)" if i == 0 else None)
        res.append(np.interp(x_ghz, xc, c["transmission"].values) - t_theory)
        sig.append(np.interp(x_ghz, xc, c["transmission_uncertainty"].values))
    ax.set_ylabel("transmission")
    ax.legend(ncols=3, **LEGEND_ABOVE)
    residual_panel(ax_res, x_ghz, res, sig, names, "Δ transmission [%]", 100.0)


def _index_panels(ax, ax_res, hil: xr.Dataset, x_ghz) -> None:
    """Each eigen-mode's Re(n) − 1 from the Hilbert transform (band) with the theory, and
    the residuals at the decade their uncertainty needs."""
    res, sig, names = [], [], []
    for i, mode in enumerate(str(m) for m in hil["mode"].values):
        name = MODE_LABEL.get(mode, mode)
        names.append(name)
        _band(
            ax,
            x_ghz,
            _masked(hil, i, "index") * 1e5,
            hil["index_uncertainty"].values[i] * 1e5,
            PALETTE[i],
            f"Hilbert transform {name}",
        )
        ax.plot(
            x_ghz,
            hil["theory_index"].values[i] * 1e5,
            **THEORY,
            label="theory (fit)" if i == 0 else None,
        )
        res.append(_masked(hil, i, "index") - hil["theory_index"].values[i])
        sig.append(hil["index_uncertainty"].values[i])
    ax.set_ylabel("Re(n) − 1  [×10⁻⁵]")
    ax.legend(ncols=3, **LEGEND_ABOVE)
    p = decade(np.concatenate(sig))
    residual_panel(ax_res, x_ghz, res, sig, names, scaled_label("Δ(n − 1)", "1", p), 10.0**-p)


def experiment_title(hil: xr.Dataset, fit: xr.Dataset) -> str:
    """'<geometry in words>' (the experiment's name first when it is not the geometry's) and
    the joint fit's temperature and field with their total uncertainties."""
    values, errs = fit_values(fit)
    a = HilbertAttrs.from_dataset(hil)
    geometry = a.geometry
    head = GEOMETRY_TITLE.get(geometry, f"{geometry} geometry")
    if a.experiment not in ("", geometry):
        head = f"{a.experiment}: {head}"
    return (
        f"{head}\njoint fit: T = "
        f"{pm(values.get('temperature_C', np.nan), errs.get('temperature_C', np.nan))} °C, "
        f"B = {pm(values.get('field_T', np.nan), errs.get('field_T', np.nan))} T"
    )


def _rotation_panels(ax, ax_res, hil: xr.Dataset, qty: str, x_ghz: np.ndarray) -> None:
    """Rotation/retardance: indirect (band), theory, direct (points); and the residuals of
    the indirect and the direct estimate against the theory, in mrad."""
    ind = hil[f"{qty}_indirect"].values.copy()
    ind[np.any(hil["edge"].values > 0, axis=0)] = np.nan
    sig = hil[f"{qty}_indirect_uncertainty"].values
    theory = hil[f"{qty}_theory"].values
    _band(ax, x_ghz, ind, sig, PALETTE[2], "indirect (two Hilbert transforms)")
    ax.plot(x_ghz, theory, **THEORY, label="theory (fit)")
    res, sigs, names = [ind - theory], [sig], ["indirect"]
    if f"{qty}_direct" in hil:
        step = max(1, x_ghz.size // 150)  # every n-th point, so the curves stay visible
        ax.plot(
            x_ghz[::step],
            hil[f"{qty}_direct"].values[::step],
            "o",
            color=PALETTE[3],
            ms=2.5,
            mew=0,
            label="direct (polarimeter)",
            zorder=6,
        )
        res.append(hil[f"{qty}_direct"].values - theory)
        sigs.append(hil[f"{qty}_direct_uncertainty"].values)
        names.append("direct")
    ax.set_ylabel(label(hil[f"{qty}_theory"], "Faraday rotation" if qty == "rotation" else qty))
    ax.legend(ncols=3, **LEGEND_ABOVE)
    colors = [PALETTE[2], PALETTE[3]][: len(res)]
    residual_panel(ax_res, x_ghz, res, sigs, names, "Δ [mrad]", 1e3, colors)


def run_of_mode(hil: xr.Dataset) -> dict[str, str]:
    """Which run measured each eigen-mode of a Hilbert dataset (its ``run`` variable, or the
    ``runs`` attribute of older files)."""
    if "run" in hil:
        return {str(m): str(r) for m, r in zip(hil["mode"].values, hil["run"].values, strict=True)}
    return dict(item.split("=") for item in hil.attrs["runs"].split(", "))


def group_index_figure(hil: xr.Dataset) -> plt.Figure:
    """Group index (and group delay) from the measured index vs theory."""
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(
            len(hil["mode"]),
            1,
            figsize=(7.0, 1.0 + 2.6 * len(hil["mode"])),
            sharex=True,
            squeeze=False,
            layout="constrained",
        )
        x_ghz = hil["detuning"].values / 1e3
        length = HilbertAttrs.from_dataset(hil).cell_length_m
        for i, mode in enumerate(hil["mode"].values):
            ax = axes[i, 0]
            ng = hil["group_index"].values[i].copy()
            ng[hil["edge"].values[i] > 0] = np.nan
            ax.plot(
                x_ghz,
                ng,
                color=PALETTE[i],
                lw=DATA_LW,
                alpha=0.8,
                label=f"measured {MODE_LABEL.get(str(mode), mode)}",
            )
            ax.plot(x_ghz, hil["theory_group_index"].values[i], **THEORY, label="theory (fit)")
            ax.set_ylabel("group index n_g")
            ax.legend(ncols=2, **LEGEND_ABOVE)
            if length:
                sec = ax.secondary_yaxis(
                    "right",
                    functions=(
                        lambda n, L=length: L * (n - 1) / 299792458.0 * 1e9,
                        lambda t, L=length: 1 + t * 1e-9 * 299792458.0 / L,
                    ),
                )
                sec.set_ylabel("group delay [ns]")
        axes[-1, 0].set_xlabel("detuning [GHz]")
        fig.suptitle(
            f"experiment {HilbertAttrs.from_dataset(hil).experiment}: group index from the Hilbert transform"
        )
        return fig
