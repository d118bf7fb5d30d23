"""Rule summary: all fits and Hilbert analyses -> results/summary.csv."""

from pathlib import Path

from mohilbert.io.atomic import write_bytes_atomic
from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.stages.summary import summary_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], "summary") as log:
    fits = {Path(p).stem: load_dataset(p) for p in sm.input.fits}
    hilberts = {Path(p).stem: load_dataset(p) for p in sm.input.hilbert}
    table = summary_table(fits, hilberts, sm.params.gates)
    for warning in sorted({w for ws in table.warnings for w in ws.split(" | ") if w}):
        log.warn(warning)
    write_bytes_atomic(sm.output[0], table.to_csv(index=False, float_format="%.12g").encode())
