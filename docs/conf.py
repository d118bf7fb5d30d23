"""Sphinx configuration of the mohilbert documentation (built in CI with warnings as errors:
``sphinx-build -W -b html docs docs/_build``; tests/test_docs.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mohilbert import __version__  # noqa: E402

project = "mohilbert"
author = "mohilbert developers"
release = version = __version__
copyright = "mohilbert developers"

extensions = [
    "myst_nb",  # MyST Markdown and the tutorials, executed notebooks (it includes myst_parser)
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute"]
# every tutorial runs on every build, in its own folder, and an error or a failed assert in a
# cell fails the build (-W): a tutorial that shows nonsense cannot be published
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_in_temp = True
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]
autosummary_generate = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"  # the numpydoc Parameters sections carry types and units
autodoc_mock_imports = ["RigolWFM"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
html_theme = "alabaster"
html_static_path = []
html_title = f"mohilbert {__version__}"


def _literal_bars(app, what, name, obj, options, lines):
    """Docstrings write |c|² for a modulus; reStructuredText would read |…| as a
    substitution. Escape the bars outside math blocks and tables."""
    in_math, indent = False, 0
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if stripped.startswith(".. math::"):
            in_math, indent = True, depth
            continue
        if in_math and (not stripped or depth > indent):
            continue
        in_math = False
        if "|" in line and not stripped.startswith(("|", "+")) and ":math:" not in line:
            lines[i] = line.replace("|", "\\|")


def setup(app):
    app.connect("autodoc-process-docstring", _literal_bars, priority=400)
