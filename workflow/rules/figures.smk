rule figure_experiment:
    """Paper-style comparison figure of one experiment, its group index and group delay, and
    its runs' calibration diagnostics, one under the other, as PNGs (one job: they read the
    same files; a job's start-up costs more than a figure). Their vector PDFs are made on
    request (rule figure_experiment_pdf): writing them cost more than drawing them."""
    input:
        hilbert="results/hilbert/{experiment}.nc",
        fit="results/fits/{experiment}.nc",
        calibrated=experiment_calibrated,
        code=stage_code("figure_experiment"),
    output:
        png=report(
            "results/figures/experiment/{experiment}.png",
            caption="../report/experiment.rst",
            category="Comparison with theory",
            labels={
                "experiment": "{experiment}",
                "figure": "transmission, index, rotation",
            },
        ),
        group_png=report(
            "results/figures/group_index/{experiment}.png",
            caption="../report/group_index.rst",
            category="Group index",
            labels={"experiment": "{experiment}", "figure": "group index"},
        ),
        calibration_png=report(
            "results/figures/calibration/{experiment}.png",
            caption="../report/calibration.rst",
            category="Calibration",
            labels={"experiment": "{experiment}", "figure": "calibration diagnostics"},
        ),
    log:
        "results/logs/figures/experiment_{experiment}.log",
    benchmark:
        "results/benchmarks/figures/experiment_{experiment}.tsv"
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/figure_experiment.py"


rule figure_experiment_pdf:
    """Vector PDFs of an experiment's comparison and group-index figures, for print: asked for
    by name (``results/figures/experiment/{experiment}.pdf``) or all at once (rule
    experiment_pdfs); the same drawing as the PNGs."""
    input:
        hilbert="results/hilbert/{experiment}.nc",
        fit="results/fits/{experiment}.nc",
        calibrated=experiment_calibrated,
        code=stage_code("figure_experiment"),
    output:
        pdf="results/figures/experiment/{experiment}.pdf",
        group_pdf="results/figures/group_index/{experiment}.pdf",
    log:
        "results/logs/figures/experiment_pdf_{experiment}.log",
    benchmark:
        "results/benchmarks/figures/experiment_pdf_{experiment}.tsv"
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/figure_experiment.py"


rule experiment_pdfs:
    """Target: the vector PDFs of every experiment's figures (rule figure_experiment_pdf)."""
    input:
        experiment_pdfs,


rule figure_overview:
    """Fitted parameters of every experiment."""
    input:
        fits=kept_fits,
        code=stage_code("figure_overview"),
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
        "../scripts/figure_overview.py"


rule figure_series_spectra:
    """A power series' spectra at ~1, ~10, ~100 I_sat with the joint intense-probe model
    (the HIP-ElecSus paper's Figure 3, one column)."""
    input:
        series="results/series/{series}.nc",
        calibrated=series_calibrated,
        code=stage_code("figure_series"),
    output:
        pdf="results/figures/power_series/{series}_spectra.pdf",
        png=report(
            "results/figures/power_series/{series}_spectra.png",
            caption="../report/series_spectra.rst",
            category="Power series",
            labels={"series": "{series}", "figure": "spectra and residuals"},
        ),
    log:
        "results/logs/figures/series_spectra_{series}.log",
    priority: 10
    conda:
        "../envs/mohilbert.yaml"
    params:
        records=series_records,
    script:
        "../scripts/figure_series.py"


rule figure_series_line_centre:
    """Line-centre absorption of the open and closed line against I/I_sat, every series, a
    panel per beam (the HIP-ElecSus paper's Figure 4), and the spectra of every beam's
    coolest series at ~1, ~10, ~100 I_sat (its Figure 3): one job for both, they read the
    same files."""
    input:
        series=expand("results/series/{series}.nc", series=SERIES),
        line_centre=expand("results/line_centre/{series}.nc", series=SERIES),
        calibrated=all_series_calibrated,
        code=stage_code("figure_series"),
    output:
        pdf="results/figures/power_series/line_centre.pdf",
        png=report(
            "results/figures/power_series/line_centre.png",
            caption="../report/series_line_centre.rst",
            category="Power series",
            labels={"figure": "line-centre absorption vs intensity"},
        ),
        spectra_pdf="results/figures/power_series/spectra_by_beam.pdf",
        spectra_png=report(
            "results/figures/power_series/spectra_by_beam.png",
            caption="../report/series_spectra_by_beam.rst",
            category="Power series",
            labels={"figure": "spectra of every beam"},
        ),
    log:
        "results/logs/figures/series_line_centre.log",
    priority: 10
    conda:
        "../envs/mohilbert.yaml"
    params:
        records=all_series_records,
    script:
        "../scripts/figure_series.py"


rule series_tables:
    """Fitted temperature, field and intensity scale of every power series, with budgets, and
    every series' line-centre points."""
    input:
        series=expand("results/series/{series}.nc", series=SERIES),
        line_centre=expand("results/line_centre/{series}.nc", series=SERIES),
        code=stage_code("series_tables"),
    output:
        table=report(
            "results/series_table.csv",
            caption="../report/series_table.rst",
            category="Power series",
            labels={"figure": "series table"},
        ),
        line_centre=report(
            "results/series_line_centre.csv",
            caption="../report/series_line_centre_table.rst",
            category="Power series",
            labels={"figure": "line-centre table"},
        ),
    log:
        "results/logs/series_tables.log",
    priority: 10
    conda:
        "../envs/mohilbert.yaml"
    script:
        "../scripts/series_tables.py"


rule report:
    """The campaign report: one self-contained HTML page that opens on the results."""
    input:
        summary="results/summary.csv",
        figures=report_figures,
        calibrated=expand("results/calibrated/{run}.nc", run=RUNS.index),
        hilbert=kept_hilbert,
        series_table=["results/series_table.csv"] if SERIES else [],
        series=expand("results/series/{series}.nc", series=SERIES),
        captions=[workflow.source_path(f"../report/{c}.rst") for c in REPORT_CAPTIONS],
        code=stage_code("report"),
    output:
        "results/report.html",
    log:
        "results/logs/report.log",
    conda:
        "../envs/mohilbert.yaml"
    params:
        sheet=config["runs"],
    script:
        "../scripts/report.py"
