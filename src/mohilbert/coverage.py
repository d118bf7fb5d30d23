"""Do the stated uncertainties cover the truth as often as they claim? Proof by simulation.

A *case* is one small simulated Faraday campaign (σ+ and σ− runs of one cell) with a random
true temperature and field, a random error of the etalon FSR and of the cell length written
in the runs sheet (each with the standard uncertainty the sheet states for it), random white
and 1/f noise levels and seeds. It goes through the stages the workflow runs — the vendor
exports written by :mod:`mohilbert.simulate`, the sheet validated by
:func:`mohilbert.runs.load_runs`, :func:`~mohilbert.io.ingest.ingest_run`,
:func:`~mohilbert.calibration.core.calibrate_run`,
:func:`~mohilbert.stages.fit.fit_experiment` and
:func:`~mohilbert.stages.hilbert.hilbert_experiment` — and is compared with its truth:

* per fitted parameter (temperature, field) the pull (fit − truth)/σ_total;
* per Hilbert-transformed index the fraction of usable points within 1 σ of the true index.

For honest uncertainties the fraction of |pull| ≤ 1 is 0.683 and of |pull| ≤ 2 is 0.954.
``benchmarks/bench_coverage.py`` runs ≥ 50 cases; ``tests/test_coverage.py`` a reduced set.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mohilbert.theory import Cell, spectrum

FSR_MHZ = 750.0
LENGTH_M = 0.002
PARAMETERS = ("temperature_C", "field_T")


@dataclass
class CaseSpec:
    """The truth and the lab's beliefs of one simulated case (units in the names)."""

    seed: int
    temperature_C: float
    field_T: float
    nominal_temperature_C: float
    nominal_field_T: float
    fsr_relative_uncertainty: float
    sheet_fsr_MHz: float
    length_relative_uncertainty: float
    true_length_m: float
    white_noise_V: float
    flicker_noise_V: float
    n_samples: int


def draw_case(seed: int, n_samples: int = 20000) -> CaseSpec:
    """Random truth and sheet for case ``seed`` (deterministic)."""
    rng = np.random.default_rng([2026, seed])
    t = rng.uniform(65.0, 105.0)
    b = rng.uniform(0.3, 0.9)
    u_fsr = math.exp(rng.uniform(math.log(1e-5), math.log(3e-4)))
    u_len = math.exp(rng.uniform(math.log(1e-3), math.log(2e-2)))
    return CaseSpec(
        seed=seed,
        temperature_C=t,
        field_T=b,
        nominal_temperature_C=t + rng.normal(0, 3.0),
        nominal_field_T=b * (1 + rng.normal(0, 0.02)),
        fsr_relative_uncertainty=u_fsr,
        sheet_fsr_MHz=FSR_MHZ * (1 + u_fsr * rng.normal()),
        length_relative_uncertainty=u_len,
        true_length_m=LENGTH_M * (1 + u_len * rng.normal()),
        white_noise_V=math.exp(rng.uniform(math.log(2e-4), math.log(2e-3))),
        flicker_noise_V=math.exp(rng.uniform(math.log(1e-4), math.log(1e-3))),
        n_samples=n_samples,
    )


def _sheet(spec: CaseSpec, rows: list[dict]) -> str:
    from mohilbert.simulate import sheet_text

    beliefs = {
        "cell_length_m": LENGTH_M,
        "cell_length_uncertainty_m": LENGTH_M * spec.length_relative_uncertainty,
        "temperature_C": round(spec.nominal_temperature_C, 2),
        "field_T": round(spec.nominal_field_T, 4),
        "etalon_fsr_MHz": spec.sheet_fsr_MHz,
        "etalon_fsr_uncertainty_MHz": FSR_MHZ * spec.fsr_relative_uncertainty,
    }
    rows = [{**row, "element": "Rb", "line": "D2", **beliefs} for row in rows]
    return sheet_text(rows, ("cell_length_uncertainty_m", "etalon_fsr_uncertainty_MHz"))


