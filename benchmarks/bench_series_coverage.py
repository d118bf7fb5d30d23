"""Benchmark: coverage of the power-series fit (issue 36 item 2): do the series fit's total
uncertainties of temperature, field, intensity and transit scales cover the truth as often as
they claim? ``--series N`` simulated series (default 50; mohilbert.coverage.run_series: four
runs over three decades of intensity, random truth, sheet and noise), fitted as the workflow
fits them, on this machine's cores. Prints, per parameter, the fraction within 1σ and 2σ next
to the nominal 0.683 / 0.954 with the binomial standard deviation for N series, and the RMS
pull and the mean pull (a bias) with its standard error; ``--json FILE`` keeps every case,
``--from-json FILE`` summarises such a file again without simulating.

With ``--chain`` each series goes through the whole chain instead
(mohilbert.coverage.run_chain_series: raw LeCroy exports of three powers from 0.3 to 350 I_sat
with etalon, reference cell, dark, white and 1/f noise and a window fringe → ingest →
calibration → series fit of T, B and the intensity scale; default 20 series, ~25 s each on
one core): what the calibration's errors do to the series fit's coverage; and the coverage
of the series' line-centre points (Figure 4's α with its error bar, closed and open line of
every run) against the truth.

    .venv/bin/python benchmarks/bench_series_coverage.py [--series 50] [--chain] [--json out.json]
        [--from-json kept.json]
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from multiprocessing import Pool

from mohilbert.coverage import (
    CHAIN_PARAMETERS,
    SERIES_PARAMETERS,
    draw_chain_series,
    draw_series,
    line_centre_coverage_by_power,
    line_centre_coverage_summary,
    run_chain_series,
    run_series,
    series_coverage_summary,
)

CHAIN = "--chain" in sys.argv


def _one(seed: int) -> dict:
    warnings.simplefilter("ignore")
    try:
        if CHAIN:
            return run_chain_series(draw_chain_series(seed))
        return run_series(draw_series(seed))
    except Exception as exc:  # a fit that fails is counted, not hidden
        return {"seed": seed, "failed": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    default = 20 if CHAIN else 50
    n = int(sys.argv[sys.argv.index("--series") + 1]) if "--series" in sys.argv else default
    parameters = CHAIN_PARAMETERS if CHAIN else SERIES_PARAMETERS
    t0 = time.perf_counter()
    if "--from-json" in sys.argv:  # the cases a run kept (--json): summarised again, not rerun
        with open(sys.argv[sys.argv.index("--from-json") + 1]) as fh:
            cases = json.load(fh)["cases"]
        n = len(cases)
    else:
        with Pool(os.cpu_count() or 1) as pool:
            cases = pool.map(_one, range(n))
    wall = time.perf_counter() - t0
    failed = [
        c
        for c in cases
        if "failed" in c or c.get("temperature_C_pull") != c.get("temperature_C_pull")
    ]
    good = [c for c in cases if c not in failed]
    s = series_coverage_summary(good, parameters)
    what = "through the whole chain" if CHAIN else "simulated"
    print(f"## Series-fit coverage: {len(good)} of {n} series {what} ({wall:.0f} s wall)\n")
    if failed:
        print(f"fits that failed or gave no σ: {[c['seed'] for c in failed]}\n")
    b1, b2 = s["binomial_sigma_1"], s["binomial_sigma_2"]
    print(
        f"| parameter | within 1σ (0.683 ± {b1:.3f}) | within 2σ (0.954 ± {b2:.3f}) | RMS pull "
        "| mean pull |"
    )
    print("|---|---|---|---|---|")
    for p in parameters:
        print(
            f"| {p} | {s[f'{p}_within_1sigma']:.3f} | {s[f'{p}_within_2sigma']:.3f} | "
            f"{s[f'{p}_pull_rms']:.2f} | {s[f'{p}_pull_mean']:+.2f} ± {s[f'{p}_pull_mean_se']:.2f} |"
        )
    if CHAIN:  # the series' Figure 4 points (line-centre alpha) against the truth
        lc = line_centre_coverage_summary(good)
        b1, b2 = lc["binomial_sigma_1"], lc["binomial_sigma_2"]
        print(
            f"\n{lc['points']} line-centre points (closed and open line of every run): "
            "the data's alpha against the same estimator on the true transmission, and "
            "against the true peak\n"
        )
        print(
            f"| against | within 1σ (0.683 ± {b1:.3f}) | within 2σ (0.954 ± {b2:.3f}) | RMS pull "
            "| mean pull |"
        )
        print("|---|---|---|---|---|")
        for key, what in (("pull", "estimator on the truth"), ("pull_peak", "true peak")):
            print(
                f"| {what} | {lc[f'{key}_within_1sigma']:.3f} | {lc[f'{key}_within_2sigma']:.3f} "
                f"| {lc[f'{key}_rms']:.2f} | {lc[f'{key}_mean']:+.2f} ± {lc[f'{key}_mean_se']:.2f} |"
            )
        print("\nper power and line, against the estimator on the truth\n")
        print(
            "| power [W] | I/I_sat | line | points | within 1σ | within 2σ | RMS pull | mean pull |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for row in line_centre_coverage_by_power(good):
            print(
                f"| {row['power_W']:g} | {row['saturation']:.3g} | {row['line']} | "
                f"{row['points']} | {row['pull_within_1sigma']:.3f} | "
                f"{row['pull_within_2sigma']:.3f} | {row['pull_rms']:.2f} | "
                f"{row['pull_mean']:+.2f} ± {row['pull_mean_se']:.2f} |"
            )
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as fh:
            json.dump({"summary": s, "cases": cases}, fh, indent=1)


if __name__ == "__main__":
    main()
