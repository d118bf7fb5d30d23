"""Rule figure_experiment: an experiment's comparison with theory and its group index (PDF +
PNG each), and its runs' calibration diagnostics (PNG)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a job draws off-screen (the library forces no backend)

from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.plotting.calibration import calibration_figure
from mohilbert.plotting.common import save_figure
from mohilbert.plotting.experiment import experiment_figure, group_index_figure

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], sm.rule):
    hilbert = load_dataset(sm.input.hilbert)
    cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
    fig = experiment_figure(hilbert, cal, load_dataset(sm.input.fit))
    save_figure(fig, sm.output.pdf, sm.output.png)
    save_figure(group_index_figure(hilbert), sm.output.group_pdf, sm.output.group_png)
    save_figure(calibration_figure(cal), None, sm.output.calibration_png)
