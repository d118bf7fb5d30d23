r"""Power series: the runs of one cell and beam at different probe powers, fitted jointly with
the intense-probe model, and where the weak-probe assumption holds.

A series (sheet column ``series``) shares the cell's temperature and field and one effective
intensity scale of the beam (``intensity_scale``: the factor between the sheet's power and
the intensity the atoms see — beam shape, power calibration, losses before the cell); each
run keeps its own small detuning offset. ``transit_scale`` (a factor on the transit
relaxation rate 1/τ) may be freed too: optical pumping of open lines scales with I/γ_t and
saturation of a closed line with I alone, so a series spanning both determines the two.
The model propagates the probe through the cell (``z_slices``): at optical depth ~2 the back
of the cell sees less light than the front. The joint fit is :func:`fit_series`
(``results/series/{series}.nc``), with the uncertainty budget of every fit
(:func:`mohilbert.stages.fit.fit_experiment`).

**Weak-probe validity.** For every run, the difference between the intense-probe model at
the fitted parameters and its linear limit (the same atoms at vanishing power: the weak-probe
model with transit broadening), against the run's own noise:
Δχ² = Σ_i ((T_intense − T_linear)/σ_i)² over the fitted points. Where Δχ² exceeds the gate
(``gates.fit.weak_probe_delta_chi2``, default 1: the weak-probe model would be told apart
from the right one at one standard deviation), the weak-probe assumption does not hold for
that run — its weak-probe fit is biased, and the Hilbert transform of its optical depth is
not its index (:func:`mohilbert.stages.hilbert.hilbert_experiment` refuses it, or linearises it
by choice). :func:`weak_probe_limit_W` gives the power at which this happens for the
series's cell, beam and noise.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import xarray as xr

from mohilbert import gates as quality
from mohilbert.config import schema_defaults
from mohilbert.errors import FitError
from mohilbert.formatting import pm
from mohilbert.intense import saturation_intensity_W_m2, with_probe_parameters
from mohilbert.products import CalibratedAttrs, FitAttrs, split_left_out
from mohilbert.records import Experiment, FitValues, Run
from mohilbert.signal import dark_reproducibility_V, robust_sigma, same_vertical_setting
from mohilbert.stages.fit import fit_experiment, fit_inputs, fitted_cell, valid_points
from mohilbert.theory import intense_arrays

#: the series fit (``series:`` in the config)
DEFAULTS = schema_defaults("series")


def decimated_points(ds: xr.Dataset, max_points: int) -> np.ndarray:
    """Indices of a calibrated run's valid points, at most ``max_points`` evenly spread (what
    the series fit and its figures evaluate)."""
    idx = np.flatnonzero(valid_points(ds))
    return idx[np.linspace(0, idx.size - 1, min(idx.size, max_points)).astype(int)]


def intensity_scale(fit: xr.Dataset, run: str | None = None) -> float:
    """The fitted ``intensity_scale`` of a fit file: ``run``'s own when it was fitted per run,
    else the shared one (1 when it was not free). Without ``run``, for a per-run fit, the
    geometric mean of the runs' scales (the series' typical scale)."""
    values = FitValues.of(fit)
    if run is not None:
        return values.of_run("intensity_scale", run, 1.0)
    per_run = values.per_run.get("intensity_scale")
    if per_run and "intensity_scale" not in values.shared:
        return float(np.exp(np.mean(np.log(list(per_run.values())))))
    return values.shared.get("intensity_scale", 1.0)


def fitted_probe(fit: xr.Dataset, run: Run):
    """The probe of ``run`` as the fit modelled it (:func:`mohilbert.intense.with_probe_parameters`:
    the sheet's power times the fitted ``intensity_scale``, its transit rate times the fitted
    ``transit_scale``, the fitted ``orthogonal_fraction`` and ``beam_order``; the run's own
    where they were fitted per run), propagated in the fit's ``z_slices`` (1 for files
    without it)."""
    probe = run.probe(FitAttrs.from_dataset(fit).z_slices)
    values = FitValues.of(fit)
    return with_probe_parameters(probe, lambda name: values.of_run(name, run.run, None))


def run_models(
    fit: xr.Dataset, cal: xr.Dataset, run: Run, idx: np.ndarray, *, detected: bool = True
):
    """Intense-probe transmission of one run at the series' fitted parameters and its linear
    (weak-probe) limit, on the run's calibrated points ``idx``: (detuning [MHz], intense,
    linear, probe at the fitted intensity).

    The linear limit is the same model at vanishing power: the weak-probe model with the
    transit broadening, which is linear response too — what the Hilbert method needs is
    that the response is linear, not that the transit time is infinite. With ``detected``
    it is seen by the same detector (with the fitted orthogonal light, to compare with the
    intense model); without, it is the transmission of the probe's mode alone (the atoms'
    linear optical depth).

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : xarray.Dataset
        The run's calibrated dataset.
    run : Run
        The run's sheet values.
    idx : numpy.ndarray
        Indices of the calibrated points to evaluate.
    detected : bool
        Whether the linear limit includes the fitted orthogonal light.
    """
    cell, shifts = fitted_cell(Experiment.of({run.run: run}), fit)
    probe = fitted_probe(fit, run)
    x = cal["detuning"].values[idx]
    c = cell.with_(shift_MHz=shifts[run.run])
    pol = run.polarisation
    weak = replace(probe, power_W=0.0)
    if not detected:
        weak = replace(weak, orthogonal_fraction=0.0)
    return x, intense_arrays(x, c, pol, probe)["S0"], intense_arrays(x, c, pol, weak)["S0"], probe


def saturation_optical_depth(fit: xr.Dataset, ds: xr.Dataset, run: Run) -> np.ndarray:
    """OD_intense − OD_weak of ``run`` on its calibrated points at the series' fitted
    parameters: the probe mode's intense model less its own linear response, so that the
    data less it is the atoms' linear optical depth (without the orthogonal light's floor,
    where one was fitted): what the Hilbert stage subtracts from a saturated run
    (``hilbert.saturated_runs: linearise``).

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    ds : xarray.Dataset
        The run's calibrated file.
    run : Run
        Its sheet values.
    """
    idx = np.arange(ds.sizes["detuning"])
    _, t_int, t_weak, _ = run_models(fit, ds, run, idx, detected=False)
    return -np.log(t_int) + np.log(t_weak)


#: the series file's variables of :func:`with_saturation_optical_depths`: one row per run
#: over its calibrated points, NaN beyond its last
SATURATION_OD_VARIABLES = {
    "saturation_od": {
        "units": "1",
        "long_name": "optical depth of the intense-probe model less its linear limit at the "
        "series' fitted parameters, on the run's calibrated points",
    },
    "saturation_od_detuning": {
        "units": "MHz",
        "long_name": "detuning of the run's calibrated points (NaN beyond its last)",
    },
}


def with_saturation_optical_depths(
    out: xr.Dataset, cal: dict[str, xr.Dataset], exp: Experiment
) -> xr.Dataset:
    """The series fit with each run's :func:`saturation_optical_depth` on its calibrated
    detunings (:data:`SATURATION_OD_VARIABLES`, over ``run`` and ``calibrated_point``):
    computed here, where the model's solves at the optimum are warm, instead of in each
    run's Hilbert job (which would start the compiled kernels and solve them again: ~3 s of
    a 3.3 s job). Two variables for all runs, not two per run: a file's read time grows with
    its variables and dimensions (~10 ms each).

    Parameters
    ----------
    out : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    exp : Experiment
        Their sheet values.
    """
    runs = list(exp.names)
    size = max(cal[r].sizes["detuning"] for r in runs)
    od = np.full((len(runs), size), np.nan)
    detuning = np.full((len(runs), size), np.nan)
    for i, r in enumerate(runs):
        n = cal[r].sizes["detuning"]
        od[i, :n] = saturation_optical_depth(out, cal[r], exp[r])
        detuning[i, :n] = cal[r]["detuning"].values
    dims = ("run", "calibrated_point")
    out = out.assign_coords(run=("run", runs, {"units": "1", "long_name": "run id"}))
    for name, values in (("saturation_od", od), ("saturation_od_detuning", detuning)):
        out[name] = (dims, values, SATURATION_OD_VARIABLES[name])
    return out


def weak_probe_validity(
    fit: xr.Dataset, cal: dict[str, xr.Dataset], exp: Experiment, max_points: int
) -> dict[str, dict]:
    """Per run: Δχ² and the largest |T_intense − T_weak|/σ at the fitted parameters, and the
    effective peak I/I_sat.

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    exp : Experiment
        Their sheet values.
    max_points : int
        Points per run to compare on.
    """
    out = {}
    for run in sorted(cal):
        rec, ds = exp[run], cal[run]
        idx = decimated_points(ds, max_points)
        _, t_int, t_weak, probe = run_models(fit, ds, rec, idx)
        pull = (t_int - t_weak) / ds["transmission_uncertainty"].values[idx]
        cell = rec.cell()
        out[run] = {
            "delta_chi2": float(np.sum(pull**2)),
            "max_pull": float(np.max(np.abs(pull))),
            "saturation_parameter": probe.peak_intensity_W_m2
            / saturation_intensity_W_m2(cell.element, cell.line),
        }
    return out


#: runs of a series, in order of power, whose detector response differs from the previous
#: run's by more than this factor were recorded with another detection setting
DETECTOR_SETTING_STEP = 1.5


def detector_response_V_per_W(cal: xr.Dataset, power_W: float) -> float:
    """The detector's off-resonant signal per watt of probe entering the cell [V/W].

    The median of the run's calibration baseline (signal above dark off resonance, V) over
    its sheet power; NaN without a baseline or a power. Along a power series it stays
    constant while the detection chain does, and jumps where the gain, an attenuator before
    the detector or the detector changed: that does not change what the atoms see, but the
    runs on either side are calibrated differently (dark level, linearity, bandwidth) and
    their powers may have been set or measured differently.

    Parameters
    ----------
    cal : xarray.Dataset
        The run's calibrated dataset (its ``baseline`` [V]).
    power_W : float
        The run's probe power [W] (sheet value).
    """
    if "baseline" not in cal or not power_W or power_W <= 0:
        return float("nan")
    return float(np.nanmedian(cal["baseline"].values)) / float(power_W)


def detector_settings(response: dict[str, float], power: dict[str, float]) -> dict[str, int]:
    """Which detection setting each run was recorded with (0, 1, ...): runs in order of
    power, a new setting where the detector response [V/W] changes by more than
    :data:`DETECTOR_SETTING_STEP` from the previous run's (runs without a response keep the
    current setting).

    Parameters
    ----------
    response : dict of str to float
        Run → :func:`detector_response_V_per_W`.
    power : dict of str to float
        Run → probe power [W].
    """
    out, setting, last = {}, 0, None
    for run in sorted(response, key=lambda r: (power[r], r)):
        v = response[run]
        if np.isfinite(v) and v > 0:
            if last is not None and max(v / last, last / v) > DETECTOR_SETTING_STEP:
                setting += 1
            last = v
        out[run] = setting
    return out


def _time_s(stamp: str) -> float:
    """Seconds since the epoch of an ISO 8601 time stamp; NaN for "" or another text."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return float("nan")


