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
