"""The documentation site (Sphinx + numpydoc + MyST): it builds with warnings as errors, from
the README, config/README.md (its generated key table), the pages in docs/ and the
docstrings, and the pages a reader needs are there."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(REPO / "docs"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for page in ("index", "guide", "config/README", "scope-formats", "architecture", "api"):
        assert (out / f"{page}.html").is_file(), page
    api = (out / "api.html").read_text()
    for name in (
        "mohilbert.theory.spectrum",
        "mohilbert.kramers_kronig.index_from_od",
        "mohilbert.fitting.fit_spectra",
        "mohilbert.io.scope.read_scope",
    ):
        assert f'id="{name}"' in api, name
    assert "| `fit.free` |" not in (out / "config" / "README.html").read_text()  # a table, not text
    assert "<table" in (out / "config" / "README.html").read_text()
    # the tutorials are executed: their figures and printed numbers are in the pages
    theory = (out / "tutorials" / "theory-spectra.html").read_text()
    assert theory.count("<img") >= 3 and "deepest absorption by power" in theory
    fitted = (out / "tutorials" / "fit-your-spectrum.html").read_text()
    assert "temperature_C" in fitted and "[[Variables]]" in fitted and "<img" in fitted
    hilbert = (out / "tutorials" / "hilbert-one-spectrum.html").read_text()
    assert "RMS pull over every point" in hilbert and "<img" in hilbert
    series = (out / "tutorials" / "power-series.html").read_text()
    assert "intensity_scale" in series and "<img" in series
    workflow = (out / "tutorials" / "workflow-own-scope-files.html").read_text()
    assert "jobs scheduled:" in workflow and "temperature_C = 88.0" in workflow


def test_a_tutorial_whose_numbers_are_wrong_fails_the_docs_build(tmp_path):
    """A tutorial cell's assert is the tutorial's test: a wrong number stops the build."""
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs, ignore=shutil.ignore_patterns("_build"))
    for name in ("README.md", "config", "CITATION.cff"):  # what the pages include from ..
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / name)
    page = docs / "tutorials" / "fit-your-spectrum.md"
    text = page.read_text()
    assert 'abs(fit.values["temperature_C"] - 84.0)' in text
    page.write_text(
        text.replace('fit.values["temperature_C"] - 84.0', 'fit.values["temperature_C"] - 90.0')
    )
    res = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(docs), str(tmp_path / "h")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "ExecutionError" in out and "fit-your-spectrum.md" in out, out[-3000:]


def test_public_functions_with_several_parameters_document_each_one():
    """Issue 16 item 10: every public module-level function of the library with three or more
    parameters has a numpydoc Parameters section that names each parameter, in order (the way
    scipy's functions read)."""
    import ast
    import re

    problems = []
    for path in sorted((REPO / "src" / "mohilbert").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            names = [a.arg for a in node.args.args + node.args.kwonlyargs]
            if len(names) < 3:
                continue
            doc = ast.get_docstring(node) or ""
            where = f"{path.relative_to(REPO)}:{node.lineno} {node.name}"
            m = re.search(r"Parameters\n-+\n(.*?)(?:\n\n[A-Z][A-Za-z ]+\n-+\n|\Z)", doc, re.S)
            if not m:
                problems.append(f"{where}: no Parameters section")
                continue
            listed = []
            for line in m.group(1).splitlines():
                if line and not line.startswith(" "):
                    listed += [n.strip() for n in line.split(" : ")[0].split(",")]
            if listed != names:
                problems.append(f"{where}: documents {listed}, signature has {names}")
    assert problems == []
