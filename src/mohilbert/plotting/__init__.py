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

from mohilbert.formatting import pm
from mohilbert.io.atomic import atomic_path

STYLE = Path(__file__).with_name("mohilbert.mplstyle")
THEORY = {"color": "k", "lw": 0.7, "ls": (0, (4, 2)), "zorder": 5}
DATA_LW = 1.5
LEGEND_ABOVE = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.0), "borderaxespad": 0.2}
PNG_DPI = 220  # a 7-inch figure is 1540 px wide: sharp on a slide
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


def save_figure(fig, pdf: str | Path | None, png: str | Path | None = None) -> None:
    """Write PDF (vector) and/or PNG with fixed metadata (byte-identical for identical input).

    The layout is computed once, while the PDF is drawn, and then frozen: the PNG reuses
    it instead of running the layout engine (and its extra draw) again.
    """
    if pdf is not None:
        with atomic_path(pdf) as tmp:
            fig.savefig(
                tmp,
                format="pdf",
                metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
            )
        fig.set_layout_engine("none")
    if png is not None:
        with atomic_path(png) as tmp:
            fig.savefig(tmp, format="png", dpi=PNG_DPI, metadata={"Software": None})
    plt.close(fig)


def _band(ax, x, y, s, color, text):
    ax.fill_between(x, y - s, y + s, color=color, alpha=0.35, lw=0, zorder=2)
    ax.plot(x, y, color=color, lw=DATA_LW, alpha=0.8, label=text, zorder=3)


def _masked(hil: xr.Dataset, i: int, name: str) -> np.ndarray:
    v = hil[name].values[i].astype(float).copy()
    v[(hil["edge"].values[i] > 0)] = np.nan
    return v


