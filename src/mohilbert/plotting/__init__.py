"""Figures: a module per figure family, one style, axis labels from the data's attributes.

* :mod:`~mohilbert.plotting.common` — style, colours, residual panels, :func:`save_figure`;
* :mod:`~mohilbert.plotting.experiment` — an experiment's comparison and group-index figures;
* :mod:`~mohilbert.plotting.calibration` — one run's calibration figure;
* :mod:`~mohilbert.plotting.overview` — the campaign's fitted values;
* :mod:`~mohilbert.plotting.power_series` — a power series (HIP-ElecSus Figures 3 and 4);
* :mod:`~mohilbert.plotting.quick_look` — ``mohilbert plot`` of any file the tool writes.

Every figure function takes datasets as written by the pipeline and returns a matplotlib
Figure. No backend is forced here: the workflow's scripts and ``mohilbert plot`` draw off-screen
(Agg), and an interactive session keeps its own.
"""

from mohilbert.plotting.calibration import baseline_text, calibration_figure, scale_text
from mohilbert.plotting.common import (
    PALETTE,
    PNG_DPI,
    STYLE,
    THEORY,
    binned,
    decade,
    fit_values,
    label,
    residual_panel,
    save_figure,
    scaled_label,
    tag_panels,
)
from mohilbert.plotting.experiment import (
    experiment_figure,
    experiment_title,
    group_index_figure,
    run_of_mode,
)
from mohilbert.plotting.overview import overview_figure, reference_value

__all__ = [
    "PALETTE",
    "PNG_DPI",
    "STYLE",
    "THEORY",
    "baseline_text",
    "binned",
    "calibration_figure",
    "decade",
    "experiment_figure",
    "experiment_title",
    "fit_values",
    "group_index_figure",
    "label",
    "overview_figure",
    "reference_value",
    "residual_panel",
    "run_of_mode",
    "save_figure",
    "scale_text",
    "scaled_label",
    "tag_panels",
]
