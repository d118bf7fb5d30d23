"""Figures: one function per figure type, one style, axis labels from the data's attributes.

Every function takes datasets as written by the pipeline and returns a matplotlib Figure;
:func:`save_figure` writes vector PDF and PNG with fixed metadata, so the same inputs give
byte-identical files. Theory is drawn as a solid dark line, measurements as coloured lines or
points with their uncertainty band, so the two stay distinguishable in greyscale too.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from mohilbert.io.atomic import atomic_path

STYLE = Path(__file__).with_name("mohilbert.mplstyle")
THEORY = {"color": "k", "lw": 0.7, "ls": (0, (4, 2)), "zorder": 5}
DATA_LW = 1.5
LEGEND_ABOVE = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.0), "borderaxespad": 0.2}
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
MODE_LABEL = {
    "sigma_plus": "σ+",
    "sigma_minus": "σ−",
    "parallel": "∥ B",
    "perpendicular": "⊥ B",
    "isotropic": "B = 0",
}


def label(da: xr.DataArray, name: str | None = None) -> str:
    """Axis label 'long name [units]' from a variable's attributes."""
    text = name or da.attrs.get("long_name", da.name or "")
    units = da.attrs.get("units", "")
    return f"{text} [{units}]" if units and units != "1" else text


def save_figure(fig, pdf: str | Path, png: str | Path | None = None) -> None:
    """Write PDF (vector) and PNG with fixed metadata (byte-identical for identical input).

    The layout is computed once, while the PDF is drawn, and then frozen: the PNG reuses
    it instead of running the layout engine (and its extra draw) again.
    """
    with atomic_path(pdf) as tmp:
        fig.savefig(
            tmp,
            format="pdf",
            metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
        )
    fig.set_layout_engine("none")
    if png is not None:
        with atomic_path(png) as tmp:
            fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)


def pm(value: float, err: float) -> str:
    """'value ± err' rounded to the error's first two significant digits."""
    if not np.isfinite(err) or err <= 0:
        return f"{value:.4g}"
    digits = max(0, 1 - int(np.floor(np.log10(err))))
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def _band(ax, x, y, s, color, text):
    ax.fill_between(x, y - s, y + s, color=color, alpha=0.35, lw=0, zorder=2)
    ax.plot(x, y, color=color, lw=DATA_LW, alpha=0.8, label=text, zorder=3)


def _masked(hil: xr.Dataset, i: int, name: str) -> np.ndarray:
    v = hil[name].values[i].astype(float).copy()
    v[(hil["edge"].values[i] > 0)] = np.nan
    return v


