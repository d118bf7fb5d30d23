"""Rules figure_experiment and figure_experiment_pdf: an experiment's comparison with theory and
its group index, and (PNG only) its runs' calibration diagnostics, in the formats the rule
declares (PNGs for every run, PDFs on request)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a job draws off-screen (the library forces no backend)

from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.plotting.calibration import calibration_figure
from mohilbert.plotting.common import save_figure
from mohilbert.plotting.experiment import experiment_figure, group_index_figure

sm = snakemake  # noqa: F821 (injected by Snakemake)
out = sm.output
with rule_step(sm.log[0], sm.rule):
    hilbert = load_dataset(sm.input.hilbert)
    cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
    fig = experiment_figure(hilbert, cal, load_dataset(sm.input.fit))
    save_figure(fig, out.get("pdf"), out.get("png"))
    save_figure(group_index_figure(hilbert), out.get("group_pdf"), out.get("group_png"))
    if "calibration_png" in out.keys():
        save_figure(calibration_figure(cal), None, out.calibration_png)
