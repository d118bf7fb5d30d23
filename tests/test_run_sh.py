"""The README's `bash run.sh demo` as a user meets it when a run is bad: the console stays
short (progress and errors, no rule listings), the failed job's one-line reason comes first and
again last, and the other runs go on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, demo_workspace

pytestmark = pytest.mark.slow


def test_failed_run_is_named_last_in_a_short_console(tmp_path):
    venv = Path(sys.executable).parents[1]
    if not (venv / "bin" / "snakemake").exists():
        pytest.skip("run.sh needs the project's .venv (bash run.sh test creates it)")
    wd = demo_workspace(tmp_path / "wf", ("faraday_sp", "voigt_par"))
    shutil.copy2(REPO / "run.sh", wd / "run.sh")
    shutil.copy2(REPO / "pyproject.toml", wd / "pyproject.toml")
    (wd / ".venv").symlink_to(venv)
    sheet = wd / "config" / "runs.tsv"
    lines = sheet.read_text().splitlines()
    col = lines[0].split("\t").index("etalon_fsr_MHz")
    rows = []
    for ln in lines:
        cells = ln.split("\t")
        if cells[0] == "faraday_sp":
            cells[col] = "7500"
        rows.append("\t".join(cells))
    sheet.write_text("\n".join(rows) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    res = subprocess.run(
        [
            "bash",
            "run.sh",
            "demo",
            "results/calibrated/faraday_sp.nc",
            "results/calibrated/voigt_par.nc",
        ],
        cwd=wd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert res.returncode == 1, res.stdout[-2000:] + res.stderr[-2000:]
    assert (wd / "results" / "calibrated" / "voigt_par.nc").is_file()  # the other run went on
    console = (res.stdout + res.stderr).splitlines()
    assert len(console) < 80, "\n".join(console)
    assert not any(ln.lstrip().startswith(("input:", "output:")) for ln in console)
    reason = (
        "mohilbert: calibrate faraday_sp (demo/C1--faraday_sp.csv; demo/C2--faraday_sp.csv; "
        "demo/C3--faraday_sp.csv; demo/C4--faraday_sp.csv): CalibrationError: run faraday_sp: "
        "etalon_fsr_MHz = 7500 makes the reference cell lines"
    )
    err = res.stderr.strip().splitlines()
    assert err[-2] == (
        "[run.sh] 1 job(s) failed; the other runs went on (results/logs/ has each job's log):"
    )
    assert err[-1].startswith(reason) and err[-1].endswith("check etalon_fsr_MHz")
    assert sum(ln.startswith(reason) for ln in err) == 2  # where it happened, and last
