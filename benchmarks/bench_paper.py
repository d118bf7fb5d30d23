"""Benchmark: the HIP-ElecSus paper target (issues 19, 34) — every power series of the beams under
data_root (../shared: 0.5 and 1.0 mm, 80 raw exports, four series; a clone: also 2.0 mm) from
raw files to figures, on this machine's cores.

Copies the workflow into a temporary folder, runs it with config/hip-paper/config.yaml, and
prints the wall time, the number of jobs, the sum of job compute and the largest job memory
(from each rule's benchmark file), then the fitted series parameters and each run's weak-probe
verdict, and the weak-probe fit of every power on its own (how it drifts with power).

    .venv/bin/python benchmarks/bench_paper.py [--keep DIR] [-- SNAKEMAKE ARGS]

Arguments after ``--`` go to Snakemake (e.g. ``-- --set-threads fit_series=1``: the series
fits on one core each, side by side with the other jobs).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paper import DATA, paper_workspace


def main() -> None:
    if not DATA.exists():
        print(f"skipped: {DATA} absent (../shared not beside the checkout)")
        return
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    wd = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="mohilbert-paper-"))
    paper_workspace(wd)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--workflow-profile",
        "workflow/profiles/default",
        "--configfile",
        "paper.yaml",
        *(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []),
    ]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        print(res.stderr[-3000:])
        raise SystemExit(f"workflow failed (kept in {wd})")
    rows = []
    for tsv in (wd / "results" / "benchmarks").rglob("*.tsv"):
        b = pd.read_csv(tsv, sep="\t")
        rows.append({"job": str(tsv.relative_to(wd / "results" / "benchmarks")), **b.iloc[0]})
    jobs = pd.DataFrame(rows)
    print(f"## Paper target, {len(jobs)} benchmarked jobs, cores 2: wall {wall:.0f} s")
    print(
        f"job compute sum {jobs['s'].sum():.0f} s; largest job memory {jobs['max_rss'].max():.0f} MB"
    )
    by_rule = jobs.assign(rule=jobs["job"].str.split("/").str[0]).groupby("rule")["s"]
    print(by_rule.agg(["count", "sum", "max"]).round(1).to_string())
    print("\n## Series fits (results/series_table.csv)")
    table = pd.read_csv(wd / "results" / "series_table.csv")
    # a parameter fitted per detection setting: its setting's first and last run
    runs = table["runs"].fillna("").str.split(", ")
    table["runs"] = [f"{r[0]} .. {r[-1]}" if len(r) > 1 else r[0] for r in runs]
    cols = ["series", "quantity", "runs", "value", "uncertainty", "unit"]
    print(table[cols].to_string(index=False))
    from mohilbert.io.netcdf import load_dataset

    print("\n## Series fit cost (one job each; benchmark file and the fit's evaluations)")
    # lmfit counts function evaluations only: an intense fit's Jacobian (fitting's own) is
    # not among them (bench_series_fit.py counts every run's model evaluation)
    print("| series | runs | wall [s] | lmfit function evaluations | peak MB |")
    print("|---|---|---|---|---|")
    for nc in sorted((wd / "results" / "series").glob("*.nc")):
        s = load_dataset(nc)
        bench = pd.read_csv(wd / "results" / "benchmarks" / "series" / f"{nc.stem}.tsv", sep="\t")
        wall, nfev = float(bench["s"].iloc[0]), int(s.attrs.get("nfev", 0))
        print(
            f"| {nc.stem} | {s.sizes['run']} | {wall:.0f} | {nfev} | "
            f"{float(bench['max_rss'].iloc[0]):.0f} |"
        )
    for nc in sorted((wd / "results" / "series").glob("*.nc")):
        s = load_dataset(nc)
        print(
            f"\n{nc.stem}: weak probe holds below {s.attrs['weak_probe_limit_saturation']:.3g} I_sat"
        )
        for run, sat, d2, ok in zip(
            s["run"].values,
            s["saturation_parameter"].values,
            s["weak_probe_delta_chi2"].values,
            s["weak_probe_holds"].values,
            strict=True,
        ):
            fit = load_dataset(wd / "results" / "fits" / f"{run}.nc")
            names = fit["parameter"].values.tolist()
            i = names.index("temperature_C")
            t, ut = float(fit["value"].values[i]), float(fit["stderr_total"].values[i])
            print(
                f"  {run:14s} {sat:9.3g} I_sat  delta chi2 {d2:10.3g}  holds {bool(ok)!s:5s}  "
                f"weak-probe fit alone: T = {t:.2f} ± {ut:.2f} C"
            )
    print(f"\nresults in {wd}")


if __name__ == "__main__":
    main()
