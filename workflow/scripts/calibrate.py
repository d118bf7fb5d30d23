"""Rule calibrate: results/raw/{run}.nc -> results/calibrated/{run}.nc (a run of a power
series that cannot be calibrated is left out of it: the file says why)."""

from mohilbert import gates
from mohilbert.calibration.core import calibrate_or_leave_out
from mohilbert.io.netcdf import load_dataset, save_dataset
from mohilbert.jobs import rule_step

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], f"calibrate {sm.wildcards.run} ({'; '.join(sm.params.files)})") as log:
    raw = load_dataset(sm.input.raw)
    ds = calibrate_or_leave_out(
        raw, sm.params.run, sm.params.series, sm.params.calibrate, sm.params.gates
    )
    for warning in gates.read(ds.attrs):
        log.warn(warning)
    save_dataset(ds, sm.output[0], step="calibrate", inputs=sm.input.raw)
