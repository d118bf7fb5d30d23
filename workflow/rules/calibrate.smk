checkpoint calibrate:
    """Raw time traces of a run -> transmission on a calibrated detuning grid. A checkpoint:
    a run of a power series that cannot be calibrated is left out of it (its file says why),
    and its own products are then not asked for (common.smk: left_out_runs)."""
    input:
        raw="results/raw/{run}.nc",
        code=stage_code("calibrate"),
    output:
        "results/calibrated/{run}.nc",
    log:
        "results/logs/calibrate/{run}.log",
    benchmark:
        "results/benchmarks/calibrate/{run}.tsv"
    group:
        "per_run"
    conda:
        "../envs/mohilbert.yaml"
    threads: 1
    resources:
        # a saturated run calibrated with the intense-probe model holds its saturation solves:
        # the paper's 10 mW run peaks at 2.1 GB (results/benchmarks/calibrate, max_rss)
        mem_mb=3000,
        runtime=15,
    params:
        run=run_params("calibrate"),
        files=raw_relative,
        series=lambda wildcards: run_series(wildcards.run),
        calibrate=config["calibrate"],
        gates=config["gates"]["calibrate"],
    script:
        "../scripts/calibrate.py"
