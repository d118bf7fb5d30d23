"""Benchmark (issue 35): is the intense-probe model smooth in the parameters a series fit moves?

A least-squares fit with difference Jacobians needs a χ² that is smooth on the scale of its
steps; the model's own discretisation (the saturation lattice's step, a fraction of the
coherence width that the temperature and the transit rate set) can make it rough. This takes a
fitted power series of the HIP-ElecSus paper (the workspace's ``results/series/{series}.nc``,
fitted here when absent), moves one parameter through ±0.1 of its statistical standard error
in 21 steps, and prints the series' χ² along the way for each lattice step fraction, with the
RMS scatter of χ² about a parabola through it: a smooth model scatters far less than the
parabola rises.

    .venv/bin/python benchmarks/bench_model_smoothness.py [--series hip_0.5mm_T62]
        [--parameter transit_scale] [--keep DIR]
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paper import DATA
from bench_series_fit import _arg, calibrated_workspace

FRACTIONS = (0.5, 0.25)


def main() -> None:
    if not DATA.exists():
        print(f"skipped: {DATA} absent (../shared not beside the checkout)")
        return
    from mohilbert.config import RUNS_SCHEMA_PATH
    from mohilbert.io.netcdf import load_dataset, save_dataset
    from mohilbert.records import Experiment
    from mohilbert.runs import load_runs, stage_record
    from mohilbert.stages.fit import fit_inputs, fitted_cell
    from mohilbert.stages.series import fit_series, fitted_probe
    from mohilbert.theory import intense_arrays

    series = _arg("--series", "hip_0.5mm_T62")
    name = _arg("--parameter", "transit_scale")
    wd = Path(_arg("--keep") or tempfile.mkdtemp(prefix="mohilbert-smooth-"))
    runs = calibrated_workspace(wd, series)
    cfg = yaml.safe_load((wd / "paper.yaml").read_text())
    sheet = load_runs(
        wd / cfg["runs"], RUNS_SCHEMA_PATH, cfg["data_root"], without_files="leave_out"
    )
    records = {r: stage_record(sheet, r, "fit", cfg["data_root"]) for r in runs}
    cal = {r: load_dataset(wd / "results" / "calibrated" / f"{r}.nc") for r in runs}
    path = wd / "results" / "series" / f"{series}.nc"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        save_dataset(fit_series(cal, records, cfg["series"], cfg["gates"]["fit"]), path)
    fit = load_dataset(path)
    exp = Experiment.of(records, f"series {series}")
    spectra, _ = fit_inputs(cal, exp, {**cfg["series"], "model": "auto"})
    cell, shifts = fitted_cell(exp, fit)
    names = [str(p) for p in fit["parameter"].values]
    value = float(fit["value"].values[names.index(name)])
    sigma = float(fit["stderr"].values[names.index(name)])
    steps = np.linspace(-0.1, 0.1, 21)
    print(f"## {series}: chi2 along {name} = {value:.6g} + f x {sigma:.3g} (statistical sigma)\n")
    table = {}
    for frac in FRACTIONS:
        chi2 = []
        for f in steps:
            moved = value + f * sigma
            total = 0.0
            for sp in spectra:
                run = exp[sp.name]
                probe = replace(fitted_probe(fit, run), step_fraction=frac)
                c = cell.with_(shift_MHz=shifts[sp.name])
                if name == "transit_scale":
                    probe = replace(probe, transit_scale=moved)
                else:
                    c = c.with_fitted({name: moved})
                model = intense_arrays(sp.detuning_MHz, c, sp.polarisation, probe)["S0"]
                total += float(np.sum(((model - sp.data) / sp.sigma) ** 2))
            chi2.append(total)
        table[frac] = np.array(chi2)
    print("| f (sigma) | " + " | ".join(f"chi2 - chi2(0), step {f} x width" for f in FRACTIONS))
    print("|---|" + "---|" * len(FRACTIONS))
    for j, f in enumerate(steps):
        cells = " | ".join(f"{table[fr][j] - table[fr][10]:+.3f}" for fr in FRACTIONS)
        print(f"| {f:+.2f} | {cells} |")
    print()
    for frac in FRACTIONS:
        c2 = table[frac]
        parabola = np.polyval(np.polyfit(steps, c2, 2), steps)
        scatter = float(np.sqrt(np.mean((c2 - parabola) ** 2)))
        rise = float(np.ptp(parabola))
        print(
            f"step {frac} x coherence width: chi2 scatter about a parabola {scatter:.3g} "
            f"(the parabola's range over +-0.1 sigma: {rise:.3g})"
        )


if __name__ == "__main__":
    main()
