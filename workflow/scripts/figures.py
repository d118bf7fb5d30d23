"""Rules figure_*: one figure per job (PDF + PNG), from the pipeline's netCDF files."""

from pathlib import Path

from mohilbert import plotting
from mohilbert.io.netcdf import load_dataset
from mohilbert.pipeline import rule_step

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], sm.rule):
    if sm.rule == "figure_experiment":
        cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
        fig = plotting.experiment_figure(
            load_dataset(sm.input.hilbert), cal, load_dataset(sm.input.fit)
        )
    elif sm.rule == "figure_group_index":
        fig = plotting.group_index_figure(load_dataset(sm.input.hilbert))
    elif sm.rule == "figure_calibration":
        fig = plotting.calibration_figure(load_dataset(sm.input.calibrated))
    else:
        fig = plotting.overview_figure({Path(p).stem: load_dataset(p) for p in sm.input.fits})
    plotting.save_figure(fig, sm.output.pdf, sm.output.png)
