"""Rule figure_overview: the fitted values of every experiment (PDF + PNG)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a job draws off-screen (the library forces no backend)

from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.plotting.common import save_figure
from mohilbert.plotting.overview import overview_figure

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], sm.rule):
    fig = overview_figure({Path(p).stem: load_dataset(p) for p in sm.input.fits})
    save_figure(fig, sm.output.pdf, sm.output.png)