def run_case(spec: CaseSpec, workdir: str | Path | None = None) -> dict:
    """Simulate one case, run it through the pipeline's stages, compare with the truth.

    Returns a flat dict: the spec, per parameter value / σ_total / pull, and per mode the
    fraction of usable index points within 1 σ (``index_within_1sigma_<mode>``).
    """
    from mohilbert.calibration.core import calibrate_run
    from mohilbert.config import RUNS_SCHEMA_PATH as schema
    from mohilbert.io.ingest import ingest_run
    from mohilbert.runs import load_runs, run_record
    from mohilbert.simulate import Acquisition, write_acquisition
    from mohilbert.stages.fit import fit_experiment
    from mohilbert.stages.hilbert import hilbert_experiment

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        truth_cell = {
            "element": "Rb",
            "line": "D2",
            "length_m": spec.true_length_m,
            "temperature_C": spec.temperature_C,
            "field_T": spec.field_T,
        }
        noise = {"white_noise_V": spec.white_noise_V, "flicker_noise_V": spec.flicker_noise_V}
        rows = []
        for k, pol in enumerate(("sigma_plus", "sigma_minus")):
            acq = Acquisition(
                run=f"c{spec.seed}_{pol}",
                experiment="case",
                geometry="faraday",
                polarisation=pol,
                cell=truth_cell,
                n_samples=spec.n_samples,
                seed=10 * spec.seed + k,
                scan={"fringe_amplitude": 0.001, "fringe_period_MHz": 20000},
                etalon={"fsr_MHz": FSR_MHZ},
                channels={"signal": noise},
            )
            row, _ = write_acquisition(acq, root)
            rows.append(row)
        (root / "runs.tsv").write_text(_sheet(spec, rows))
        runs = load_runs(root / "runs.tsv", schema, root)
        records = {r: run_record(runs, r) for r in runs.index}
        cal = {r: calibrate_run(ingest_run(rec), rec) for r, rec in records.items()}
        fit = fit_experiment(cal, records)
        hil = hilbert_experiment(cal, records, fit)
    out = asdict(spec)
    names = fit["parameter"].values.tolist()
    for p in PARAMETERS:
        i = names.index(p)
        value, sigma = float(fit["value"].values[i]), float(fit["stderr_total"].values[i])
        out[f"{p}_fit"] = value
        out[f"{p}_sigma"] = sigma
        out[f"{p}_pull"] = (value - getattr(spec, p)) / sigma
    true = spectrum(hil["detuning"].values, Cell(**truth_cell), "x")
    true_mode = {str(m): i for i, m in enumerate(true["mode"].values)}
    for j, m in enumerate(hil["mode"].values.tolist()):
        idx_true = true["n"].values[true_mode[m]].real - 1
        ok = (hil["edge"].values[j] == 0) & (hil["filled"].values[j] == 0)
        err = np.abs(hil["index"].values[j] - idx_true)[ok]
        out[f"index_within_1sigma_{m}"] = float(
            np.mean(err <= hil["index_uncertainty"].values[j][ok])
        )
    return out


def coverage_summary(cases: list[dict]) -> dict[str, float]:
    """Fractions of cases with |pull| ≤ 1 and ≤ 2 per parameter, and the mean fraction of
    index points within 1 σ."""
    summary = {"cases": len(cases)}
    for p in PARAMETERS:
        pulls = np.array([c[f"{p}_pull"] for c in cases])
        summary[f"{p}_within_1sigma"] = float(np.mean(np.abs(pulls) <= 1))
        summary[f"{p}_within_2sigma"] = float(np.mean(np.abs(pulls) <= 2))
        summary[f"{p}_pull_rms"] = float(np.sqrt(np.mean(pulls**2)))
    keys = sorted({k for c in cases for k in c if k.startswith("index_within_1sigma_")})
    for k in keys:
        summary[k] = float(np.mean([c[k] for c in cases if k in c]))
    return summary


# -- power series ---------------------------------------------------------------------------