def _runs_by_dark(attrs: dict[str, CalibratedAttrs]) -> dict[str, list[str]]:
    """Dark file → the runs (sorted) that subtract it."""
    by_file: dict[str, list[str]] = {}
    for run in sorted(attrs):
        if attrs[run].dark_file:
            by_file.setdefault(attrs[run].dark_file, []).append(run)
    return by_file


def borrowed_dark_runs(attrs: dict[str, CalibratedAttrs]) -> dict[str, list[str]]:
    """The runs of a series that borrow their dark, by dark file: of the runs that use one
    dark trace, it belongs to the one whose signal was recorded nearest to it (the scopes'
    time stamps) and the others borrow it; without time stamps, every run of a dark that
    several share borrows it. (A dark lent to one run of the series by an acquisition outside
    it is taken as that run's own.)

    Parameters
    ----------
    attrs : dict of str to CalibratedAttrs
        Run → its calibration's attributes (``dark_file`` and the traces' time stamps).
    """
    by_file = _runs_by_dark(attrs)
    signal = {r: _time_s(a.signal_trigger_time) for r, a in attrs.items()}
    out = {}
    for path, runs in by_file.items():
        t = _time_s(attrs[runs[0]].dark_trigger_time)
        if np.isfinite(t) and all(np.isfinite(signal[r]) for r in runs):
            owner = min(runs, key=lambda r: abs(signal[r] - t))
            borrowed = [r for r in runs if r != owner]
        else:
            borrowed = list(runs) if len(runs) > 1 else []
        if borrowed:
            out[path] = borrowed
    return out


