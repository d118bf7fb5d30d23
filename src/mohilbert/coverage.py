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