def binned(x: np.ndarray, y: np.ndarray, n_bins: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``y`` in ``n_bins`` consecutive groups of equal count (NaNs ignored).

    Parameters
    ----------
    x, y : ndarray, shape (N,)
        Abscissa (sorted) and values.
    n_bins : int
        Number of groups; each holds ``N // n_bins`` points (the remainder joins the last).

    Returns
    -------
    x_mean, y_mean : ndarray, shape (n_bins,)
        Group means (NaN where a group holds no finite value).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n_bins = max(1, min(int(n_bins), x.size))
    edges = np.linspace(0, x.size, n_bins + 1).astype(int)
    ok = np.isfinite(y)
    count = np.add.reduceat(ok.astype(float), edges[:-1])
    total = np.add.reduceat(np.where(ok, y, 0.0), edges[:-1])
    xm = np.add.reduceat(x, edges[:-1]) / np.diff(edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xm, np.where(count > 0, total / count, np.nan)


def decade(values: np.ndarray) -> int:
    """Power of ten that brings the typical size of ``values`` (their 90th percentile of
    magnitude) to between 1 and 1000 (0 for empty or zero input)."""
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return 0
    return int(3 * np.floor(np.log10(np.percentile(v, 90)) / 3))


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def residual_panel(ax, x, residuals, sigma, names, ylabel, scale=1.0, colors=None) -> None:
    """Residuals made readable: each series' raw points faint, its binned mean bold, and
    the ±1σ band of the measurement around zero (grey; the median σ of each bin).

    Parameters
    ----------
    ax : matplotlib Axes
    x : ndarray, shape (N,)
        Abscissa (e.g. detuning in GHz), sorted.
    residuals : list of ndarray, shape (N,)
        Measured − theory per series, in the quantity's units (NaN = not shown).
    sigma : list of ndarray, shape (N,), or None
        Standard uncertainty of each series' measurement, same units (None: no band).
    names : list of str
        Legend label per series.
    ylabel : str
    scale : float
        Factor applied to residuals and σ before drawing (the label states it).
    colors : list of str, optional
        One colour per series (default: the palette in order; green for a single series).
    """
    sb = np.array([np.nan])
    if sigma is not None:
        sig = np.nanmedian(np.vstack([np.asarray(s, float) for s in sigma]), axis=0) * scale
        xb, sb = binned(x, sig)
        ax.fill_between(xb, -sb, sb, color="0.8", lw=0, zorder=1, label="±1σ (measurement)")
    ax.axhline(0, color="0.4", lw=0.5, zorder=2)
    lim = 0.0
    for i, (r, name) in enumerate(zip(residuals, names, strict=True)):
        r = np.asarray(r, float) * scale
        color = colors[i] if colors else (PALETTE[i] if len(residuals) > 1 else PALETTE[2])
        ax.plot(x, r, color=color, lw=0.3, alpha=0.25, zorder=2)
        ax.plot(*binned(x, r), color=color, lw=1.3, zorder=4, label=f"{name} (binned)")
        if np.isfinite(r).any():
            lim = max(lim, float(np.nanpercentile(np.abs(r), 99.5)))
    lim = max(lim, 2.0 * float(np.nanmax(sb)) if np.isfinite(sb).any() else 0.0)
    if lim > 0:
        ax.set_ylim(-1.15 * lim, 1.15 * lim)
    ax.set_ylabel(ylabel)
    ax.legend(ncols=len(residuals) + (sigma is not None), **LEGEND_ABOVE)


def scaled_label(text: str, units: str, power: int) -> str:
    """Axis label of a quantity drawn in units of 10^power: 'text [×10⁻⁹ units]'."""
    if power == 0:
        return f"{text} [{units}]" if units and units != "1" else text
    factor = f"×10{str(power).translate(SUPERSCRIPT)}"
    return f"{text} [{factor}{' ' + units if units and units != '1' else ''}]"


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
    geometry = str(hil.attrs.get("geometry", ""))
    head = GEOMETRY_TITLE.get(geometry, f"{geometry} geometry")
    if hil.attrs.get("experiment") not in (None, geometry):
        head = f"{hil.attrs['experiment']}: {head}"
    return (
        f"{head}\njoint fit: T = "
        f"{pm(values.get('temperature_C', np.nan), errs.get('temperature_C', np.nan))} °C, "
        f"B = {pm(values.get('field_T', np.nan), errs.get('field_T', np.nan))} T"
    )


def tag_panels(axes) -> None:
    """Bold (a), (b), … in the lower right corner of each panel."""
    for ax, tag in zip(axes, "abcdefghij", strict=False):
        ax.text(
            0.995,
            0.04,
            f"({tag})",
            transform=ax.transAxes,
            va="bottom",
            ha="right",
            fontweight="bold",
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


def fit_values(fit: xr.Dataset) -> tuple[dict[str, float], dict[str, float]]:
    """A fit file's parameter values and total standard uncertainties by name."""
    names = [str(p) for p in fit["parameter"].values]
    return (
        dict(zip(names, fit["value"].values.astype(float).tolist(), strict=True)),
        dict(zip(names, fit["stderr_total"].values.astype(float).tolist(), strict=True)),
    )


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


def scale_text(attrs: dict) -> str:
    """The absolute-axis scale factor in words: fitted (the etalon FSR it implies) or fixed."""
    scale = float(attrs.get("axis_scale", 1.0))
    if int(attrs.get("axis_scale_fitted", 0)):
        err = float(attrs.get("axis_scale_stderr", np.nan))
        fsr = float(attrs.get("etalon_fsr_sheet_MHz", np.nan)) * scale
        return f"axis scale fitted: {pm(scale, err)} × sheet etalon FSR (= {fsr:.2f} MHz)"
    return f"axis scale fixed at {scale:g} (sheet etalon FSR)"


def baseline_text(description: str) -> str:
    """Baseline title: the calibration's description, with the axis it was fitted on said
    (a polynomial in scan time, drawn here against detuning)."""
    if "in time" in description:
        description = description.replace(" in time", " in scan time")
        head, _, tail = description.partition(" through ")
        tail = f" through {tail}" if tail else ""
        return f"baseline: {head}\n(fitted{tail}; drawn here against detuning)"
    return f"baseline: {description}" if description else "baseline"


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
            f"run {a.get('run', '')}: scan linearised with {a['etalon_fringes_used']} etalon "
            f"{a['etalon_fringe_sign']} (polynomial of degree {a['linearisation_degree']} in time)\n"
            f"fringe residual {a['linearisation_rms_MHz']:.2f} MHz RMS, {a['linearisation_max_MHz']:.2f} max"
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
            f"absolute detuning: offset {a['axis_offset_MHz']:.1f} MHz; {scale_text(a)}\n{what}"
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
        axes[2].set_title(baseline_text(a.get("baseline", "")))
        return fig


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
