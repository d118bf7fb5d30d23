"""Rule figure_calibration: one run's calibration diagnostics (PNG)."""

import matplotlib

matplotlib.use("Agg")  # a job draws off-screen (the library forces no backend)

from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.plotting.calibration import calibration_figure
from mohilbert.plotting.common import save_figure

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], sm.rule):
    fig = calibration_figure(load_dataset(sm.input.calibrated))
    save_figure(fig, None, sm.output.png)
