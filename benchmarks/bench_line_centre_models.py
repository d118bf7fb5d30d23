"""Benchmark (issue 19): which intense-probe physics describes the HIP-ElecSus 0.5 mm power
series? Line-centre absorption α of the closed and the open line of every calibrated run
(both temperatures, all 38 powers) against the model, for several model variants, each with
its own best intensity scale.

Calibrates the raw exports with the paper configuration (rule ``calibrate`` only, in a
temporary copy of the workflow, ~1 min on 2 cores), measures α at each line centre from the
calibrated optical depth (:func:`mohilbert.plotting.power_series.data_line_centre_alpha`,
the centre found in the data within ±150 MHz of the model's), and prints for each variant the
fitted intensity scale (one per temperature), χ² and the pulls. The temperature is held at the
authors' values (62.0 / 81.0 °C) and the field at 0.6061 T (our joint fit), so that the shape
of α(I) is what is compared.

    .venv/bin/python benchmarks/bench_line_centre_models.py [--keep DIR] [--variants a,b,...]

Variants: ``flat`` / ``gaussian`` (beam profile, the physical mean transit rate 1/τ),
``hip`` (HIP-ElecSus compatibility: flat beam, its transit rate π/τ), ``gaussian_x3``
(Gaussian beam with a transit rate three times 1/τ), ``distribution`` (flat beam, the
Rayleigh distribution of transit rates).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paper import DATA, paper_workspace

FIELD_T = 0.6061
AUTHORS_T = {62: 62.0, 81: 81.0}
VARIANTS = {
    "flat": {"beam_profile": "flat"},
    "gaussian": {"beam_profile": "gaussian"},
    "hip": {"beam_profile": "flat", "compat": "hip-elecsus"},
    "gaussian_x3": {"beam_profile": "gaussian", "_transit_factor": 3.0},
    "distribution": {"beam_profile": "flat", "transit": "distribution"},
}


def calibrate(wd: Path) -> pd.DataFrame:
    paper_workspace(wd)
    sheet = pd.read_csv(wd / "config" / "hip-paper" / "runs.tsv", sep="\t", comment="#")
    targets = [f"results/calibrated/{r}.nc" for r in sheet["run"]]
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/default"]
    cmd += [*targets, "--configfile", "paper.yaml"]  # --configfile takes every word after it
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print(res.stderr[-3000:])
        raise SystemExit(f"calibration failed (kept in {wd})")
    print(f"calibrated {len(targets)} runs in {time.perf_counter() - t0:.0f} s")
    return sheet


def lines_at(field_T: float) -> dict[str, float]:
    """The closed and the open line [MHz] at ``field_T``, chosen as Figure 4 chooses them
    (:func:`mohilbert.plotting.power_series.open_and_closed_lines`)."""
    import xarray as xr

    from mohilbert.stages.line_centre import open_and_closed_lines

    fit = xr.Dataset({"value": ("parameter", [field_T])}, coords={"parameter": ["field_T"]})
    run = {
        "run": "r",
        "polarisation": "sigma_plus",
        "cell_length_m": 0.002,
        "temperature_C": 62.0,
        "field_T": field_T,
        "isotope_percent": "87Rb:100",
    }
    return open_and_closed_lines(fit, {"r": run})


def data_alpha(wd: Path, sheet: pd.DataFrame, lines: dict[str, float]) -> pd.DataFrame:
    from mohilbert.intense import saturation_intensity_W_m2
    from mohilbert.io.netcdf import load_dataset
    from mohilbert.stages.line_centre import data_line_centre_alpha

    isat = saturation_intensity_W_m2("Rb", "D2")
    rows = []
    for _, r in sheet.iterrows():
        cal = load_dataset(wd / "results" / "calibrated" / f"{r.run}.nc")
        s_nom = 2 * r.probe_power_W / (np.pi * (r.beam_diameter_m / 2) ** 2) / isat
        row = {"run": r.run, "T": int(r.temperature_C), "s_nom": s_nom}
        x, od = cal["detuning"].values, cal["optical_depth"].values
        for name, c in lines.items():
            sel = np.abs(x - c) < 150
            a = u = np.nan
            if sel.sum() > 10:
                smooth = np.convolve(np.nan_to_num(od[sel]), np.ones(5) / 5, "same")
                a, u = data_line_centre_alpha(cal, float(x[sel][np.argmax(smooth)]), 0.002)
            row[name], row[f"{name}_u"] = a, u
        rows.append(row)
    return pd.DataFrame(rows)


def model_alpha(variant: dict, temperature_C: float, lines, s_grid) -> np.ndarray:
    import mohilbert.intense as mi
    from mohilbert.intense import Probe, saturation_intensity_W_m2
    from mohilbert.theory import Cell, intense_arrays

    variant = dict(variant)
    factor = variant.pop("_transit_factor", 1.0)
    original = mi.transit_rates_MHz

    def scaled(*a):
        rates, weights = original(*a)
        return rates * factor, weights

    mi.transit_rates_MHz = scaled
    try:
        cell = Cell(
            length_m=0.002,
            temperature_C=temperature_C,
            field_T=FIELD_T,
            isotope_percent="87Rb:100",
        )
        x = np.array([lines["closed"], lines["open"]])
        isat = saturation_intensity_W_m2("Rb", "D2")
        out = []
        for s in s_grid:
            p0 = Probe(1e-6, 5e-4, z_slices=10, **variant)
            power = s * isat / (p0.peak_intensity_W_m2 / p0.power_W)
            t = intense_arrays(x, cell, "sigma_plus", replace(p0, power_W=power))["S0"]
            out.append(-np.log(t) / 0.002)
        return np.array(out)
    finally:
        mi.transit_rates_MHz = original


def main() -> None:
    if not DATA.exists():
        print(f"skipped: {DATA} absent (../shared not beside the checkout)")
        return
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    chosen = (
        sys.argv[sys.argv.index("--variants") + 1].split(",")
        if "--variants" in sys.argv
        else list(VARIANTS)
    )
    wd = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="mohilbert-linecentre-"))
    wd.mkdir(parents=True, exist_ok=True)
    sheet = calibrate(wd)
    lines = lines_at(FIELD_T)
    data = data_alpha(wd, sheet, lines).dropna()
    print(f"lines at {FIELD_T} T: closed {lines['closed']:.1f} MHz, open {lines['open']:.1f} MHz")
    s_grid = np.geomspace(1e-4, 3e3, 24)
    summary = []
    for name in chosen:
        for temp, t_c in AUTHORS_T.items():
            d = data[data["T"] == temp]
            t0 = time.perf_counter()
            al = model_alpha(VARIANTS[name], t_c, lines, s_grid)

            def pulls(logk, d=d, al=al):
                s = np.log(d["s_nom"].to_numpy() * np.exp(logk))
                mc = np.interp(s, np.log(s_grid), al[:, 0])
                mo = np.interp(s, np.log(s_grid), al[:, 1])
                return (
                    (d["closed"].to_numpy() - mc) / d["closed_u"].to_numpy(),
                    (d["open"].to_numpy() - mo) / d["open_u"].to_numpy(),
                )

            res = minimize_scalar(
                lambda lk, f=pulls: sum(np.sum(p**2) for p in f(lk)),
                bounds=(np.log(1e-3), np.log(10)),
                method="bounded",
            )
            pc, po = pulls(res.x)
            z = np.abs(np.r_[pc, po])
            summary.append(
                {
                    "variant": name,
                    "T_C": t_c,
                    "scale": float(np.exp(res.x)),
                    "chi2": float(res.fun),
                    "points": int(z.size),
                    "within_2sigma": int(np.sum(z <= 2)),
                    "max_pull_closed": float(pc[np.argmax(np.abs(pc))]),
                    "max_pull_open": float(po[np.argmax(np.abs(po))]),
                    "model_s": round(time.perf_counter() - t0, 1),
                }
            )
            print(f"\n{name}, {t_c} °C: scale {np.exp(res.x):.3f}, chi2 {res.fun:.0f}")
            print("  pulls closed", np.round(pc, 1).tolist())
            print("  pulls open  ", np.round(po, 1).tolist())
    print("\n## Line-centre alpha, data vs model variants (scale fitted per temperature)")
    print(pd.DataFrame(summary).to_string(index=False))
    print(f"\ncalibrated files in {wd}")


if __name__ == "__main__":
    main()
