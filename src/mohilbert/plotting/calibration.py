"""The calibration figure of one run (or of an experiment's runs, one under the other): raw
signal and baseline, etalon linearisation, the calibrated transmission against the theory of
the absolute axis."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from mohilbert.formatting import pm
from mohilbert.plotting.common import DATA_LW, PALETTE, STYLE, THEORY, label
from mohilbert.products import CalibratedAttrs


def scale_text(attrs: dict) -> str:
    """The absolute-axis scale factor in words: fitted (the etalon FSR it implies) or fixed."""
    a = CalibratedAttrs.from_attrs(attrs)
    scale = a.axis_scale
    if a.axis_scale_fitted:
        err = a.axis_scale_stderr
        fsr = a.etalon_fsr_sheet_MHz * scale
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


#: one run's panels [inches]: fringe residuals, absolute axis, baseline
RUN_FIGSIZE = (7.0, 8.0)


def calibration_figure(cal: xr.Dataset | Mapping[str, xr.Dataset]) -> plt.Figure:
    """Calibration diagnostics of one run, or of several runs one under the other (an
    experiment's: run → calibrated dataset, in run order): fringe linearisation residuals,
    absolute-axis fit, baseline and off-resonance mask.

    Parameters
    ----------
    cal : xarray.Dataset or mapping of str to xarray.Dataset
        A calibrated run, or several by run name.
    """
    cals = [cal] if isinstance(cal, xr.Dataset) else [cal[r] for r in sorted(cal)]
    if not cals:
        raise ValueError("calibration_figure needs at least one calibrated run")
    with plt.style.context(STYLE):
        width, height = RUN_FIGSIZE
        fig = plt.figure(figsize=(width, height * len(cals)), layout="constrained")
        parts = [fig] if len(cals) == 1 else fig.subfigures(len(cals), 1)
        for part, one in zip(parts, cals, strict=True):
            _draw_run(part, one)
        return fig


def _draw_run(fig, cal: xr.Dataset) -> None:
    """One run's three panels into ``fig`` (a Figure or SubFigure)."""
    axes = fig.subplots(3, 1)
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
    axes[1].plot(x_ghz, measured.values, color=PALETTE[1], lw=DATA_LW, alpha=0.8, label=names[0])
    axes[1].plot(x_ghz, model.values, **THEORY, label=names[1])
    axes[1].set_title(
        f"absolute detuning: offset {a['axis_offset_MHz']:.1f} MHz; {scale_text(a)}\n{what}"
    )
    axes[1].set_ylabel("transmission")
    axes[1].set_xlabel("detuning [GHz]")
    axes[1].legend(loc="best")
    axes[2].plot(x_ghz, cal["signal"].values * 1e3, color=PALETTE[0], lw=0.6, label="signal − dark")
    axes[2].plot(x_ghz, cal["baseline"].values * 1e3, color=PALETTE[1], lw=1.0, label="baseline")
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
    axes[2].set_title(baseline_text(CalibratedAttrs.from_attrs(a).baseline))