def borrowed_darks(
    cal: dict[str, xr.Dataset],
    settings: dict[str, int],
    response: dict[str, float],
    power: dict[str, float],
) -> tuple[list[quality.GateWarning], dict[str, float]]:
    """Darks that runs of a series borrow from another acquisition, checked against the
    series' own darks: what the check found, and each borrowing run's dark uncertainty [V]
    where the series' darks show it larger than the sheet states.

    A lab records one dark per detection setting and lends it to the acquisitions around
    it (:func:`borrowed_dark_runs` finds them). The level a dark trace records is the
    scope's zero and the detector's offset: the ingest has refused a borrowed dark of
    another vertical setting (:func:`mohilbert.io.ingest.check_dark_setting`); a detector
    gain or attenuator changed between the runs leaves it (on the HIP-ElecSus series the
    darks recorded at one vertical setting agree across detection settings 100x apart).
    What a borrowed dark does not record is how far the level moved between its recording
    and the run's: the series' darks at the same vertical setting
    (:func:`mohilbert.signal.same_vertical_setting`), in recording order (their time stamps,
    or their runs' lowest power), measure it (:func:`mohilbert.signal.dark_reproducibility_V`),
    and the larger of that and the sheet's ``dark_uncertainty_V`` (darks taken beside their
    signal) is the borrowing runs' dark uncertainty in the series fit's budget. A note says what
    was found for every borrowed dark; a warning only where the dark's vertical setting
    cannot be read (a flat trace) and its runs' detection settings differ.

    Parameters
    ----------
    cal : dict of str to xarray.Dataset
        The series' calibrated runs (their dark attributes).
    settings : dict of str to int
        Run → detection setting (:func:`detector_settings`).
    response : dict of str to float
        Run → detector response [V/W].
    power : dict of str to float
        Run → probe power [W] (the recording order of darks without time stamps).
    """
    attrs = {r: CalibratedAttrs.from_dataset(cal[r]) for r in cal}
    by_file = _runs_by_dark(attrs)
    dark = {path: attrs[runs[0]] for path, runs in by_file.items()}
    recorded = {p: _time_s(dark[p].dark_trigger_time) for p in by_file}
    if not all(np.isfinite(t) for t in recorded.values()):  # the runs' lowest power instead
        recorded = {p: min(power[r] for r in runs) for p, runs in by_file.items()}
    order = sorted(by_file, key=recorded.__getitem__)
    records, sigma = [], {}
    for path, runs in sorted(borrowed_dark_runs(attrs).items()):
        a, name = dark[path], Path(path).name
        users = by_file[path]
        across = len({settings[r] for r in users}) > 1
        subject = f"runs {', '.join(runs)}" if len(runs) > 1 else f"run {runs[0]}"
        t = _time_s(a.dark_trigger_time)
        ages = [abs(_time_s(attrs[r].signal_trigger_time) - t) for r in runs]
        how = (
            f"borrow{'' if len(runs) > 1 else 's'} the dark trace {name}, recorded up to "
            f"{max(ages) / 60:.2g} min from {'their' if len(runs) > 1 else 'its'} signal"
            if np.all(np.isfinite(ages))
            else f"share the dark trace {name}"
        )
        levels = ", ".join(f"{r} {response[r]:.3g} V/W" for r in users)
        if not np.isfinite(a.dark_adc_step_V):
            if across:
                records.append(
                    quality.GateWarning(
                        subject,
                        "series.shared_dark",
                        f"{subject} {how}, with different detection settings ({levels}), "
                        "and the trace is too flat to tell its vertical setting: the dark level "
                        "subtracted may be another setting's; give each its own dark",
                    )
                )
            continue
        same = [
            dark[p].dark_level_V
            for p in order
            if same_vertical_setting(dark[p].dark_adc_step_V, a.dark_adc_step_V)
        ]
        stated = max(attrs[r].dark_uncertainty_V for r in runs)
        spread = dark_reproducibility_V(same) if len(same) >= 2 else float("nan")
        if np.isfinite(spread) and spread > stated:
            sigma.update({r: spread for r in runs})
            told = (
                f"the series' {len(same)} darks at that setting reproduce to "
                f"{spread * 1e6:.2g} uV, its uncertainty in the fit (the sheet states "
                f"{stated * 1e6:.2g} uV)"
            )
        elif np.isfinite(spread):
            told = (
                f"the series' {len(same)} darks at that setting reproduce to "
                f"{spread * 1e6:.2g} uV, within the sheet's {stated * 1e6:.2g} uV"
            )
        else:
            told = (
                "it is the series' only dark at that setting: its uncertainty is the sheet's "
                f"{stated * 1e6:.2g} uV"
            )
        across_told = f" across detection settings ({levels})" if across else ""
        records.append(
            quality.GateWarning(
                subject,
                "series.shared_dark",
                f"{subject} {how}{across_told}, at {'their' if len(runs) > 1 else 'its'} "
                f"vertical setting (ADC step {a.dark_adc_step_V * 1e6:.3g} uV); {told}",
                severity="note",
            )
        )
    return records, sigma


