"""Rule line_centre: a series' line-centre absorption against its model ->
results/line_centre/{series}.nc."""

from pathlib import Path

from mohilbert.io.netcdf import load_dataset, save_dataset
from mohilbert.jobs import rule_step
from mohilbert.stages.line_centre import line_centre_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], f"line_centre {sm.wildcards.series}"):
    cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
    ds = line_centre_dataset(
        sm.wildcards.series, load_dataset(sm.input.series), cal, sm.params.records
    )
    save_dataset(
        ds, sm.output[0], step="line_centre", inputs=[sm.input.series, *sm.input.calibrated]
    )
