"""Benchmark: the whole demo workflow from raw files to the report, cold, on this machine.

Targets: cold run <= 60 s (excluding environment set-up; issue 36, since the demo has a power
series: issue 17's 30 s was without it), no-op rerun <= 2 s.
Also prints the peak memory (max RSS) and wall time of every job from Snakemake's
benchmark files, and the sum of the jobs' wall times against the run's wall time (with 2
cores the run cannot take less than half the sum).

    .venv/bin/python benchmarks/bench_workflow.py [cores]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def snakemake(wd: Path, *args: str) -> float:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--workflow-profile",
        "workflow/profiles/default",
        *args,
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=wd, check=True, capture_output=True)
    return time.perf_counter() - t0


def snakemake_floor(tmp: Path) -> float:
    """No-op rerun of a one-rule workflow: what Snakemake itself costs on this machine."""
    wd = tmp / "trivial"
    wd.mkdir()
    (wd / "Snakefile").write_text('rule a:\n    output: "a"\n    shell: "touch a"\n')
    subprocess.run(
        [sys.executable, "-m", "snakemake", "-c1", "-q"], cwd=wd, check=True, capture_output=True
    )
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", "-c1", "-q"], cwd=wd, check=True, capture_output=True
    )
    return time.perf_counter() - t0


def job_start_s() -> float:
    """Start-up of one calibrate job without its work: interpreter, Snakemake's script
    preamble and the stage's imports."""
    code = (
        "import snakemake.script\n"
        "from mohilbert.calibration.core import calibrate_run\n"
        "from mohilbert.io.netcdf import load_dataset, save_dataset\n"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main(cores: str = "2") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        floor = snakemake_floor(Path(tmp))
        wd = Path(tmp) / "wf"
        wd.mkdir()
        shutil.copy2(REPO / "Snakefile", wd)
        for d in ("workflow", "config"):
            shutil.copytree(REPO / d, wd / d)
        shutil.copytree(
            REPO / "data" / "raw" / "demo",
            wd / "data" / "raw" / "demo",
            ignore=shutil.ignore_patterns("truth"),
        )
        cold = snakemake(wd, "--cores", cores)
        noop = snakemake(wd, "--cores", cores)
        rows = []
        for f in sorted((wd / "results" / "benchmarks").rglob("*.tsv")):
            b = pd.read_csv(f, sep="\t")
            rows.append((f.parent.name, f.stem, float(b["s"].iloc[0]), float(b["max_rss"].iloc[0])))
    print(
        f"demo workflow, {cores} cores: cold run {cold:.1f} s incl. the HTML report (target 60 s), "
        f"no-op rerun {noop:.1f} s (target 2 s; Snakemake's own no-op of a one-rule workflow "
        f"takes {floor:.1f} s here)"
    )
    print(
        f"start-up of one calibrate job (interpreter, script preamble, imports): {job_start_s():.2f} s"
    )
    total = sum(r[2] for r in rows)
    print(
        f"job compute: {total:.1f} s in {len(rows)} jobs, i.e. {total / int(cores):.1f} s on "
        f"{cores} cores; the rest of the cold run ({cold - total / int(cores):.1f} s) is "
        "Snakemake (DAG, scheduling, job start-up)"
    )
    print(f"{'rule':10s} {'job':14s} {'wall [s]':>9s} {'max RSS [MB]':>13s}")
    for rule, job, s, rss in rows:
        print(f"{rule:10s} {job:14s} {s:9.2f} {rss:13.0f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "2")