def with_dark_uncertainty(cal: dict[str, xr.Dataset], sigma: dict[str, float]):
    """The calibrated runs with the dark uncertainty [V] of the runs in ``sigma`` set to
    that value, every uncertainty that depends on it as the calibration would have written
    it (:func:`mohilbert.calibration.grid.grid_spectrum`): the dark term of the correlated
    error ((1 − T) σ / baseline, the change of T when the dark level moves by σ) replaced in
    ``transmission_uncertainty``, ``optical_depth_uncertainty`` and
    ``optical_depth_uncertainty_correlated``, the optical depth's floor and ``saturated``
    (T below 3 σ) from the new uncertainty, the ``dark`` error mode rescaled or added, and
    ``dark_uncertainty_V`` updated; the other runs, and runs whose σ is the one they were
    calibrated with, as they are (files written before the error modes existed keep
    their one uniform correlated shape).

    Parameters
    ----------
    cal : dict of str to xarray.Dataset
        Calibrated runs.
    sigma : dict of str to float
        Run → its dark level's standard uncertainty [V] (:func:`borrowed_darks`, or a
        series file's ``dark_uncertainty``: :func:`series_dark_uncertainty`).
    """
    out = dict(cal)
    for run, s in sigma.items():
        ds = cal[run]
        old = float(ds.attrs.get("dark_uncertainty_V", 0.0))
        if "transmission_error_modes" not in ds or s == old:
            continue
        t, base = ds["transmission"].values, ds["baseline"].values
        dark_old, dark_new = np.abs(1 - t) * old / base, np.abs(1 - t) * s / base
        sigma_t = ds["transmission_uncertainty"].values
        corr = ds["optical_depth_uncertainty_correlated"].values * np.maximum(t, sigma_t)
        corr_new = np.sqrt(np.maximum(corr**2 - dark_old**2, 0.0) + dark_new**2)
        sigma_new = np.sqrt(np.maximum(sigma_t**2 - corr**2, 0.0) + corr_new**2)
        floor = np.maximum(t, sigma_new)
        ds = ds.copy()
        for name, values in (
            ("transmission_uncertainty", sigma_new),
            ("optical_depth", -np.log(floor)),
            ("optical_depth_uncertainty", sigma_new / floor),
            ("optical_depth_uncertainty_correlated", corr_new / floor),
            ("saturated", (t < 3 * sigma_new).astype(ds["saturated"].dtype)),
        ):
            ds[name] = ("detuning", values, ds[name].attrs)
        mode = (1 - t) * s / base
        names = [str(n) for n in ds["error_mode"].values]
        modes = ds["transmission_error_modes"].values.copy()
        if "dark" in names:
            modes[names.index("dark")] = mode
        else:
            names, modes = names + ["dark"], np.vstack([modes, mode])
        attrs = ds["transmission_error_modes"].attrs
        coord_attrs = ds["error_mode"].attrs
        ds = ds.drop_vars(["transmission_error_modes", "error_mode"])
        ds = ds.assign_coords(error_mode=("error_mode", names, coord_attrs))
        ds["transmission_error_modes"] = (("error_mode", "detuning"), modes, attrs)
        ds.attrs["dark_uncertainty_V"] = float(s)
        out[run] = ds
    return out


def series_dark_uncertainty(series: xr.Dataset) -> dict[str, float]:
    """Run → the dark uncertainty [V] its series fit used (the ``dark_uncertainty`` the
    series file records: the series' measured one for a run that borrows its dark,
    :func:`borrowed_darks`); empty for a file written before it was recorded.

    Parameters
    ----------
    series : xarray.Dataset
        A power-series fit (``results/series/{series}.nc``).
    """
    if "dark_uncertainty" not in series:
        return {}
    runs = [str(r) for r in series["run"].values]
    return dict(zip(runs, map(float, series["dark_uncertainty"].values), strict=True))


