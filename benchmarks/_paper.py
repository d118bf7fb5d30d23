"""The HIP-ElecSus paper target for benchmarks: a copy of the workflow in a folder, configured
with config/hip-paper/config.yaml and its data root at ../shared."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOHILBERT_SHARED", REPO.parent / "shared")).resolve()
#: the authors' repository layout (github.com/hpaantee/HIP-ElecSus, ``paper_figures/``)
PAPER = SHARED / "data" / "real" / "hip-elecsus" / "paper_figures"
#: raw exports and the authors' hand processing, one folder per beam and heater voltage
DATA = PAPER / "data"
#: the authors' model: Figure 4 line-centre curves and Figure 3 spectra
SIMULATION = PAPER / "simulation"
TMP_FIG3 = PAPER / "tmp_fig3"


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
