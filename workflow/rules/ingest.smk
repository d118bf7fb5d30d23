rule ingest:
    """Read a run's raw scope exports into results/raw/{run}.nc (one time axis, all roles)."""
    input:
        raw=raw_files,
        code=stage_code("ingest"),
    output:
        "results/raw/{run}.nc",
    log:
        "results/logs/ingest/{run}.log",
    benchmark:
        "results/benchmarks/ingest/{run}.tsv"
    group:
        "per_run"
    conda:
        "../envs/mohilbert.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        run=run_params("ingest"),
        data_root=config["data_root"],
        ingest=config["ingest"],
    script:
        "../scripts/ingest.py"
