"""The HIP-ElecSus paper target for benchmarks: a copy of the workflow in a folder, configured
with config/hip-paper/config.yaml and its data root at ../shared."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real" / "hip-elecsus-0.5mm-power-series"


def paper_workspace(wd: Path) -> Path:
    """Copy the Snakefile, workflow/ and config/ into ``wd`` and write ``wd/paper.yaml`` (the
    paper configuration with ``data_root`` at the shared data); returns that file."""
    wd.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", wd / "Snakefile")
    for sub in ("workflow", "config"):
        shutil.rmtree(wd / sub, ignore_errors=True)
        shutil.copytree(REPO / sub, wd / sub, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = yaml.safe_load((REPO / "config" / "hip-paper" / "config.yaml").read_text())
    cfg["data_root"] = str(DATA)
    (wd / "paper.yaml").write_text(yaml.safe_dump(cfg))
    return wd / "paper.yaml"
