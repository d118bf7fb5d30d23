"""Rule fit: calibrated runs of one experiment -> results/fits/{experiment}.nc."""

from pathlib import Path

from mohilbert import gates
from mohilbert.io.netcdf import load_dataset, save_dataset
from mohilbert.jobs import rule_step
from mohilbert.stages.fit import fit_experiment

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], f"fit {sm.wildcards.experiment}") as log:
    cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
    ds = fit_experiment(cal, sm.params.records, sm.params.fit, sm.params.gates)
    for warning in gates.read(ds.attrs):
        log.warn(warning)
    save_dataset(ds, sm.output[0], step="fit", inputs=list(sm.input.calibrated))
