"""Benchmark: do the stated uncertainties cover the truth as often as they say? (issue 13)

Runs N simulated Faraday campaigns (default 200; σ+ and σ− runs, 20 000 samples per trace)
with random true temperature (65–105 °C) and field (0.3–0.9 T), a random etalon-FSR error
and cell-length error written into the sheet together with the standard uncertainty it
states for them (1e-5–3e-4 and 1e-3–2e-2 relative), random white (0.2–2 mV) and 1/f
(0.1–1 mV) noise and seeds, each through ingest → calibrate → fit → Hilbert
(:mod:`mohilbert.coverage`). Prints per case the pulls and what dominates, then the coverage
table: the fraction of cases with |fit − truth| ≤ 1 σ_total and ≤ 2 σ_total for T and B,
each with the binomial standard deviation an honest σ would give for that many cases (at 60
cases ± 0.06 for the 1σ fraction, at 200 ± 0.03: a fraction is read against nominal 0.683 and
0.954 within about twice that), the RMS pull (1 for honest errors), and for the index the mean
fraction of points within 1 σ.

    .venv/bin/python benchmarks/bench_coverage.py [N] [--samples 20000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor

from mohilbert.coverage import PARAMETERS, coverage_summary, draw_case, run_case


def _one(args):
    seed, samples = args
    t0 = time.perf_counter()
    try:
        out = run_case(draw_case(seed, samples))
    except Exception as exc:  # a case that fails is reported, not hidden
        return {"seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    out["time_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--first-seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.n)
    with ProcessPoolExecutor(args.jobs) as pool:
        cases = list(pool.map(_one, [(s, args.samples) for s in seeds]))
    ok = [c for c in cases if "error" not in c]
    print(
        f"{'seed':>4} {'T pull':>7} {'B pull':>7} {'u_FSR':>8} {'u_L':>8} {'noise V':>8}  index<=1σ"
    )
    for c in cases:
        if "error" in c:
            print(f"{c['seed']:4d} FAILED: {c['error']}")
            continue
        idx = [v for k, v in c.items() if k.startswith("index_within_1sigma_")]
        print(
            f"{c['seed']:4d} {c['temperature_C_pull']:+7.2f} {c['field_T_pull']:+7.2f} "
            f"{c['fsr_relative_uncertainty']:8.1e} {c['length_relative_uncertainty']:8.1e} "
            f"{c['white_noise_V']:8.1e}  {' '.join(f'{v:.2f}' for v in idx)}"
        )
    s = coverage_summary(ok)
    n = s["cases"]

    def band(p_nominal: float) -> float:
        """Binomial standard deviation of a fraction of n honest cases."""
        return math.sqrt(p_nominal * (1 - p_nominal) / max(n, 1))

    print(
        f"\ncoverage over {n} cases ({len(cases) - n} failed), {args.samples} samples per trace,"
        f" {time.perf_counter() - t0:.0f} s wall on {args.jobs} processes:"
    )
    print(f"  {'':16s} {'|pull|<=1':>14s} {'|pull|<=2':>14s} {'RMS pull':>9s}")
    print(f"  {'nominal':16s} {0.683:8.3f} ± {band(0.683):.3f} {0.954:8.3f} ± {band(0.954):.3f}")
    for p in PARAMETERS:
        print(
            f"  {p:16s} {s[f'{p}_within_1sigma']:14.3f} {s[f'{p}_within_2sigma']:14.3f} "
            f"{s[f'{p}_pull_rms']:9.2f}"
        )
    for k in sorted(k for k in s if k.startswith("index_within_1sigma_")):
        print(
            f"  index {k.removeprefix('index_within_1sigma_'):10s} {s[k]:10.2f}   (points within 1σ)"
        )
    print(
        f"  (± is the binomial standard deviation of {n} honest cases; a fraction more than "
        "about twice it from nominal says the σ are too small or too large)"
    )


if __name__ == "__main__":
    main()