#: the fitted parameters of a simulated power series whose coverage is checked
SERIES_PARAMETERS = ("temperature_C", "field_T", "intensity_scale", "transit_scale")
#: nominal peak I/I_sat of a simulated series' runs (before the true intensity scale)
SERIES_SATURATIONS = (0.03, 0.3, 3.0, 30.0)
SERIES_BEAM_M = 0.5e-3


@dataclass
class SeriesSpec:
    """The truth and the sheet of one simulated power series (units in the names)."""

    seed: int
    temperature_C: float
    field_T: float
    intensity_scale: float
    transit_scale: float
    nominal_temperature_C: float
    nominal_field_T: float
    noise: float  # white noise of the transmission per point


def draw_series(seed: int) -> SeriesSpec:
    """Random truth and sheet of series ``seed`` (deterministic)."""
    rng = np.random.default_rng([2036, seed])
    t, b = rng.uniform(58.0, 70.0), rng.uniform(0.55, 0.65)
    return SeriesSpec(
        seed=seed,
        temperature_C=t,
        field_T=b,
        intensity_scale=rng.uniform(0.2, 0.6),
        transit_scale=rng.uniform(0.7, 1.5),
        # the lab's beliefs: the heater's temperature to ~1 C, the field to ~0.5 % (the
        # calibration's own-theory fit of every run finds it so)
        nominal_temperature_C=t + rng.normal(0.0, 1.0),
        nominal_field_T=b * (1 + rng.normal(0.0, 0.005)),
        noise=math.exp(rng.uniform(math.log(5e-4), math.log(3e-3))),
    )


def run_series(spec: SeriesSpec, points: int = 400) -> dict:
    """Simulate one power series (calibrated transmission of four runs over three decades of
    intensity: the intense-probe model at the truth, a flat beam of pure ⁸⁷Rb, white noise),
    fit it with :func:`mohilbert.stages.series.fit_series` (T, B, intensity and transit
    scales shared, a detuning shift per run) and return each parameter's value, total σ and
    pull. The calibration stage is not simulated here (the weak-probe cases cover it)."""
    import xarray as xr

    from mohilbert.intense import Probe, saturation_intensity_W_m2
    from mohilbert.stages.series import fit_series
    from mohilbert.theory import intense_arrays

    rng = np.random.default_rng([2037, spec.seed])
    x = np.linspace(5500.0, 18000.0, points)
    cell = Cell(
        length_m=LENGTH_M,
        temperature_C=spec.temperature_C,
        field_T=spec.field_T,
        isotope_percent={"87Rb": 100},
    )
    area = math.pi * SERIES_BEAM_M**2 / 4
    cal, records = {}, {}
    for k, s in enumerate(SERIES_SATURATIONS):
        power = s * saturation_intensity_W_m2("Rb", "D2") * area
        probe = Probe(
            power * spec.intensity_scale,
            SERIES_BEAM_M,
            "flat",
            transit_scale=spec.transit_scale,
        )
        t = intense_arrays(x, cell, "sigma_plus", probe)["S0"]
        name = f"p{k}"
        cal[name] = xr.Dataset(
            {
                "transmission": ("detuning", t + rng.normal(0.0, spec.noise, x.size)),
                "transmission_uncertainty": ("detuning", np.full(x.size, spec.noise)),
                "baseline": ("detuning", np.full(x.size, 1e3 * power)),
            },
            coords={"detuning": x},
        )
        records[name] = {
            "run": name,
            "experiment": name,
            "series": "sim",
            "geometry": "faraday",
            "polarisation": "sigma_plus",
            "cell_length_m": LENGTH_M,
            "temperature_C": spec.nominal_temperature_C,
            "field_T": spec.nominal_field_T,
            "isotope_percent": {"87Rb": 100},
            "probe_power_W": power,
            "beam_diameter_m": SERIES_BEAM_M,
            "beam_profile": "flat",
        }
    config = {
        "free": list(SERIES_PARAMETERS),
        "per_run": ["shift_MHz"],
        "per_detection_setting": [],
        "z_slices": 1,
        "max_points_per_run": points,
    }
    fit = fit_series(cal, records, config)
    return _pulls(fit, spec, SERIES_PARAMETERS)


