"""Rule hilbert: calibrated runs + fit of one experiment -> results/hilbert/{experiment}.nc."""

from pathlib import Path

from mohilbert import gates
from mohilbert.io.netcdf import load_dataset, save_dataset
from mohilbert.jobs import rule_step
from mohilbert.stages.hilbert import hilbert_experiment

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], f"hilbert {sm.wildcards.experiment}") as log:
    cal = {Path(p).stem: load_dataset(p) for p in sm.input.calibrated}
    series = {}
    for path in sm.input.series:
        fit_s = load_dataset(path)
        series.update(dict.fromkeys(fit_s["run"].values.tolist(), fit_s))
    ds = hilbert_experiment(
        cal,
        sm.params.records,
        load_dataset(sm.input.fit),
        sm.params.hilbert,
        sm.params.gates,
        series=series,
    )
    for warning in gates.read(ds.attrs):
        log.warn(warning)
    save_dataset(
        ds,
        sm.output[0],
        step="hilbert",
        inputs=[*sm.input.calibrated, sm.input.fit, *sm.input.series],
    )