def experiment_figure(hil: xr.Dataset, cal: dict[str, xr.Dataset], fit: xr.Dataset) -> plt.Figure:
    """Paper-style comparison: (a) transmission + fitted theory, (b) n − 1 from the Hilbert
    transform with its uncertainty band vs theory, (c) rotation/retardance three ways,
    (d) residuals in units of the uncertainty."""
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(
            4,
            1,
            figsize=(7.0, 10.0),
            sharex=True,
            layout="constrained",
            gridspec_kw={"height_ratios": [1.2, 1.2, 1.2, 0.8]},
        )
        x_ghz = hil["detuning"].values / 1e3
        runs = dict(item.split("=") for item in hil.attrs["runs"].split(", "))
        for i, mode in enumerate(hil["mode"].values):
            color = PALETTE[i]
            run = runs[str(mode)]
            c = cal[run]
            axes[0].plot(
                c["detuning"].values / 1e3,
                c["transmission"].values,
                color=color,
                lw=DATA_LW,
                alpha=0.8,
                label=f"measured {MODE_LABEL.get(str(mode), mode)} ({run})",
            )
            axes[0].plot(
                x_ghz,
                np.exp(-hil["theory_optical_depth"].values[i]),
                **THEORY,
                label="theory (fit)" if i == 0 else None,
            )
            scale = 1e5
            _band(
                axes[1],
                x_ghz,
                _masked(hil, i, "index") * scale,
                hil["index_uncertainty"].values[i] * scale,
                color,
                f"Hilbert transform {MODE_LABEL.get(str(mode), mode)}",
            )
            axes[1].plot(
                x_ghz,
                hil["theory_index"].values[i] * scale,
                **THEORY,
                label="theory (fit)" if i == 0 else None,
            )
            pull = (hil["index"].values[i] - hil["theory_index"].values[i]) / hil[
                "index_uncertainty"
            ].values[i]
            pull[hil["edge"].values[i] > 0] = np.nan
            axes[3].plot(
                x_ghz, pull, color=color, lw=0.5, label=f"n − 1, {MODE_LABEL.get(str(mode), mode)}"
            )
        axes[0].set_ylabel("transmission")
        axes[0].legend(ncols=3, **LEGEND_ABOVE)
        axes[1].set_ylabel("Re(n) − 1  [×10⁻⁵]")
        axes[1].legend(ncols=3, **LEGEND_ABOVE)
        qty = (
            "rotation"
            if "rotation_indirect" in hil
            else ("retardance" if "retardance_indirect" in hil else None)
        )
        if qty:
            ind = hil[f"{qty}_indirect"].values.copy()
            ind[np.any(hil["edge"].values > 0, axis=0)] = np.nan
            _band(
                axes[2],
                x_ghz,
                ind,
                hil[f"{qty}_indirect_uncertainty"].values,
                PALETTE[2],
                "indirect (two Hilbert transforms)",
            )
            axes[2].plot(x_ghz, hil[f"{qty}_theory"].values, **THEORY, label="theory (fit)")
            if f"{qty}_direct" in hil:
                step = max(1, x_ghz.size // 150)  # every n-th point, so the curves stay visible
                axes[2].plot(
                    x_ghz[::step],
                    hil[f"{qty}_direct"].values[::step],
                    "o",
                    color=PALETTE[3],
                    ms=2.5,
                    mew=0,
                    label="direct (polarimeter)",
                    zorder=6,
                )
            axes[2].set_ylabel(
                label(
                    hil[f"{qty}_theory"], "Faraday rotation" if qty == "rotation" else "retardance"
                )
            )
            axes[2].legend(ncols=3, **LEGEND_ABOVE)
            rpull = (ind - hil[f"{qty}_theory"].values) / hil[f"{qty}_indirect_uncertainty"].values
            axes[3].plot(x_ghz, rpull, color=PALETTE[2], lw=0.5, label=qty)
        else:
            axes[2].text(
                0.5,
                0.5,
                "one eigen-polarisation only: no rotation/retardance",
                ha="center",
                va="center",
                transform=axes[2].transAxes,
            )
            axes[2].set_yticks([])
        axes[3].axhline(0, color="0.5", lw=0.5)
        axes[3].set_ylim(-5, 5)
        axes[3].set_ylabel("(measured − theory) / σ")
        axes[3].legend(ncols=3, **LEGEND_ABOVE)
        axes[3].set_xlabel("detuning [GHz]")
        values = dict(
            zip(fit["parameter"].values.tolist(), fit["value"].values.tolist(), strict=True)
        )
        errs = dict(
            zip(fit["parameter"].values.tolist(), fit["stderr_total"].values.tolist(), strict=True)
        )
        fig.suptitle(
            f"experiment {hil.attrs['experiment']} ({hil.attrs['geometry']} geometry)\nfit: T = "
            f"{pm(values.get('temperature_C', np.nan), errs.get('temperature_C', np.nan))} °C, "
            f"B = {pm(values.get('field_T', np.nan), errs.get('field_T', np.nan))} T"
        )
        for ax, tag in zip(axes, "abcd", strict=True):
            ax.text(
                0.995,
                0.04,
                f"({tag})",
                transform=ax.transAxes,
                va="bottom",
                ha="right",
                fontweight="bold",
            )
        return fig


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
        length = float(hil.attrs.get("cell_length_m", 0.0))
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
            f"experiment {hil.attrs['experiment']}: group index from the Hilbert transform"
        )
        return fig