def _pulls(fit, spec, parameters: tuple[str, ...]) -> dict:
    """A series fit's value, total σ and pull against the truth ``spec`` per parameter."""
    names = [str(n) for n in fit["parameter"].values]
    out: dict = {"seed": spec.seed, "redchi": float(fit.attrs["redchi"])}
    for p in parameters:
        i = names.index(p)
        value, sigma = float(fit["value"].values[i]), float(fit["stderr_total"].values[i])
        out[p] = value
        out[f"{p}_sigma"] = sigma
        out[f"{p}_pull"] = (value - getattr(spec, p)) / sigma
    return out


def series_coverage_summary(
    cases: list[dict], parameters: tuple[str, ...] = SERIES_PARAMETERS
) -> dict[str, float]:
    """Fractions of simulated series with |pull| ≤ 1 and ≤ 2 per parameter, the RMS pull,
    and the binomial standard deviation of a fraction at its nominal value for this many
    series."""
    summary: dict = {"series": len(cases)}
    for p in parameters:
        summary.update(_pull_fractions([c[f"{p}_pull"] for c in cases], p, f"{p}_pull_rms"))
    return summary


def _pull_fractions(pulls, name: str, rms_name: str) -> dict[str, float]:
    """``<name>_within_1sigma``, ``<name>_within_2sigma``, the RMS pull as ``rms_name``, the
    mean pull (a bias; 0 for honest errors) and its standard error as ``rms_name`` with
    ``_mean`` and ``_mean_se`` for ``_rms``, and the binomial standard deviations of the two
    fractions at their nominal values for this many pulls (``binomial_sigma_1``,
    ``binomial_sigma_2``)."""
    pulls = np.asarray(pulls, dtype=float)
    n = max(pulls.size, 1)
    mean = rms_name.removesuffix("_rms") + "_mean"
    return {
        f"{name}_within_1sigma": float(np.mean(np.abs(pulls) <= 1)),
        f"{name}_within_2sigma": float(np.mean(np.abs(pulls) <= 2)),
        rms_name: float(np.sqrt(np.mean(pulls**2))),
        mean: float(np.mean(pulls)),
        f"{mean}_se": float(np.std(pulls, ddof=1) / math.sqrt(n)) if pulls.size > 1 else math.nan,
        "binomial_sigma_1": math.sqrt(0.683 * 0.317 / n),
        "binomial_sigma_2": math.sqrt(0.954 * 0.046 / n),
    }


#: the powers of a simulated power series through the whole chain [W] (1 mm Gaussian beam:
#: ~0.3, 7 and 350 I_sat at its centre), as the demo's power series
#: (data/raw/demo/campaign.yaml)
CHAIN_POWERS_W = (3e-6, 6e-5, 3e-3)
CHAIN_PARAMETERS = ("temperature_C", "field_T", "intensity_scale")


@dataclass
class ChainSeriesSpec:
    """The truth and the lab's beliefs of one power series simulated through the whole chain
    (raw exports → ingest → calibration → series fit); units in the names."""

    seed: int
    temperature_C: float
    field_T: float
    intensity_scale: float
    nominal_temperature_C: float
    white_noise_V: float
    flicker_noise_V: float
    fringe_phases_rad: tuple[float, ...]


def draw_chain_series(seed: int) -> ChainSeriesSpec:
    """Random truth, noise and window-fringe phases of chain series ``seed`` (deterministic)."""
    rng = np.random.default_rng([2038, seed])
    t = rng.uniform(55.0, 65.0)
    return ChainSeriesSpec(
        seed=seed,
        temperature_C=t,
        field_T=rng.uniform(0.57, 0.63),
        intensity_scale=rng.uniform(0.5, 1.0),
        nominal_temperature_C=t + rng.normal(0.0, 2.0),
        white_noise_V=math.exp(rng.uniform(math.log(2e-4), math.log(1e-3))),
        flicker_noise_V=math.exp(rng.uniform(math.log(1e-4), math.log(5e-4))),
        fringe_phases_rad=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, len(CHAIN_POWERS_W))),
    )


