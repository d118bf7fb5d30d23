"""Rules figure_*: one figure per job (PDF + PNG), from the pipeline's netCDF files."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a job draws off-screen (the library forces no backend)

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
    elif sm.rule in ("figure_series_spectra", "figure_series_line_centre", "series_table"):
        from mohilbert.plotting import power_series as ps

        paths = [sm.input.series] if isinstance(sm.input.series, str) else sm.input.series
        series = {Path(p).stem: load_dataset(p) for p in paths}
        cal = {Path(p).stem: load_dataset(p) for p in getattr(sm.input, "calibrated", [])}
        if sm.rule == "series_table":
            from mohilbert.io.atomic import write_bytes_atomic

            table = ps.series_table(series)
            write_bytes_atomic(sm.output[0], table.to_csv(index=False).encode())
            fig = None
        elif sm.rule == "figure_series_spectra":
            fig = ps.spectra_figure(series[sm.wildcards.series], cal, sm.params.records)
        else:
            from mohilbert.io.atomic import write_bytes_atomic

            parts = {
                name: (fit, {r: cal[r] for r in recs}, recs)
                for name, fit in series.items()
                for recs in [sm.params.records[name]]
            }
            points = ps.all_line_centre_points(parts)
            by_beam = ps.paper_spectra_figure(parts)
            plotting.save_figure(by_beam, sm.output.spectra_pdf, sm.output.spectra_png)
            fig = ps.line_centre_figure(parts, points)
            table = ps.line_centre_table(points)
            write_bytes_atomic(sm.output.table, table.to_csv(index=False).encode())
    elif sm.rule == "figure_calibration":
        fig = plotting.calibration_figure(load_dataset(sm.input.calibrated))
    else:
        fig = plotting.overview_figure({Path(p).stem: load_dataset(p) for p in sm.input.fits})
    if fig is not None:
        plotting.save_figure(fig, sm.output.pdf, sm.output.png)
