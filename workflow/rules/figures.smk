rule figure_experiment:
    """Paper-style comparison figure of one experiment."""
    input:
        hilbert="results/hilbert/{experiment}.nc",
        fit="results/fits/{experiment}.nc",
        calibrated=experiment_calibrated,
        code=stage_code("figures"),
    output:
        pdf="results/figures/experiment/{experiment}.pdf",
        png=report(
            "results/figures/experiment/{experiment}.png",
            caption="../report/experiment.rst",
            category="Comparison with theory",
            labels={
                "experiment": "{experiment}",
                "figure": "transmission, index, rotation",
            },
        ),
    log:
        "results/logs/figures/experiment_{experiment}.log",
    benchmark:
        "results/benchmarks/figures/experiment_{experiment}.tsv"
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/figures.py"


rule figure_group_index:
    """Group index and group delay of one experiment."""
    input:
        hilbert="results/hilbert/{experiment}.nc",
        code=stage_code("figures"),
    output:
        pdf="results/figures/group_index/{experiment}.pdf",
        png=report(
            "results/figures/group_index/{experiment}.png",
            caption="../report/group_index.rst",
            category="Group index",
            labels={"experiment": "{experiment}", "figure": "group index"},
        ),
    log:
        "results/logs/figures/group_index_{experiment}.log",
    benchmark:
        "results/benchmarks/figures/group_index_{experiment}.tsv"
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/figures.py"


rule figure_calibration:
    """Calibration diagnostics of one run."""
    input:
        calibrated="results/calibrated/{run}.nc",
        code=stage_code("figures"),
    output:
        pdf="results/figures/calibration/{run}.pdf",
        png=report(
            "results/figures/calibration/{run}.png",
            caption="../report/calibration.rst",
            category="Calibration",
            labels={"run": "{run}", "figure": "calibration diagnostics"},
        ),
    log:
        "results/logs/figures/calibration_{run}.log",
    benchmark:
        "results/benchmarks/figures/calibration_{run}.tsv"
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/figures.py"


rule figure_overview:
    """Fitted parameters of every experiment."""
    input:
        fits=expand("results/fits/{experiment}.nc", experiment=EXPERIMENTS),
        code=stage_code("figures"),
    output:
        pdf="results/figures/overview.pdf",
        png=report(
            "results/figures/overview.png",
            caption="../report/overview.rst",
            category="Campaign overview",
            labels={"figure": "fitted parameters"},
        ),
    log:
        "results/logs/figures/overview.log",
    benchmark:
        "results/benchmarks/figures/overview.tsv"
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/figures.py"


rule paper:
    """Every figure of the campaign (regenerates the paper's figures from raw data)."""
    input:
        paper_figures(),
        "results/summary.csv",
