rule fit:
    """Joint theory fit of all runs of an experiment (shared temperature and field)."""
    input:
        calibrated=experiment_calibrated,
        code=stage_code("fit"),
    output:
        "results/fits/{experiment}.nc",
    log:
        "results/logs/fit/{experiment}.log",
    benchmark:
        "results/benchmarks/fit/{experiment}.tsv"
    group:
        "per_experiment"
    conda:
        "../envs/mohilbert.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        records=experiment_records("fit"),
        fit=config["fit"],
        gates=config["gates"]["fit"],
    script:
        "../scripts/fit.py"


rule fit_series:
    """Joint intense-probe fit of a power series (shared temperature, field, intensity scale)
    and where the weak-probe assumption holds for each run."""
    input:
        calibrated=series_calibrated,
        code=stage_code("series"),
    output:
        "results/series/{series}.nc",
    log:
        "results/logs/series/{series}.log",
    benchmark:
        "results/benchmarks/series/{series}.tsv"
    # the series chain (its fit, line centres, tables, figures) runs as soon as it can: the
    # per-run jobs fill the other core around it, and the run does not end on it alone
    priority: 10
    conda:
        "../envs/mohilbert.yaml"
    threads: 2  # the compiled kernels' threads (fewer when --cores says so)
    resources:
        mem_mb=3000,
        runtime=120,
    params:
        records=series_records,
        series=config["series"],
        gates=config["gates"]["fit"],
    script:
        "../scripts/series.py"


rule line_centre:
    """Line-centre absorption of a power series' runs against its model (HIP-ElecSus Figure 4's
    numbers): the points with their uncertainty, the model curves."""
    input:
        series="results/series/{series}.nc",
        calibrated=series_calibrated,
        code=stage_code("line_centre"),
    output:
        "results/line_centre/{series}.nc",
    log:
        "results/logs/line_centre/{series}.log",
    benchmark:
        "results/benchmarks/line_centre/{series}.tsv"
    priority: 10
    conda:
        "../envs/mohilbert.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        records=series_records,
    script:
        "../scripts/line_centre.py"


rule hilbert:
    """Kramers-Kronig analysis: indices, group index, rotation or retardance three ways."""
    input:
        calibrated=experiment_calibrated,
        fit="results/fits/{experiment}.nc",
        series=experiment_series,
        code=stage_code("hilbert"),
    output:
        "results/hilbert/{experiment}.nc",
    log:
        "results/logs/hilbert/{experiment}.log",
    benchmark:
        "results/benchmarks/hilbert/{experiment}.tsv"
    group:
        "per_experiment"
    conda:
        "../envs/mohilbert.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        records=experiment_records("hilbert"),
        hilbert=config["hilbert"],
        gates=config["gates"]["hilbert"],
    script:
        "../scripts/hilbert.py"


rule summary:
    """Per experiment: fitted parameters with uncertainties and agreement metrics."""
    input:
        fits=kept_fits,
        hilbert=kept_hilbert,
        code=stage_code("summary"),
    output:
        report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="Campaign overview",
            labels={"figure": "summary table"},
        ),
    log:
        "results/logs/summary.log",
    conda:
        "../envs/mohilbert.yaml"
    params:
        gates=config["gates"]["summary"],
    script:
        "../scripts/summary.py"
