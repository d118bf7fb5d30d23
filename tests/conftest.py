"""Shared fixtures: paths to the repository and to ../shared (skipped when absent on a user's
clone, a failure under CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOHILBERT_SHARED", REPO.parent / "shared")).resolve()
SCHEMA_PATH = REPO / "src" / "mohilbert" / "schemas" / "runs.schema.yaml"


def on_ci() -> bool:
    """True under CI (``CI=true``, as CI services set it), where ../shared must be there."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def shared_path(*parts: str) -> Path:
    """Path under ../shared. When it is not there the test skips with a clear reason on a
    user's clone, and fails under CI: there a moved or missing data set must not silently
    switch the real-data tests off."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"shared data not available: {path} (set MOHILBERT_SHARED or clone ../shared)"
        if on_ci():
            pytest.fail(f"{reason}; under CI=true a missing ../shared path is a failure")
        pytest.skip(reason)
    return path


@pytest.fixture
def repo() -> Path:
    return REPO


def copy_workflow(dest: Path, *, with_src: bool = False) -> Path:
    """Copy the workflow (Snakefile, workflow/, config/) into ``dest`` for a real DAG run.

    With ``with_src`` the package source is copied too (``dest/src``), so a test can edit a
    library module without touching the checkout (run Snakemake with PYTHONPATH=dest/src).
    """
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    shutil.copytree(
        REPO / "workflow", dest / "workflow", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "config", dest / "config")
    if with_src:
        shutil.copytree(
            REPO / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    return dest


def unowned_results(results: Path) -> list[str]:
    """Files under ``results`` that are neither campaign-wide nor owned by a run, experiment
    or series (``mohilbert prune``'s table, :mod:`mohilbert.pipeline`): should be none."""
    from mohilbert.pipeline import CAMPAIGN_FILES, result_owner

    return [
        rel
        for p in results.rglob("*")
        if p.is_file()
        and (rel := p.relative_to(results).as_posix()) not in CAMPAIGN_FILES
        and result_owner(rel) is None
    ]


def snakemake_cmd(*args: str, cores: str = "2") -> list[str]:
    """The ``python -m snakemake`` command line with the default profile."""
    import sys

    return [
        sys.executable,
        "-m",
        "snakemake",
        "--workflow-profile",
        "workflow/profiles/default",
        "--cores",
        cores,
        *args,
    ]


def run_snakemake(workdir: Path, *args: str, env: dict | None = None, timeout: float = 600):
    """Run ``python -m snakemake`` in ``workdir`` with the default profile; return the result."""
    import subprocess

    full_env = dict(os.environ)
    full_env.update(env or {})
    cmd = snakemake_cmd(*args)
    return subprocess.run(
        cmd, cwd=workdir, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


def demo_campaign(root: Path):
    """Regenerate the demo campaign (raw exports and ground truth) under ``root/demo`` and
    return its runs sheet resolved against ``root``."""
    from mohilbert.runs import load_runs
    from mohilbert.simulate import write_campaign

    write_campaign(
        REPO / "data" / "raw" / "demo" / "campaign.yaml", root / "demo", sheet_prefix="demo/"
    )
    return load_runs(REPO / "config" / "runs.tsv", SCHEMA_PATH, data_root=root)


def scheduled_jobs(result, rule: str) -> int:
    """Number of jobs of ``rule`` Snakemake ran (from its job-stats table)."""
    for line in result.stderr.splitlines() + result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == rule and parts[1].isdigit():
            return int(parts[1])
    return 0


def demo_workspace(
    dest: Path, runs: tuple[str, ...] | None = None, *, with_src: bool = False
) -> Path:
    """A copy of the workflow with the demo campaign (without ground truth); with ``runs``,
    the runs sheet keeps only those rows; with ``with_src`` the package source too
    (:func:`copy_workflow`)."""
    import shutil

    wd = copy_workflow(dest, with_src=with_src)
    shutil.copytree(
        REPO / "data" / "raw" / "demo",
        wd / "data" / "raw" / "demo",
        ignore=shutil.ignore_patterns("truth"),
    )
    if runs is not None:
        lines = (REPO / "config" / "runs.tsv").read_text().splitlines()
        keep = [lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[0] in runs]
        (wd / "config" / "runs.tsv").write_text("\n".join(keep) + "\n")
    return wd


# The real HIP-ElecSus raw files (../shared) as runs-sheet rows, read by the same parser as a
# user's sheet. Nominal temperature 55 °C (fitted: ~62); 85Rb at 5 % because the data show an
# 87Rb-enriched cell (fitted 85Rb ~2 %), not the natural-like mixture of the provenance note.
# `hip_0.56uW_dark0.32uW` is the 0.56 uW scan with the dark trace the authors' script used
# for every power (the 0.32 uW one), to compare with their hand processing like with like.
HIP_SHEET = """\
run	experiment	signal	signal_file	etalon	etalon_file	dark	dark_file	geometry	polarisation	element	line	cell_length_m	temperature_C	field_T	etalon_fsr_MHz	isotope_percent	notes
hip_0.32uW	hip_0.32uW	C4	C4--0.32uW.csv	C2	C2--0.32uW.csv	C4	C4--0.32uW-baseline.csv	faraday	sigma_plus	Rb	D2	0.002	55	0.6	360	85Rb:5	HIP-ElecSus 2 mm, 0.6 T, 0.32 uW
hip_0.56uW	hip_0.56uW	C4	C4--0.56uW.csv	C2	C2--0.56uW.csv	C4	C4--0.56uW-baseline.csv	faraday	sigma_plus	Rb	D2	0.002	55	0.6	360	85Rb:5	HIP-ElecSus 2 mm, 0.6 T, 0.56 uW
hip_0.56uW_dark0.32uW	hip_0.56uW_dark0.32uW	C4	C4--0.56uW.csv	C2	C2--0.56uW.csv	C4	C4--0.32uW-baseline.csv	faraday	sigma_plus	Rb	D2	0.002	55	0.6	360	85Rb:5	as hip_0.56uW with the authors' dark input
"""
HIP_RUNS = ("hip_0.32uW", "hip_0.56uW")
HIP_FREE = ["temperature_C", "field_T", "percent_85Rb"]


#: the authors' repository layout in ../shared (github.com/hpaantee/HIP-ElecSus): raw exports and
#: their hand processing under data/<beam>/, their model outputs under simulation/ and tmp_fig3/
HIP_PAPER = ("data", "real", "hip-elecsus", "paper_figures")


def hip_paper(*parts: str) -> Path:
    """Path under the shared copy of the authors' ``paper_figures/`` folder."""
    return shared_path(*HIP_PAPER, *parts)


def hip_raw_dir() -> Path:
    return shared_path("data", "real", "hip-elecsus-2mm-0.6T-faraday", "raw")


def hip_sheet(dest: Path, runs: tuple[str, ...] | None = None) -> Path:
    """Write the HIP rows (all, or those named) as a runs sheet at ``dest``."""
    lines = HIP_SHEET.splitlines()
    keep = [lines[0]] + [ln for ln in lines[1:] if runs is None or ln.split("\t")[0] in runs]
    dest.write_text("\n".join(keep) + "\n")
    return dest


def hip_record(run: str) -> dict:
    """The sheet record of one HIP run, parsed and validated like a user's sheet."""
    import tempfile

    from mohilbert.runs import load_runs, run_record

    raw = hip_raw_dir()
    with tempfile.TemporaryDirectory() as tmp:
        sheet = hip_sheet(Path(tmp) / "runs.tsv", (run,))
        return run_record(load_runs(sheet, SCHEMA_PATH, data_root=raw), run)
