"""mohilbert.pipeline: code files from the import graph, rule_step's log and errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from mohilbert.jobs import rule_step
from mohilbert.pipeline import code_files

STAGES = sorted(p.stem for p in (REPO / "workflow" / "scripts").glob("*.py"))


@pytest.mark.parametrize("stage", STAGES)
def test_code_files_cover_what_the_script_imports(stage):
    """Every library file a rule script really loads is among its code files (the list is
    derived from the import graph, not kept by hand)."""
    script = REPO / "workflow" / "scripts" / f"{stage}.py"
    probe = (
        "import ast, json, sys\n"
        f"tree = ast.parse(open({str(script)!r}).read())\n"
        "body = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]\n"
        "exec(compile(ast.Module(body=body, type_ignores=[]), 'imports', 'exec'))\n"
        "print(json.dumps(sorted(m.__file__ for n, m in sys.modules.items()\n"
        "    if n.split('.')[0] == 'mohilbert' and getattr(m, '__file__', None))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = {str(Path(p).resolve()) for p in json.loads(out.stdout)}
    assert loaded <= set(code_files(script))


def test_adding_an_import_adds_its_file(tmp_path):
    """Edit a copy of the package: an import added to a module a script uses puts the new
    module's file into that script's code files."""
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "src" / "mohilbert", src / "mohilbert", ignore=shutil.ignore_patterns("__pycache__")
    )
    script = tmp_path / "script.py"
    script.write_text("from mohilbert.signal import white_noise_rms\n")
    probe = (
        "import json, sys\n"
        "from mohilbert.pipeline import code_files\n"
        f"print(json.dumps([p.split('/mohilbert/')[-1] for p in code_files({str(script)!r})]))\n"
    )

    def files():
        res = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        )
        return json.loads(res.stdout)

    assert files() == ["__init__.py", "signal.py"]
    signal = src / "mohilbert" / "signal.py"
    signal.write_text(
        signal.read_text() + "\n\ndef _later():\n    import mohilbert.kramers_kronig\n"
    )
    assert "kramers_kronig.py" in files()


def _ast_imports(path: Path) -> set[str]:
    """The mohilbert modules a file imports, by a full parse (the reference for the scan)."""
    import ast

    from mohilbert.pipeline import _module_path

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "mohilbert")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "mohilbert":
                found.add(node.module)
                found.update(
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if _module_path(f"{node.module}.{a.name}") is not None
                )
    for name in list(found):
        parts = name.split(".")
        found.update(".".join(parts[:k]) for k in range(1, len(parts)))
    return found


def test_import_scan_finds_what_a_parse_finds():
    """The DAG build scans import lines (fast) instead of parsing: over every module of the
    package and every rule script it finds at least what the parse finds."""
    from mohilbert.pipeline import _mohilbert_imports

    files = [
        *(REPO / "src" / "mohilbert").rglob("*.py"),
        *(REPO / "workflow" / "scripts").glob("*.py"),
    ]
    missed = {
        str(f.relative_to(REPO)): sorted(_ast_imports(f) - _mohilbert_imports(f)) for f in files
    }
    assert {f: m for f, m in missed.items() if m} == {}


def test_import_scan_reads_every_spelling(tmp_path):
    from mohilbert.pipeline import _mohilbert_imports

    f = tmp_path / "m.py"
    f.write_text(
        "import os, mohilbert.signal as sig\n"
        "from mohilbert.theory import (\n    Cell,  # a comment\n    spectrum,\n)\n"
        "from mohilbert import plotting, errors  # two modules\n"
        "from mohilbert import (  # a comment first\n    gates,\n)\n"
        "def later():\n    from mohilbert.kramers_kronig import hilbert_transform\n"
    )
    assert _mohilbert_imports(f) == {
        "mohilbert",
        "mohilbert.signal",
        "mohilbert.theory",
        "mohilbert.plotting",
        "mohilbert.errors",
        "mohilbert.gates",
        "mohilbert.kramers_kronig",
    }


def test_plotting_style_is_code_of_the_figures():
    files = code_files(REPO / "workflow" / "scripts" / "figure_experiment.py")
    assert any(f.endswith("plotting/mohilbert.mplstyle") for f in files)


def test_rule_step_logs_failures(tmp_path, capsys, monkeypatch):
    from mohilbert.errors import InputError

    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")  # restored after: rule_step sets it
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    log = tmp_path / "job.log"
    # a job runs its compiled kernels on the cores Snakemake gave it (issue 35)
    with rule_step(str(log), "series s", threads=2):
        assert os.environ["NUMBA_NUM_THREADS"] == "2"
    assert log.read_text().splitlines()[0].endswith("(local), 2 threads (BLAS 1 thread)")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    with rule_step(str(log), "fit e"):
        pass
    assert log.read_text().splitlines()[-2].endswith("(local), 1 thread (BLAS a thread per core)")
    with pytest.raises(SystemExit) as info, rule_step(str(log), "ingest r"):
        raise InputError("run r: no signal file")
    assert info.value.code == 1
    assert (
        capsys.readouterr().err.strip() == "mohilbert: ingest r: InputError: run r: no signal file"
    )
    assert (
        log.read_text().splitlines()[-1] == "mohilbert: ingest r: InputError: run r: no signal file"
    )
    with pytest.raises(ZeroDivisionError), rule_step(str(log), "fit e"):
        1 / 0  # noqa: B018 (a bug: its traceback shows, and the log says so)
    assert log.read_text().splitlines()[-1].startswith("fit e: failed after ")
    assert log.read_text().splitlines()[-1].endswith(" s (ZeroDivisionError)")


def test_the_dag_builds_damaged_file_check_does_not_import_xarray():
    """Issue 17: the workflow's DAG build runs quarantine_damaged; it reads 48 bytes per file
    and must not pay for xarray (0.2 s of every no-op rerun)."""
    probe = (
        "import sys\n"
        "from mohilbert.pipeline import quarantine_damaged\n"
        "quarantine_damaged('no-such-results')\n"
        "print('xarray' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_mohilbert_io_loads_its_names_on_first_use():
    import mohilbert.io as mio

    assert mio.read_scope.__module__ == "mohilbert.io.scope"
    assert mio.load_dataset.__module__ == "mohilbert.io.netcdf"
    with pytest.raises(AttributeError, match="module 'mohilbert.io' has no attribute 'nope'"):
        _ = mio.nope


def test_mohilbert_plotting_loads_a_figure_family_on_first_use():
    """Importing the package loads no figure module; a name loads its family only (a rule
    that draws calibration figures never imports the power-series figures)."""
    probe = (
        "import sys\n"
        "from mohilbert import plotting\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('mohilbert.plotting.'))\n"
        "print(loaded())\n"
        "plotting.calibration_figure\n"
        "print(loaded())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    before, after = out.stdout.splitlines()
    assert before == "[]"
    assert after == "['mohilbert.plotting.calibration', 'mohilbert.plotting.common']"
    import mohilbert.plotting as plotting

    with pytest.raises(AttributeError, match="module 'mohilbert.plotting' has no attribute 'nope'"):
        _ = plotting.nope


def test_damaged_series_file_is_moved_aside(tmp_path):
    """A truncated power-series fit (results/series/) is moved aside like the per-run files,
    so that the workflow rebuilds it; an intact file of another stage stays."""
    import numpy as np
    import xarray as xr

    from mohilbert.io.netcdf import save_dataset
    from mohilbert.pipeline import quarantine_damaged

    (tmp_path / "series").mkdir()
    (tmp_path / "fits").mkdir()
    good = tmp_path / "fits" / "a.nc"
    save_dataset(
        xr.Dataset({"x": ("n", np.arange(3.0), {"units": "1", "long_name": "x"})}),
        good,
        step="test",
    )
    bad = tmp_path / "series" / "hip_T62.nc"
    bad.write_bytes(good.read_bytes()[:40])
    lines = quarantine_damaged(tmp_path)
    assert len(lines) == 1
    assert lines[0].startswith(f"mohilbert: {bad} is damaged (")
    assert lines[0].endswith(
        f"moved it to {tmp_path / 'damaged' / 'series' / 'hip_T62.nc'}: the workflow rebuilds "
        "it when a target needs it"
    )
    assert not bad.exists() and good.exists()


def test_every_rule_output_is_in_the_damage_check_and_the_prune_table():
    """Each netCDF folder a rule writes is checked for damage (RESULT_DIRS), and each file a
    rule writes per run, experiment or series has an owner in RESULT_PATTERNS (prune), read
    from the rules themselves so that a new rule cannot be forgotten."""
    import re

    from mohilbert.pipeline import CAMPAIGN_FILES, RESULT_DIRS, RESULT_PATTERNS

    text = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    # expand()'s {ext} templates name a PDF and a PNG
    found = re.findall(r'"results/([^"]+)"', text)
    outputs = {o.replace("{ext}", ext) for o in found for ext in ("pdf", "png")}
    per_item = {o for o in outputs if re.search(r"\{(run|experiment|series)\}", o)}
    folders = {o.split("/")[0] for o in per_item if o.endswith(".nc")}
    assert folders and folders <= set(RESULT_DIRS), folders - set(RESULT_DIRS)
    patterns = {p for _, p in RESULT_PATTERNS}
    as_patterns = {re.sub(r"\{(run|experiment|series)\}", "{}", o) for o in per_item}
    assert as_patterns <= patterns, as_patterns - patterns
    campaign = {o for o in outputs - per_item if "{" not in o}
    assert campaign <= set(CAMPAIGN_FILES), campaign - set(CAMPAIGN_FILES)
