"""Rule fit_series: calibrated runs of one power series -> results/series/{series}.nc."""

import os

# The job's threads are its compiled kernels' (rule_step). Snakemake gives numpy's BLAS as
# many, whose threads then spin on the kernels' cores: on 2 threads the 0.5 mm / 81 C paper
# fit took 41.7 s with BLAS on 2 threads, 31.7 s on one (35.3 s on one core). Set before
# numpy is imported.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

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
