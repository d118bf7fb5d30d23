"""Figures: a module per figure family, one style, axis labels from the data's attributes.

* :mod:`~mohilbert.plotting.common` — style, colours, residual panels, :func:`save_figure`;
* :mod:`~mohilbert.plotting.experiment` — an experiment's comparison and group-index figures;
* :mod:`~mohilbert.plotting.calibration` — a run's calibration figure, or an experiment's runs'
  one under the other;
* :mod:`~mohilbert.plotting.overview` — the campaign's fitted values;
* :mod:`~mohilbert.plotting.power_series` — a power series (HIP-ElecSus Figures 3 and 4);
* :mod:`~mohilbert.plotting.quick_look` — ``mohilbert plot`` of any file the tool writes.

Every figure function takes datasets as written by the pipeline and returns a matplotlib
Figure. The names below are importable from here, but a submodule is only loaded when one of
its names is first used: a workflow rule imports the one figure module it draws with, so an
edit of one figure family reruns only its figures. No backend is forced here: the workflow's scripts and ``mohilbert plot`` draw off-screen
(Agg), and an interactive session keeps its own.
"""

import importlib

#: name → the submodule that defines it
_HOMES = {
    "baseline_text": "calibration",
    "calibration_figure": "calibration",
    "scale_text": "calibration",
    "PALETTE": "common",
    "PNG_DPI": "common",
    "STYLE": "common",
    "THEORY": "common",
    "binned": "common",
    "decade": "common",
    "fit_values": "common",
    "label": "common",
    "residual_panel": "common",
    "save_figure": "common",
    "scaled_label": "common",
    "tag_panels": "common",
    "experiment_figure": "experiment",
    "experiment_title": "experiment",
    "group_index_figure": "experiment",
    "run_of_mode": "experiment",
    "overview_figure": "overview",
    "reference_value": "overview",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    """Load the submodule that defines ``name`` on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module 'mohilbert.plotting' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mohilbert.plotting.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