def run_chain_series(spec: ChainSeriesSpec, workdir: str | Path | None = None) -> dict:
    """Simulate one power series as a lab records it (:mod:`mohilbert.simulate`: an enriched
    ⁸⁷Rb cell, σ+, a 1 mm Gaussian beam at :data:`CHAIN_POWERS_W`, etalon, reference cell and
    a dark per power, white and 1/f noise, a 0.1 % window fringe of drifting phase), run it
    through the workflow's stages (sheet, ingest, calibration, series fit with T, B and the
    intensity scale free, as the demo's power series, data/raw/demo/campaign.yaml) and return
    each parameter's value, total σ and pull against the truth, and the line-centre points
    against theirs (``line_centre``: :func:`chain_line_centre_pulls`)."""
    from mohilbert.calibration.core import calibrate_run
    from mohilbert.config import RUNS_SCHEMA_PATH as schema
    from mohilbert.io.ingest import ingest_run
    from mohilbert.runs import load_runs, run_record
    from mohilbert.simulate import SERIES_COLUMNS, Acquisition, sheet_text, write_acquisition
    from mohilbert.simulate import _series_cells as series_cells
    from mohilbert.stages.series import fit_series

    cell = {
        "element": "Rb",
        "line": "D2",
        "length_m": LENGTH_M,
        "temperature_C": spec.temperature_C,
        "field_T": spec.field_T,
        "isotope_percent": {"87Rb": 100},
    }
    noise = {"white_noise_V": spec.white_noise_V, "flicker_noise_V": spec.flicker_noise_V}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        rows, acquisitions = [], []
        for k, power in enumerate(CHAIN_POWERS_W):
            acq = Acquisition(
                run=f"s{spec.seed}_{k}",
                experiment=f"s{spec.seed}_{k}",
                geometry="faraday",
                polarisation="sigma_plus",
                cell=cell,
                n_samples=10000,
                seed=100 * spec.seed + k,
                scan={
                    "fringe_amplitude": 0.001,
                    "fringe_period_MHz": 20000,
                    "fringe_phase_rad": spec.fringe_phases_rad[k],
                },
                etalon={"fsr_MHz": FSR_MHZ},
                channels={"signal": noise},
                probe={
                    "power_W": power,
                    "beam_diameter_m": 1e-3,
                    "beam_profile": "gaussian",
                    "intensity_scale": spec.intensity_scale,
                },
                series="chain",
            )
            row, _ = write_acquisition(acq, root)
            acquisitions.append(acq)
            row.update(
                element="Rb",
                line="D2",
                cell_length_m=LENGTH_M,
                temperature_C=round(spec.nominal_temperature_C, 1),
                field_T=0.6,
                etalon_fsr_MHz=FSR_MHZ,
                **series_cells(acq, Cell(**cell)),
            )
            rows.append(row)
        (root / "runs.tsv").write_text(sheet_text(rows, SERIES_COLUMNS))
        runs = load_runs(root / "runs.tsv", schema, root)
        records = {r: run_record(runs, r) for r in runs.index}
        cal = {r: calibrate_run(ingest_run(rec), rec) for r, rec in records.items()}
        config = {
            "free": list(CHAIN_PARAMETERS),
            "per_run": ["shift_MHz"],
            "max_points_per_run": 600,
        }
        fit = fit_series(cal, records, config)
        truth = {acq.run: (acq, Cell(**cell)) for acq in acquisitions}
        points = chain_line_centre_pulls(fit, cal, records, truth)
    return {**_pulls(fit, spec, CHAIN_PARAMETERS), "line_centre": points}


