"""Figures of a power series (the HIP-ElecSus paper's Figures 3 and 4, regenerated).

* :func:`spectra_figure` — measured spectra of a series at ≲ 1, ≈ 10 and ≳ 100 I_sat with the
  joint intense-probe model and the residuals [%] (the paper's Figure 3, one column);
  :func:`paper_spectra_figure` the whole Figure 3, a column per beam;
* :func:`line_centre_figure` — line-centre absorption coefficient α of the open and the
  closed transition against I/I_sat, a column per beam diameter (the paper's Figure 4): it
  draws the line-centre files (:mod:`mohilbert.stages.line_centre` computes the points and
  the model curves).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from mohilbert.formatting import pm, power
from mohilbert.plotting.common import PALETTE, STYLE, THEORY
from mohilbert.records import Experiment, Run
from mohilbert.stages.series import decimated_points, run_models


def _value(fit: xr.Dataset, name: str) -> tuple[float, float]:
    names = fit["parameter"].values.tolist()
    i = names.index(name)
    return float(fit["value"].values[i]), float(fit["stderr_total"].values[i])


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
        idx = decimated_points(ds, 4000)
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
    # where it hides the fewest points: the lines sit elsewhere for another cell or isotope mix
    ax.legend(fontsize=6, loc="best")
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
    series: dict[str, tuple[xr.Dataset, dict, dict]], points: dict
) -> plt.Figure:
    """Line-centre α of the open and closed line against I/I_sat (Figure 4): a column per
    probe beam diameter with each of its series (temperatures) in its own colour, the closed
    line filled with a solid model curve, the open line hollow with a dashed one; below each,
    every point's pull against its model, and the agreement stated in words above. Points of
    different detection settings (:func:`mohilbert.stages.series.detector_settings`) have
    different markers, and where the setting changes is stated.

    Parameters
    ----------
    series : dict
        Series name → (series fit, its calibrated runs, its runs' records).
    points : dict
        Series name → its :class:`~mohilbert.stages.line_centre.LineCentre` (the line-centre
        file, :func:`mohilbert.stages.line_centre.read_line_centre`).
    """
    beams = _series_by_beam(series)
    with plt.style.context(STYLE):
        fig, axes = _beam_columns(len(beams), 3.4, 5.6, 1.3)
        notes = []
        # the legend (first column) names the detection settings of every beam's series
        n_settings = 1 + max(
            int(np.nanmax(points[name][0]["detector_setting"]))
            for _, names in beams
            for name in names
        )
        for c, (diameter, names) in enumerate(beams):
            ax, axp = axes[0, c], axes[1, c]
            for k, name in enumerate(names):
                fit = series[name][0]
                pulls, grid, model, model_u = points[name]
                notes += [f"{name}, {text}" for text in agreement_text(pulls).splitlines()]
                if text := settings_text(pulls):
                    notes.append(f"{name}, {text}")
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
                    # the model's own uncertainty (the fit's covariance), a band about it
                    lo, hi = model[line] - model_u[line], model[line] + model_u[line]
                    ax.fill_between(grid, lo, hi, color=color, alpha=0.2, lw=0)
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