#: a run's own intensity is flagged when it differs from the series' by more than this
#: fraction and by more than 3 standard uncertainties (its own and the series' run-to-run
#: scatter, :func:`intensity_ratio_warnings`)
INTENSITY_RATIO_TOLERANCE = 0.2
#: the run-to-run scatter of the ratios is measured from at least this many checked runs
#: (fewer: the runs' own uncertainties alone)
INTENSITY_RATIO_MIN_RUNS = 5
#: below this effective I/I_sat a run's intensity is not checked: there it mostly scales the
#: absorption, as the vapour density does, and its factor would read a temperature misfit
INTENSITY_RATIO_MIN_SATURATION = 1.0


def run_intensity_ratios(
    fit: xr.Dataset, cal: dict[str, xr.Dataset], exp: Experiment, max_points: int
) -> dict[str, tuple[float, float]]:
    """Per run: the effective intensity its own spectrum prefers, relative to the series'.

    Each run alone is fitted for a factor on its intensity (start 1: the sheet power times
    the series' fitted scale) and its detuning offset, with the temperature, field and
    transit rate held at the joint fit. A factor far from 1 says that the run's power, its
    beam or its detection is not what the rest of the series says (a mislabelled power, an
    attenuator, a detector setting with another dark level). Runs below
    :data:`INTENSITY_RATIO_MIN_SATURATION` are not checked (NaN): far from saturation the
    intensity scales the absorption like the density, and a low-power run whose absorption
    the series' temperature misses would be read as a wrong power. The uncertainty is the run
    fit's statistical one (the sandwich estimator: it grows with the residuals' size and
    correlation); NaN where the factor ran into its bounds (0.01, 100) or is not determined.

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    exp : Experiment
        Their sheet values.
    max_points : int
        Points per run in its fit.
    """
    from mohilbert.fitting import fit_spectra

    settings = {"max_points_per_run": max_points, "model": "auto"}
    cell, shifts = fitted_cell(exp, fit)
    isat = saturation_intensity_W_m2(cell.element, cell.line)
    out = {}
    for run in sorted(cal):
        ds = cal[run]
        probe = fitted_probe(fit, exp[run])
        if probe.peak_intensity_W_m2 / isat < INTENSITY_RATIO_MIN_SATURATION:
            out[run] = (float("nan"), float("nan"))
            continue
        # the run's points as the joint fit takes them, with the probe it fitted
        (spectrum,), _ = fit_inputs({run: ds}, exp, {**settings, "z_slices": probe.z_slices})
        spectrum = replace(spectrum, probe=probe)
        bounds = {"intensity_scale": (1e-2, 1e2), "shift_MHz": None}
        try:
            res = fit_spectra([spectrum], cell.with_(shift_MHz=shifts[run]), bounds)
        except FitError:
            out[run] = (float("nan"), float("nan"))
            continue
        r, u = res.values["intensity_scale"], res.stderr["intensity_scale"]
        at_bound = not 0.011 < r < 99.0
        out[run] = (float(r), float("nan") if at_bound or not np.isfinite(u) else float(u))
    return out


def intensity_ratio_warnings(
    ratios: dict[str, tuple[float, float]], settings: dict[str, int], response: dict[str, float]
) -> list[quality.GateWarning]:
    """One warning per run whose own intensity (:func:`run_intensity_ratios`) departs from
    the series' by more than :data:`INTENSITY_RATIO_TOLERANCE` and by more than 3 standard
    uncertainties: the run's own, and the series' run-to-run scatter of the ratios (robust:
    1.4826·MAD of the checked runs, from :data:`INTENSITY_RATIO_MIN_RUNS` of them). A power
    meter's reading, a beam that moved a little, a model that misses something growing with
    power all scatter the ratios of good runs (measured on the real series: 7–19 % run to
    run); a run outside that is what the gate is for (a mislabelled power, an attenuator, a
    detector setting with another dark level).

    Parameters
    ----------
    ratios : dict of str to (float, float)
        Run → (factor, its standard uncertainty).
    settings : dict of str to int
        Run → detection setting.
    response : dict of str to float
        Run → detector response [V/W].
    """
    checked = {run: (r, u) for run, (r, u) in ratios.items() if np.isfinite(r) and np.isfinite(u)}
    values = [r for r, _ in checked.values()]
    scatter = robust_sigma(values) if len(values) >= INTENSITY_RATIO_MIN_RUNS else 0.0
    out = []
    for run, (r, u) in sorted(checked.items()):
        limit = max(INTENSITY_RATIO_TOLERANCE, 3 * float(np.hypot(u, scatter)))
        if abs(r - 1) > limit:
            spread = f", the series' runs scatter by {scatter:.2g}" if scatter > 0 else ""
            out.append(
                quality.GateWarning(
                    f"run {run}",
                    "series.intensity_ratio",
                    f"run {run}: its own spectrum says its effective intensity is {pm(r, u)} "
                    f"times the series' (detection setting {settings[run]}, "
                    f"{response[run]:.3g} V/W{spread}): its sheet power, its beam or its "
                    "detection is not what the rest of the series says; check them, or leave "
                    "the run out of the series",
                )
            )
    return out


