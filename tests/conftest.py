"""Shared fixtures: paths to the repository and to ../shared (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOHILBERT_SHARED", REPO.parent / "shared")).resolve()
SCHEMA_PATH = REPO / "workflow" / "schemas" / "runs.schema.yaml"


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test with a clear reason when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set MOHILBERT_SHARED or clone ../shared)")
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


def run_snakemake(workdir: Path, *args: str, env: dict | None = None, timeout: float = 600):
    """Run ``python -m snakemake`` in ``workdir`` with the default profile; return the result."""
    import subprocess
    import sys

    full_env = dict(os.environ)
    full_env.update(env or {})
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--workflow-profile",
        "workflow/profiles/default",
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(
        cmd, cwd=workdir, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


def demo_workspace(dest: Path, runs: tuple[str, ...] | None = None) -> Path:
    """A copy of the workflow with the demo campaign (without ground truth); with ``runs``,
    the runs sheet keeps only those rows."""
    import shutil

    wd = copy_workflow(dest)
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
