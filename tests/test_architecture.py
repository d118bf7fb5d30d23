"""The house's shape (issue 37): layers, independent figure families and no import cycle,
checked by import-linter (the contracts in pyproject.toml) on the package as it is, and shown
to fail on a copy with one import against them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(src))
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_package_keeps_its_contracts():
    res = _lint(REPO / "src", REPO)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "4 kept, 0 broken" in res.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # the theory reaching up into a stage
        ("theory.py", "from mohilbert.stages import fit", "physics below fits"),
        # the fit stage reading the Hilbert stage (the wrong way round)
        ("stages/fit.py", "from mohilbert.stages import hilbert", "the stages in the workflow"),
        # one figure family importing another
        (
            "plotting/overview.py",
            "from mohilbert.plotting import calibration",
            "draw independently",
        ),
        # records and runs importing each other again
        ("records.py", "from mohilbert import runs", "no import cycle"),
    ],
)
def test_an_import_against_the_shape_breaks_a_contract(tmp_path, module, line, contract):
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "src" / "mohilbert", src / "mohilbert", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = src / "mohilbert" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    res = _lint(src, tmp_path)
    assert res.returncode != 0
    broken = [ln for ln in res.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(contract in ln for ln in broken), res.stdout[-3000:]
