rule ingest:
    """Read a run's raw scope exports into results/raw/{run}.nc (one time axis, all roles)."""
    input:
        raw=raw_files,
        code=code_files("ingest"),
    output:
        "results/raw/{run}.nc",
    params:
        run=run_params,
        ingest=config["ingest"],
    log:
        "results/logs/ingest/{run}.log",
    benchmark:
        "results/benchmarks/ingest/{run}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/ingest.py"
