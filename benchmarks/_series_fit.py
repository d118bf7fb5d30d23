"""One power-series fit, timed, in this process (the series benchmark runs it once per source
tree, each in its own process on one core):

    python benchmarks/_series_fit.py WORKSPACE SERIES OUT.json [--profile OUT.prof]

WORKSPACE is a paper workspace whose calibrated files of SERIES exist (bench_series_fit.py
makes it). Writes the wall and CPU time, the fit's evaluations (lmfit's and each run's model
evaluations), and the fitted values with their total uncertainties.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml


def _fit_series():
    try:  # the stage module since issue 37
        from mohilbert.stages.series import fit_series
    except ImportError:  # older revisions
        from mohilbert.power_series import fit_series
    return fit_series


def main() -> None:
    wd, series, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    from mohilbert import fitting
    from mohilbert.config import RUNS_SCHEMA_PATH
    from mohilbert.io.netcdf import load_dataset
    from mohilbert.runs import load_runs, stage_record

    cfg = yaml.safe_load((wd / "paper.yaml").read_text())
    sheet = load_runs(
        wd / cfg["runs"], RUNS_SCHEMA_PATH, cfg["data_root"], without_files="leave_out"
    )
    runs = sorted(sheet.index[sheet["series"] == series])
    records = {r: stage_record(sheet, r, "fit", cfg["data_root"]) for r in runs}
    cal = {r: load_dataset(wd / "results" / "calibrated" / f"{r}.nc") for r in runs}
    calls = {"n": 0}
    model = fitting.intense_arrays

    def counted(*args, **kwargs):
        calls["n"] += 1
        return model(*args, **kwargs)

    fitting.intense_arrays = counted  # every run's intense-probe model evaluation
    fit_series = _fit_series()
    profiler = None
    if "--profile" in sys.argv:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0, c0 = time.perf_counter(), time.process_time()
    ds = fit_series(cal, records, cfg["series"], cfg["gates"]["fit"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(sys.argv[sys.argv.index("--profile") + 1])
    names = [str(n) for n in ds["parameter"].values]
    result = {
        "series": series,
        "runs": len(runs),
        "wall_s": wall,
        "cpu_s": cpu,
        "nfev": int(ds.attrs.get("nfev", -1)),
        "run_evaluations": calls["n"],
        "redchi": float(ds.attrs.get("redchi", float("nan"))),
        "values": dict(zip(names, map(float, ds["value"].values), strict=True)),
        "stderr_total": dict(zip(names, map(float, ds["stderr_total"].values), strict=True)),
        "budget": {
            str(term): dict(zip(names, map(float, ds["budget"].sel(term=term).values), strict=True))
            for term in ds["term"].values
        }
        if "budget" in ds
        else {},
    }
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