def calibration_figure(cal: xr.Dataset) -> plt.Figure:
    """Calibration diagnostics of one run: fringe linearisation residuals, absolute-axis fit,
    baseline and off-resonance mask."""
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(3, 1, figsize=(7.0, 8.0), layout="constrained")
        a = cal.attrs
        axes[0].plot(
            cal["fringe_time"].values * 1e3,
            cal["fringe_residual"].values,
            "o",
            ms=2.5,
            color=PALETTE[0],
        )
        axes[0].axhline(0, color="0.5", lw=0.5)
        axes[0].set_xlabel("time [ms]")
        axes[0].set_ylabel(label(cal["fringe_residual"], "fringe residual"))
        axes[0].set_title(
            f"run {a.get('run', '')}: {a['etalon_fringes_used']} etalon {a['etalon_fringe_sign']}, "
            f"degree {a['linearisation_degree']}, residual {a['linearisation_rms_MHz']:.2f} MHz RMS "
            f"({a['linearisation_max_MHz']:.2f} max)"
        )
        x_ghz = cal["detuning"].values / 1e3
        if "reference_transmission" in cal:
            measured, model = cal["reference_transmission"], cal["reference_model"]
            names = ("reference cell (measured)", "reference theory (fit)")
            what = f"reference fit: T_ref = {a.get('reference_temperature_C', np.nan):.2f} °C"
        else:
            measured, model = cal["transmission"], cal["model_transmission"]
            names = ("signal (measured)", "signal theory (self-calibration fit)")
            what = (
                f"self-calibration: T = {a.get('self_fit_temperature_C', np.nan):.2f} °C, "
                f"B = {a.get('self_fit_field_T', np.nan):.4f} T"
            )
        axes[1].plot(
            x_ghz, measured.values, color=PALETTE[1], lw=DATA_LW, alpha=0.8, label=names[0]
        )
        axes[1].plot(x_ghz, model.values, **THEORY, label=names[1])
        axes[1].set_title(
            f"absolute detuning: offset {a['axis_offset_MHz']:.1f} MHz, scale {a['axis_scale']:.5f}\n{what}"
        )
        axes[1].set_ylabel("transmission")
        axes[1].set_xlabel("detuning [GHz]")
        axes[1].legend(loc="best")
        axes[2].plot(
            x_ghz, cal["signal"].values * 1e3, color=PALETTE[0], lw=0.6, label="signal − dark"
        )
        axes[2].plot(
            x_ghz, cal["baseline"].values * 1e3, color=PALETTE[1], lw=1.0, label="baseline"
        )
        # the baseline is fitted to the off-resonant light level: the signal with the model's
        # small residual absorption there divided out
        mask = cal["off_resonance"].values > 0
        axes[2].plot(
            x_ghz[mask],
            (cal["signal"].values / cal["model_transmission"].values)[mask] * 1e3,
            ".",
            color=PALETTE[2],
            ms=1.0,
            label="off-resonance points / model",
        )
        axes[2].set_ylabel("signal [mV]")
        axes[2].set_xlabel("detuning [GHz]")
        # headroom above the trace for the legend
        lo, hi = axes[2].get_ylim()
        axes[2].set_ylim(lo, hi + 0.25 * (hi - lo))
        axes[2].legend(loc="upper center", ncols=3)
        axes[2].set_title(a.get("baseline", ""))
        return fig


def overview_figure(fits: dict[str, xr.Dataset]) -> plt.Figure:
    """Campaign overview: fitted temperature and field per experiment with error bars."""
    with plt.style.context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), layout="constrained")
        names = sorted(fits)
        for ax, par, text in zip(
            axes, ("temperature_C", "field_T"), ("temperature [°C]", "field [T]"), strict=True
        ):
            vals, errs = [], []
            for n in names:
                p = fits[n]["parameter"].values.tolist()
                vals.append(float(fits[n]["value"].values[p.index(par)]) if par in p else np.nan)
                errs.append(
                    float(fits[n]["stderr_total"].values[p.index(par)]) if par in p else np.nan
                )
            ax.errorbar(range(len(names)), vals, yerr=errs, fmt="o", color=PALETTE[0], capsize=3)
            ax.set_xticks(range(len(names)), names)
            ax.set_ylabel(text)
            ax.set_xlim(-0.5, len(names) - 0.5)
        fig.suptitle("fitted parameters per experiment (±1σ, statistical and systematic)")
        return fig
