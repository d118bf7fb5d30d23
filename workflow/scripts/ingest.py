"""Rule ingest: raw exports of one run -> results/raw/{run}.nc."""

from mohilbert.io.ingest import ingest_run
from mohilbert.io.netcdf import save_dataset
from mohilbert.jobs import rule_step
from mohilbert.runs import with_paths

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], f"ingest {sm.wildcards.run}"):
    ds = ingest_run(
        with_paths(sm.params.run, sm.params.data_root),
        time_tolerance_samples=sm.params.ingest["time_tolerance_samples"],
        max_file_mb=sm.params.ingest["max_file_mb"],
    )
    save_dataset(ds, sm.output[0], step="ingest", inputs=sorted(set(sm.input.raw)))
