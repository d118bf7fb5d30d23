"""Rule ingest: raw exports of one run -> results/raw/{run}.nc."""

import os

from mohilbert.io.ingest import ingest_run
from mohilbert.io.netcdf import save_dataset
from mohilbert.pipeline import rule_step

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], f"ingest {sm.wildcards.run}"):
    os.environ["MOHILBERT_MAX_FILE_MB"] = str(sm.params.ingest["max_file_mb"])
    ds = ingest_run(
        sm.params.run, time_tolerance_samples=sm.params.ingest["time_tolerance_samples"]
    )
    save_dataset(ds, sm.output[0], step="ingest", inputs=sorted(set(sm.input.raw)))
