"""Benchmark: one power-series fit of the HIP-ElecSus paper (issue 35), on one core, against a
previous revision in the same sitting.

Calibrates the series' raw exports once (the workflow, in a kept workspace), then runs the
joint intense-probe fit (:func:`mohilbert.stages.series.fit_series`, the paper config) in a
fresh process per source tree, one after the other, each pinned to one core: this checkout
and, with ``--against REV``, the package of git revision REV. Prints per fit the wall and CPU
time, lmfit's function evaluations (an intense fit's Jacobian is not among them), the runs'
model evaluations and the time per run evaluation, the ratio, and how far apart the fitted
values are in units of their total uncertainty.

    .venv/bin/python benchmarks/bench_series_fit.py [--series hip_1.0mm_T81] [--keep DIR]
        [--against REV] [--threads N] [--profile]

``--threads N`` runs this checkout's fit once more with the compiled kernels on N threads
(every core: what a series job does with the cores Snakemake gives it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paper import DATA, REPO, paper_workspace

HELPER = Path(__file__).resolve().with_name("_series_fit.py")


def _arg(name: str, default: str | None = None) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def calibrated_workspace(wd: Path, series: str) -> list[str]:
    """The paper workspace in ``wd`` with the calibrated files of ``series`` (made once)."""
    if not (wd / "paper.yaml").exists():
        paper_workspace(wd)
    from mohilbert.config import RUNS_SCHEMA_PATH
    from mohilbert.runs import load_runs

    cfg = yaml.safe_load((wd / "paper.yaml").read_text())
    sheet = load_runs(
        wd / cfg["runs"], RUNS_SCHEMA_PATH, cfg["data_root"], without_files="leave_out"
    )
    runs = sorted(sheet.index[sheet["series"] == series])
    targets = [f"results/calibrated/{r}.nc" for r in runs]
    if not all((wd / t).exists() for t in targets):
        cmd = [sys.executable, "-m", "snakemake", "--workflow-profile"]
        cmd += ["workflow/profiles/default", "--configfile", "paper.yaml", "--cores", "2"]
        res = subprocess.run(cmd + targets, cwd=wd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise SystemExit(res.stderr[-3000:])
    return runs


def fit_once(
    src: Path, wd: Path, series: str, profile: Path | None = None, threads: int = 1
) -> dict:
    """The helper's fit with the package under ``src``, in its own process on one core (or
    with ``threads`` threads for the compiled kernels, on every core)."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    env = dict(os.environ, PYTHONPATH=str(src))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["NUMBA_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, str(HELPER), str(wd), series, str(out)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    if shutil.which("taskset") and threads == 1:
        cmd = ["taskset", "-c", "0", *cmd]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"fit with {src} failed:\n{res.stderr[-3000:]}")
    return json.loads(out.read_text())


def _row(label: str, r: dict) -> str:
    per = r["wall_s"] / max(r["run_evaluations"], 1)
    return (
        f"| {label} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['nfev']} | "
        f"{r['run_evaluations']} | {1e3 * per:.0f} | {r['redchi']:.4g} |"
    )


def main() -> None:
    if not DATA.exists():
        print(f"skipped: {DATA} absent (../shared not beside the checkout)")
        return
    series = _arg("--series", "hip_1.0mm_T81")
    wd = Path(_arg("--keep") or tempfile.mkdtemp(prefix="mohilbert-series-"))
    runs = calibrated_workspace(wd, series)
    print(f"## Series fit {series}: {len(runs)} runs, one core (workspace {wd})\n")
    profile = wd / f"{series}.prof" if "--profile" in sys.argv else None
    results = {"this checkout": fit_once(REPO / "src", wd, series, profile)}
    threads = int(_arg("--threads", "1"))
    if threads > 1:  # the same fit with the kernels on more threads (a series job's cores)
        results[f"this checkout, {threads} threads"] = fit_once(
            REPO / "src", wd, series, threads=threads
        )
    rev = _arg("--against")
    if rev:
        tree = Path(tempfile.mkdtemp(prefix="mohilbert-rev-"))
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "-f", str(tree), rev],
            capture_output=True,
            check=True,
        )
        try:
            results[f"revision {rev}"] = fit_once(tree / "src", wd, series)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                capture_output=True,
                check=False,
            )
    print(
        "| source | wall [s] | CPU [s] | lmfit function evaluations | run evaluations | ms per run "
        "evaluation | χ²/N |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, r in results.items():
        print(_row(label, r))
    now = results["this checkout"]
    if rev:
        old = results[f"revision {rev}"]
        print(f"\nspeed-up (wall, same sitting): {old['wall_s'] / now['wall_s']:.2f}x")
        print("\n| parameter | this checkout | revision | difference / σ |")
        print("|---|---|---|---|")
        for name, v in now["values"].items():
            if name not in old["values"]:
                continue
            u = max(now["stderr_total"][name], old["stderr_total"][name])
            d = (v - old["values"][name]) / u if u > 0 else float("nan")
            print(
                f"| {name} | {v:.6g} ± {now['stderr_total'][name]:.2g} | "
                f"{old['values'][name]:.6g} ± {old['stderr_total'][name]:.2g} | {d:+.3f} |"
            )
        shared = [n for n in now["values"] if "__" not in n]
        terms = [t for t in now.get("budget", {}) if t in old.get("budget", {})]
        if terms:
            print("\n| shared parameter | term | this checkout | revision |")
            print("|---|---|---|---|")
            for name in shared:
                for t in terms:
                    a, b = now["budget"][t].get(name), old["budget"][t].get(name)
                    if a is not None and b is not None:
                        print(f"| {name} | {t} | {a:.3g} | {b:.3g} |")
    if profile is not None:
        import pstats

        print(f"\n## Profile ({profile})")
        pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