def weak_probe_limit_W(
    fit: xr.Dataset,
    cal: dict[str, xr.Dataset],
    exp: Experiment,
    threshold: float,
    max_points: int,
) -> float:
    """The sheet power [W] above which a run of this series, recorded with the median noise
    and points of its runs, tells the weak-probe model from the intense-probe one
    (Δχ² = ``threshold``); interpolated in log power over 1e-10 … 1e-1 W.

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The series' calibrated runs (their noise).
    exp : Experiment
        Their sheet values.
    threshold : float
        The Δχ² that tells the models apart (``gates.fit.weak_probe_delta_chi2``).
    max_points : int
        Points per run to compare on.
    """
    runs = sorted(cal)
    sig = [
        float(np.median(cal[r]["transmission_uncertainty"].values[decimated_points(cal[r], 50)]))
        for r in runs
    ]
    ref = runs[int(np.argsort(sig)[len(sig) // 2])]
    rec, ds = exp[ref], cal[ref]
    idx = decimated_points(ds, max_points)
    sigma = ds["transmission_uncertainty"].values[idx]
    powers = np.geomspace(1e-10, 1e-1, 10)
    chi2 = []
    for p in powers:
        r = replace(rec, probe_power_W=float(p))
        _, t_int, t_weak, _ = run_models(fit, ds, r, idx)
        chi2.append(float(np.sum(((t_int - t_weak) / sigma) ** 2)))
    chi2 = np.maximum(np.array(chi2), 1e-300)
    above = np.flatnonzero(chi2 > threshold)
    if above.size == 0:
        return float("inf")
    k = above[0]
    if k == 0:
        return float(powers[0])
    lp = np.interp(np.log(threshold), np.log(chi2[k - 1 : k + 1]), np.log(powers[k - 1 : k + 1]))
    return float(np.exp(lp))


def fit_series(
    cal: dict[str, xr.Dataset],
    records: dict[str, Run | dict],
    config: dict | None = None,
    gates: dict | None = None,
) -> xr.Dataset:
    """Joint intense-probe fit of a power series → Dataset for ``results/series/{series}.nc``.

    The fit's variables (:func:`mohilbert.stages.fit.fit_experiment`) plus, over dimension
    ``run``: ``probe_power_W``, ``saturation_parameter`` (effective peak I/I_sat),
    ``weak_probe_delta_chi2``, ``weak_probe_max_pull``, ``weak_probe_holds``,
    ``detector_response`` [V/W], ``detector_setting`` (:func:`detector_settings`),
    ``intensity_ratio`` and its uncertainty (:func:`run_intensity_ratios`); attrs
    ``weak_probe_limit_W`` and ``weak_probe_limit_saturation``. The parameters named in
    ``per_detection_setting`` take one value per detection setting (found before the fit),
    each run's tied to its setting's first run. Runs whose calibration failed
    (:func:`mohilbert.calibration.core.calibrate_or_leave_out`) are left out; their reasons
    are the attribute ``runs_left_out`` (JSON, run → one line).

    Parameters
    ----------
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    records : dict of str to Run or dict
        Their sheet values (each with ``probe_power_W`` and ``beam_diameter_m``).
    config : dict, optional
        ``series:`` of the configuration (defaults :data:`DEFAULTS`).
    gates : dict, optional
        ``gates`` thresholds (``fit.weak_probe_delta_chi2``).
    """
    cfg = {**DEFAULTS, **(config or {})}
    cal, left_out = split_left_out(cal)
    series, exp = _series_experiment(cal, records, left_out)
    runs = list(exp.names)
    response = {r: detector_response_V_per_W(cal[r], exp[r].probe_power_W) for r in runs}
    settings = detector_settings(response, {r: float(exp[r].probe_power_W) for r in runs})
    grouped = list(cfg.get("per_detection_setting", []))
    stray = [p for p in grouped if p not in cfg["free"]]
    if stray:
        raise FitError(
            f"series {series}: series.per_detection_setting names {', '.join(stray)}, which "
            "series.free does not free"
        )
    groups = {p: dict(settings) for p in grouped}
    powers = {r: float(exp[r].probe_power_W) for r in runs}
    dark_records, dark_sigma = borrowed_darks({r: cal[r] for r in runs}, settings, response, powers)
    cal = with_dark_uncertainty(cal, dark_sigma)
    out = fit_experiment(
        cal, {r: exp[r] for r in runs}, cfg, gates, label=exp.label, groups=groups or None
    )
    if cfg["model_error"] == "power_halves":
        out = with_model_error(out, power_halves_error(out, cal, exp, cfg, gates, groups))
    gate = float(quality.thresholds("fit", {"gates": gates})["weak_probe_delta_chi2"])
    valid = weak_probe_validity(out, cal, exp, cfg["max_points_per_run"])
    out = out.assign_coords(run=("run", runs, {"units": "1", "long_name": "run id"}))
    holds = {r: int(valid[r]["delta_chi2"] <= gate) for r in runs}
    per_run = {
        "probe_power_W": {r: float(exp[r].probe_power_W) for r in runs},
        "saturation_parameter": {r: valid[r]["saturation_parameter"] for r in runs},
        "weak_probe_delta_chi2": {r: valid[r]["delta_chi2"] for r in runs},
        "weak_probe_max_pull": {r: valid[r]["max_pull"] for r in runs},
        "weak_probe_holds": holds,
        "detector_response": response,
        "detector_setting": settings,
        "dark_uncertainty": {r: float(cal[r].attrs.get("dark_uncertainty_V", 0.0)) for r in runs},
    }
    for name, values in per_run.items():
        out[name] = ("run", [values[r] for r in runs], RUN_VARIABLES[name])
    ratios = run_intensity_ratios(out, cal, exp, cfg["max_points_per_run"])
    for k, name in enumerate(("intensity_ratio", "intensity_ratio_uncertainty")):
        out[name] = ("run", [ratios[r][k] for r in runs], RUN_VARIABLES[name])
    limit = weak_probe_limit_W(out, cal, exp, gate, cfg["max_points_per_run"])
    out = with_saturation_optical_depths(out, cal, exp)
    out.attrs.update(
        series=series,
        per_detection_setting=", ".join(grouped),
        weak_probe_gate_delta_chi2=gate,
        weak_probe_limit_W=limit,
        weak_probe_limit_saturation=_limit_saturation(out, exp, limit),
        validity_json=json.dumps(valid),
        runs_left_out=json.dumps(left_out),
    )
    warnings = quality.read(out.attrs)
    warnings += dark_records
    warnings += intensity_ratio_warnings(ratios, settings, response)
    warnings += [_weak_probe_warning(r, valid[r], gate) for r in runs if not holds[r]]
    quality.store(out.attrs, warnings)
    return out


#: the parameters that carry the model's own error (``series.model_error``)
MODEL_ERROR_PARAMETERS = ("temperature_C", "field_T")
MODEL_ERROR_TERM = (
    "the model's own error: the spread of the shared parameter between fits of the lower and "
    "the upper half of the powers beyond their own uncertainties, sqrt(max(d^2 - s1^2 - s2^2, "
    "0) / 2) (series.model_error: power_halves; only when the data reject the model)"
)


def power_halves_error(
    out: xr.Dataset,
    cal: dict[str, xr.Dataset],
    exp: Experiment,
    cfg: dict,
    gates: dict | None,
    groups: dict | None,
) -> dict:
    """The model's own error of :data:`MODEL_ERROR_PARAMETERS` from the data: when the joint
    fit's reduced χ² exceeds ``gates.fit.redchi``, the lower and the upper half of the powers
    are fitted on their own (same configuration) and each parameter's difference d beyond
    their own uncertainties s1, s2 gives sqrt(max(d² − s1² − s2², 0) / 2) — the scatter a
    parameter shows between parts of the data that one model should describe alike.

    Parameters
    ----------
    out : xarray.Dataset
        The joint fit (:func:`mohilbert.stages.fit.fit_experiment`).
    cal : dict of str to xarray.Dataset
        The series' calibrated runs.
    exp : Experiment
        Their sheet values.
    cfg : dict
        ``series:`` of the configuration.
    gates : dict, optional
        ``gates`` thresholds (``fit.redchi``).
    groups : dict, optional
        Parameter → run → detection setting (``series.per_detection_setting``).

    Returns
    -------
    dict
        Parameter → ``{"low": [value, σ], "high": [value, σ], "model": u}`` and
        ``"redchi"``; empty when the data do not reject the model or a half has < 2 runs.
    """
    redchi = float(FitAttrs.from_dataset(out).redchi)
    gate = float(quality.thresholds("fit", {"gates": gates})["redchi"])
    runs = sorted(exp.names, key=lambda r: (exp[r].probe_power_W, r))
    half = len(runs) // 2
    if not redchi > gate or half < 2:
        return {}
    # each half starts where the joint fit ended (every parameter): a half of a misfitted
    # series can hold more than one minimum, and the one next to the joint solution is the
    # spread asked for (from the sheet's values a half's fit landed in either of two, 0.3 °C
    # apart, on rounding-level changes of the data); and it takes fewer steps
    start = dict(
        zip(out["parameter"].values.tolist(), map(float, out["value"].values), strict=True)
    )
    parts = {}
    for name, members in (("low", runs[:half]), ("high", runs[half:])):
        sub = {p: {r: g[r] for r in members} for p, g in (groups or {}).items()}
        fit = fit_experiment(
            {r: cal[r] for r in members},
            {r: exp[r] for r in members},
            cfg,
            gates,
            label=f"{exp.label} ({name} powers)",
            groups=sub or None,
            start=start,
        )
        names = fit["parameter"].values.tolist()
        parts[name] = {
            p: [
                float(fit["value"].values[names.index(p)]),
                float(fit["stderr_total"].values[names.index(p)]),
            ]
            for p in MODEL_ERROR_PARAMETERS
            if p in names
        }
    result: dict = {"redchi": redchi}
    for p in MODEL_ERROR_PARAMETERS:
        if p in parts["low"] and p in parts["high"]:
            (v1, s1), (v2, s2) = parts["low"][p], parts["high"][p]
            u = math.sqrt(max((v1 - v2) ** 2 - s1**2 - s2**2, 0.0) / 2)
            result[p] = {"low": [v1, s1], "high": [v2, s2], "model": u}
    return result


def with_model_error(out: xr.Dataset, errors: dict) -> xr.Dataset:
    """The fit with the budget term ``model`` (:func:`power_halves_error`): a column of
    ``budget``, added in quadrature to ``stderr_systematic``, ``stderr_total`` and the
    covariance's diagonal; the halves' values in the attribute ``model_error_json``."""
    out = out.copy()
    names = out["parameter"].values.tolist()
    u = np.zeros(len(names))
    for p, e in errors.items():
        if p in names:
            u[names.index(p)] = e["model"]
    terms = json.loads(out.attrs["budget_terms_json"])
    terms["model"] = MODEL_ERROR_TERM
    budget = np.column_stack([out["budget"].values, u])
    attrs = dict(out["budget"].attrs)
    out = out.drop_vars(["budget", "term"])
    out = out.assign_coords(
        term=("term", list(terms), {"units": "1", "long_name": "uncertainty-budget term"})
    )
    out["budget"] = (("parameter", "term"), budget, attrs)
    out["stderr_systematic"].values = np.hypot(out["stderr_systematic"].values, u)
    out["stderr_total"].values = np.hypot(out["stderr_total"].values, u)
    cov = out["covariance"].values.copy()
    cov[np.diag_indices_from(cov)] += u**2
    out["covariance"].values = cov
    out.attrs["budget_terms_json"] = json.dumps(terms)
    out.attrs["model_error_json"] = json.dumps(errors)
    return out


#: the series file's per-run variables (dimension ``run``): units and long name
RUN_VARIABLES = {
    "probe_power_W": {"units": "W", "long_name": "probe power entering the cell (sheet value)"},
    "saturation_parameter": {
        "units": "1",
        "long_name": "effective peak intensity / I_sat (sheet power x fitted scale)",
    },
    "weak_probe_delta_chi2": {
        "units": "1",
        "long_name": "sum over the fitted points of ((T_intense - T_weak) / sigma)^2",
    },
    "weak_probe_max_pull": {"units": "1", "long_name": "largest |T_intense - T_weak| / sigma"},
    "weak_probe_holds": {
        "units": "1",
        "long_name": "1: the weak-probe model is indistinguishable within the noise",
    },
    "detector_response": {
        "units": "V W-1",
        "long_name": "detector signal off resonance (above dark) per watt of sheet power",
    },
    "detector_setting": {
        "units": "1",
        "long_name": "detection setting (gain, attenuator): a new one where the detector "
        f"response changes by more than {DETECTOR_SETTING_STEP:g}x between runs",
    },
    "dark_uncertainty": {
        "units": "V",
        "long_name": "standard uncertainty of the dark level subtracted (the series' measured "
        "reproducibility of its darks for a run that borrows another acquisition's dark)",
    },
    "intensity_ratio": {
        "units": "1",
        "long_name": "effective intensity the run's own spectrum prefers / the series' "
        "(temperature, field, transit held at the joint fit)",
    },
    "intensity_ratio_uncertainty": {
        "units": "1",
        "long_name": "standard uncertainty of intensity_ratio (statistical)",
    },
}


def _series_experiment(
    cal: dict[str, xr.Dataset], records: dict, left_out: dict | None = None
) -> tuple[str, Experiment]:
    """The series' name and its runs as an :class:`Experiment`; every run has a power."""
    if not cal:
        if left_out:
            first = sorted(left_out)[0]
            raise FitError(
                f"series {Run.coerce(records[first]).series}: every run was left out (run "
                f"{first}: {left_out[first]})"
            )
        raise FitError("no calibrated runs in the power series")
    runs = sorted(cal)
    series = Run.coerce(records[runs[0]]).series or "?"
    exp = Experiment.of({r: records[r] for r in runs}, f"series {series}")
    missing = [r for r in runs if exp[r].probe_power_W is None]
    if missing:
        raise FitError(
            f"series {series}: run(s) {missing} have no probe_power_W; a power series needs the "
            "power (and beam_diameter_m) of every run"
        )
    return series, exp


def _limit_saturation(out: xr.Dataset, exp: Experiment, limit_W: float) -> float:
    """The weak-probe limit as an effective peak I/I_sat: the limit lies among the weakest
    runs, so with their intensity scale (the series' where it is shared)."""
    rec0 = exp.first
    probe = replace(rec0, probe_power_W=limit_W if np.isfinite(limit_W) else 0.0).probe()
    cell = rec0.cell()
    scale = intensity_scale(out, min(exp.names, key=lambda r: (exp[r].probe_power_W, r)))
    return probe.peak_intensity_W_m2 * scale / saturation_intensity_W_m2(cell.element, cell.line)


def _weak_probe_warning(run: str, verdict: dict, gate: float) -> quality.GateWarning:
    """The note of a run whose weak-probe model its noise tells from the intense one (physics
    of a good run, not a fault: the Hilbert stage acts on it)."""
    return quality.GateWarning(
        f"run {run}",
        "fit.weak_probe_delta_chi2",
        f"run {run}: the weak-probe model departs from the intense-probe fit by "
        f"delta chi-square {verdict['delta_chi2']:.3g} (gate {gate:g}; largest "
        f"{verdict['max_pull']:.3g} sigma) at {verdict['saturation_parameter']:.3g} I_sat: its "
        "weak-probe fit is biased and the Hilbert transform of its optical depth is not its "
        "index",
        "note",
    )


def series_validity(series: xr.Dataset, run: str) -> dict | None:
    """The validity verdict of ``run`` in a series file, or ``None`` if it is not in it."""
    if "run" not in series.coords or run not in series["run"].values.tolist():
        return None
    sel = series.sel(run=run)
    return {
        "holds": bool(int(sel["weak_probe_holds"])),
        "delta_chi2": float(sel["weak_probe_delta_chi2"]),
        "saturation_parameter": float(sel["saturation_parameter"]),
    }
