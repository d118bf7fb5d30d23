"""Benchmark: coverage of the power-series fit (issue 36 item 2): do the series fit's total
uncertainties of temperature, field, intensity and transit scales cover the truth as often as
they claim? ``--series N`` simulated series (default 50; mohilbert.coverage.run_series: four
runs over three decades of intensity, random truth, sheet and noise), fitted as the workflow
fits them, on this machine's cores. Prints, per parameter, the fraction within 1σ and 2σ next
to the nominal 0.683 / 0.954 with the binomial standard deviation for N series, and the RMS
pull; ``--json FILE`` keeps every case.

    .venv/bin/python benchmarks/bench_series_coverage.py [--series 50] [--json out.json]
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from multiprocessing import Pool

from mohilbert.coverage import (
    SERIES_PARAMETERS,
    draw_series,
    run_series,
    series_coverage_summary,
)


def _one(seed: int) -> dict:
    warnings.simplefilter("ignore")
    try:
        return run_series(draw_series(seed))
    except Exception as exc:  # a fit that fails is counted, not hidden
        return {"seed": seed, "failed": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    n = int(sys.argv[sys.argv.index("--series") + 1]) if "--series" in sys.argv else 50
    t0 = time.perf_counter()
    with Pool(os.cpu_count() or 1) as pool:
        cases = pool.map(_one, range(n))
    wall = time.perf_counter() - t0
    failed = [
        c
        for c in cases
        if "failed" in c or c.get("temperature_C_pull") != c.get("temperature_C_pull")
    ]
    good = [c for c in cases if c not in failed]
    s = series_coverage_summary(good)
    print(f"## Series-fit coverage: {len(good)} of {n} simulated series ({wall:.0f} s wall)\n")
    if failed:
        print(f"fits that failed or gave no σ: {[c['seed'] for c in failed]}\n")
    b1, b2 = s["binomial_sigma_1"], s["binomial_sigma_2"]
    print(f"| parameter | within 1σ (0.683 ± {b1:.3f}) | within 2σ (0.954 ± {b2:.3f}) | RMS pull |")
    print("|---|---|---|---|")
    for p in SERIES_PARAMETERS:
        print(
            f"| {p} | {s[f'{p}_within_1sigma']:.3f} | {s[f'{p}_within_2sigma']:.3f} | "
            f"{s[f'{p}_pull_rms']:.2f} |"
        )
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as fh:
            json.dump({"summary": s, "cases": cases}, fh, indent=1)


if __name__ == "__main__":
    main()
