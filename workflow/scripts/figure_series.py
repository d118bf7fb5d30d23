"""Rules figure_series_spectra and figure_series_line_centre: a series' spectra (Figure 3,
one column), and every series' line-centre absorption (Figure 4) with the spectra of every
beam (Figure 3) (PDF + PNG)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a job draws off-screen (the library forces no backend)

from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.plotting import power_series as ps
from mohilbert.plotting.common import save_figure
from mohilbert.stages.line_centre import read_line_centre

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], sm.rule):
    paths = [sm.input.series] if isinstance(sm.input.series, str) else sm.input.series
    series = {Path(p).stem: load_dataset(p) for p in paths}
    cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
    if sm.rule == "figure_series_spectra":
        fig = ps.spectra_figure(series[sm.wildcards.series], cal, sm.params.records)
    else:
        parts = {
            name: (fit, {r: cal[r] for r in recs}, recs)
            for name, fit in series.items()
            for recs in [sm.params.records[name]]
        }
        points = {Path(p).stem: read_line_centre(load_dataset(p)) for p in sm.input.line_centre}
        save_figure(ps.paper_spectra_figure(parts), sm.output.spectra_pdf, sm.output.spectra_png)
        fig = ps.line_centre_figure(parts, points)
    save_figure(fig, sm.output.pdf, sm.output.png)
