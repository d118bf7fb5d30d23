"""Benchmark: does the joint intense-probe fit's stated uncertainty of the orthogonal light
(``orthogonal_fraction``) and of the parameters it correlates with cover the truth?

Simulates N power series (default 40) of a 2 mm natural-Rb cell in 0.6 T, σ+ light of a
0.5 mm beam at three powers (0.01, 0.3 and 3 I_sat), with a random true temperature
(60–90 °C), intensity scale (0.2–0.6, the beam and detector calibration the paper needs) and
fraction of σ− light (0.005–0.06), white noise of 0.5–3e-3 in transmission, and fits each
from a start 2 °C away, intensity scale 1 and f = 0 with temperature, field, intensity scale and
orthogonal fraction free (:func:`mohilbert.fitting.fit_spectra`, the fit fit_series runs).
Prints per case the pulls (fit − truth) / stderr, then for each parameter the fraction of
cases within 1 and 2 σ (targets 0.68 ± 0.10 and ≥ 0.90) and the RMS pull (1 for honest
errors).

With ``--step`` the top power was recorded after the light in the cell changed (its true
intensity scale a further factor 0.4–1 of the others', as at a detection-setting change
in the paper's series) and the fit takes one intensity scale per group
(``fit_spectra(groups=...)``, what ``series.per_detection_setting`` runs): the coverage of
both scales.

    .venv/bin/python benchmarks/bench_orthogonal_coverage.py [N] [--jobs 2] [--step] [--seed0 K]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from mohilbert.fitting import FitSpectrum, fit_spectra
from mohilbert.intense import Probe, saturation_intensity_W_m2
from mohilbert.theory import Cell, intense_arrays

D_M = 0.5e-3
SATURATIONS = (0.01, 0.3, 3.0)
FREE = ("temperature_C", "field_T", "intensity_scale", "orthogonal_fraction")
STEP_FREE = (
    "temperature_C",
    "field_T",
    "intensity_scale",
    "intensity_scale_top",
    "orthogonal_fraction",
)


def _case(seed: int, step: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    truth = {
        "temperature_C": rng.uniform(60, 90),
        "field_T": 0.6,
        "intensity_scale": rng.uniform(0.2, 0.6),
        "orthogonal_fraction": rng.uniform(0.005, 0.06),
    }
    truth["intensity_scale_top"] = truth["intensity_scale"] * (rng.uniform(0.4, 1.0) if step else 1)
    noise = rng.uniform(5e-4, 3e-3)
    cell = Cell(length_m=2e-3, temperature_C=truth["temperature_C"], field_T=0.6)
    x = np.arange(-3000.0, 18000.0, 40.0)
    isat = saturation_intensity_W_m2("Rb", "D2")
    spectra = []
    for s in SATURATIONS:
        nominal = Probe(s * isat * np.pi * D_M**2 / 4, D_M)  # the sheet's power
        scale = truth["intensity_scale_top" if s == SATURATIONS[-1] else "intensity_scale"]
        true_probe = Probe(
            nominal.power_W * scale,
            D_M,
            orthogonal_fraction=truth["orthogonal_fraction"],
        )
        y = intense_arrays(x, cell, "sigma_plus", true_probe)["S0"]
        y = y + rng.normal(0, noise, x.size)
        spectra.append(
            FitSpectrum(
                x, y, "S0", "sigma_plus", np.full(x.size, noise), name=f"s{s}", probe=nominal
            )
        )
    start = cell.with_(temperature_C=truth["temperature_C"] + 2.0)
    t0 = time.perf_counter()
    names = {n: n for n in FREE}
    groups = None
    if step:
        top = spectra[-1].name
        groups = {"intensity_scale": {sp.name: sp.name == top for sp in spectra}}
        names = {n: n for n in STEP_FREE}
        names["intensity_scale"] = f"intensity_scale__{spectra[0].name}"
        names["intensity_scale_top"] = f"intensity_scale__{top}"
    res = fit_spectra(spectra, start, list(FREE), groups=groups)
    out = {"seed": seed, "noise": noise, "redchi": res.redchi}
    for name, fitted in names.items():
        out[name] = truth[name]
        out[f"{name}_pull"] = (res.values[fitted] - truth[name]) / res.stderr[fitted]
        out[f"{name}_stderr"] = res.stderr[fitted]
    out["time_s"] = time.perf_counter() - t0
    return out


def _one(args) -> dict:
    seed, step = args
    try:
        return _case(seed, step)
    except Exception as exc:  # a case that fails is reported, not hidden
        return {"seed": seed, "error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--step", action="store_true")
    ap.add_argument(
        "--seed0", type=int, default=0, help="first case's seed (more cases, new draws)"
    )
    args = ap.parse_args()
    free = STEP_FREE if args.step else FREE
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        cases = list(
            pool.map(_one, [(s, args.step) for s in range(args.seed0, args.seed0 + args.n)])
        )
    ok = [c for c in cases if "error" not in c]
    print(
        f"{'seed':>4} {'T':>6} {'scale':>6} {'f':>6} {'noise':>7}  pulls {' '.join(free)}  redchi"
    )
    for c in cases:
        if "error" in c:
            print(f"{c['seed']:4d} FAILED: {c['error']}")
            continue
        pulls = " ".join(f"{c[f'{n}_pull']:+6.2f}" for n in free)
        print(
            f"{c['seed']:4d} {c['temperature_C']:6.2f} {c['intensity_scale']:6.3f} "
            f"{c['orthogonal_fraction']:6.4f} {c['noise']:7.1e}  {pulls}  {c['redchi']:.3f}"
        )
    print(f"\n{len(ok)} of {len(cases)} cases fitted in {time.perf_counter() - t0:.0f} s")
    print(
        f"{'parameter':>20} {'<=1 sigma':>10} {'<=2 sigma':>10} {'RMS pull':>9} {'median stderr':>14}"
    )
    for name in free:
        p = np.array([c[f"{name}_pull"] for c in ok])
        se = np.median([c[f"{name}_stderr"] for c in ok])
        print(
            f"{name:>20} {np.mean(np.abs(p) <= 1):10.2f} {np.mean(np.abs(p) <= 2):10.2f} "
            f"{np.sqrt(np.mean(p**2)):9.2f} {se:14.3g}"
        )


if __name__ == "__main__":
    main()