def chain_line_centre_pulls(fit, cal: dict, records: dict, truth: dict) -> list[dict]:
    """Per run and line (closed, open) of a simulated series: the data's line-centre α with
    its stated uncertainty (:func:`mohilbert.stages.line_centre.series_line_centres`, the
    Figure 4 points) against the truth, two ways: the same estimator (a parabola through
    ±25 MHz, its vertex) on the noiseless true transmission around the true line centre
    (``pull``: whether the stated σ covers noise and calibration), and the true peak α in that
    window (``pull_peak``: with the estimator's own shape error too).

    Parameters
    ----------
    fit : xarray.Dataset
        The series fit.
    cal : dict of str to xarray.Dataset
        The calibrated runs.
    records : dict
        Their sheet values.
    truth : dict
        Run → (its :class:`~mohilbert.simulate.Acquisition`, the true :class:`Cell`).
    """
    import xarray as xr

    from mohilbert.simulate import _probe_transmission
    from mohilbert.stages.line_centre import (
        CENTRE_WINDOW_MHZ,
        data_line_centre_alpha,
        open_and_closed_lines,
        series_line_centres,
    )

    table = series_line_centres(fit, cal, records)
    true_fit = fit.copy(deep=True)
    names = [str(n) for n in fit["parameter"].values]
    first = next(iter(truth.values()))[1]
    true_fit["value"].values[names.index("field_T")] = first.field_T
    true_fit["value"].values[names.index("temperature_C")] = first.temperature_C
    centres = open_and_closed_lines(true_fit, records)
    out = []
    for row in table.itertuples():
        acq, cell = truth[row.run]
        step = float(np.diff(cal[row.run]["detuning"].values[:2])[0])
        centre = centres[row.line]
        grid = centre + np.arange(-CENTRE_WINDOW_MHZ - step, CENTRE_WINDOW_MHZ + 1.5 * step, step)
        fine = centre + np.linspace(-CENTRE_WINDOW_MHZ, CENTRE_WINDOW_MHZ, 201)
        od = -np.log(_probe_transmission(grid, cell, acq))
        noiseless = xr.Dataset(
            {
                "optical_depth": ("detuning", od),
                "optical_depth_uncertainty": ("detuning", np.ones_like(od)),
            },
            coords={"detuning": grid},
        )
        estimate, _ = data_line_centre_alpha(noiseless, centre, cell.length_m)
        peak = float(np.max(-np.log(_probe_transmission(fine, cell, acq)))) / cell.length_m
        out.append(
            {
                "run": row.run,
                "line": row.line,
                "saturation": float(row.saturation),
                "alpha": float(row.alpha),
                "alpha_u": float(row.alpha_u),
                "alpha_true": estimate,
                "alpha_peak": peak,
                "pull": (row.alpha - estimate) / row.alpha_u,
                "pull_peak": (row.alpha - peak) / row.alpha_u,
            }
        )
    return out


def line_centre_coverage_summary(cases: list[dict]) -> dict[str, float]:
    """Fractions of the simulated line-centre points (:func:`chain_line_centre_pulls`, every
    case's) within 1 and 2 of their stated σ of the truth (the estimator on the true
    transmission; and the true peak), the RMS pulls, and the binomial standard deviation of
    a fraction at its nominal value for this many points."""
    points = [p for c in cases for p in c.get("line_centre", [])]
    out: dict = {"points": len(points)}
    for key in ("pull", "pull_peak"):
        out.update(_pull_fractions([p[key] for p in points], key, f"{key}_rms"))
    return out


def line_centre_coverage_by_power(cases: list[dict]) -> list[dict]:
    """:func:`line_centre_coverage_summary` of the points of each power and line apart (a
    chain series' runs end in ``_<k>``, the k-th of :data:`CHAIN_POWERS_W`): per power and
    line its ``power_W``, ``line``, median ``saturation`` and the summary's keys."""
    rows = []
    for k, power in enumerate(CHAIN_POWERS_W):
        for line in ("closed", "open"):
            points = [
                p
                for c in cases
                for p in c.get("line_centre", [])
                if p["run"].endswith(f"_{k}") and p["line"] == line
            ]
            if not points:
                continue
            summary = line_centre_coverage_summary([{"line_centre": points}])
            saturation = float(np.median([p["saturation"] for p in points]))
            rows.append({"power_W": power, "line": line, "saturation": saturation, **summary})
    return rows
