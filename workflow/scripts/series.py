"""Rule fit_series: calibrated runs of one power series -> results/series/{series}.nc."""

from pathlib import Path

from mohilbert import gates
from mohilbert.io.netcdf import load_dataset, save_dataset
from mohilbert.jobs import rule_step
from mohilbert.stages.series import fit_series

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], f"series {sm.wildcards.series}", sm.threads) as log:
    cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
    ds = fit_series(cal, sm.params.records, sm.params.series, sm.params.gates)
    for warning in gates.read(ds.attrs):
        log.warn(warning)
    save_dataset(ds, sm.output[0], step="fit_series", inputs=list(sm.input.calibrated))
