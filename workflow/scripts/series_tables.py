"""Rule series_tables: the fitted values of every power series with their budgets, and every
series' line-centre points -> results/series_table.csv, results/series_line_centre.csv."""

from pathlib import Path

from mohilbert.io.atomic import write_bytes_atomic
from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.stages.line_centre import read_line_centre
from mohilbert.stages.series_tables import line_centre_table, series_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], sm.rule):
    fits = {Path(p).stem: load_dataset(p) for p in sm.input.series}
    write_bytes_atomic(sm.output.table, series_table(fits).to_csv(index=False).encode())
    points = {Path(p).stem: read_line_centre(load_dataset(p)) for p in sm.input.line_centre}
    write_bytes_atomic(
        sm.output.line_centre, line_centre_table(points).to_csv(index=False).encode()
    )
