"""What every figure family shares: one style, colours, axis labels from the data's attributes,
residual panels, and :func:`save_figure` (vector PDF and PNG with fixed metadata, so the same
inputs give byte-identical files). Theory is drawn as a solid dark line, measurements as
coloured lines or points with their uncertainty band, so the two stay distinguishable in
greyscale too.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

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

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (closed afterwards).
    pdf : str or pathlib.Path, optional
        PDF file to write.
    png : str or pathlib.Path, optional
        PNG file to write (:data:`PNG_DPI`).
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
    """Axis label of a quantity drawn in units of 10^power: 'text [×10⁻⁹ units]'.

    Parameters
    ----------
    text : str
        The quantity's name.
    units : str
        Its units (``"1"``: dimensionless).
    power : int
        The decade the values are scaled by (×10^power).
    """
    if power == 0:
        return f"{text} [{units}]" if units and units != "1" else text
    factor = f"×10{str(power).translate(SUPERSCRIPT)}"
    return f"{text} [{factor}{' ' + units if units and units != '1' else ''}]"


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


def fit_values(fit: xr.Dataset) -> tuple[dict[str, float], dict[str, float]]:
    """A fit file's parameter values and total standard uncertainties by name."""
    names = [str(p) for p in fit["parameter"].values]
    return (
        dict(zip(names, fit["value"].values.astype(float).tolist(), strict=True)),
        dict(zip(names, fit["stderr_total"].values.astype(float).tolist(), strict=True)),
    )
