# Loading and validating the runs sheet; target helpers. No rules here.
import os
import re
import sys

from mohilbert.config import RUNS_SCHEMA_PATH
from mohilbert.errors import SheetError, one_line
from mohilbert.pipeline import calibrated_left_out, code_files, quarantine_damaged
from mohilbert.runs import load_runs, left_out_note, sheet_warnings, stage_record

try:
    RUNS = load_runs(
        config["runs"],
        RUNS_SCHEMA_PATH,
        data_root=config["data_root"],
        allow_outside=config["allow_paths_outside_data_root"],
        without_files=config["runs_without_files"],
    )
except SheetError as exc:
    raise WorkflowError(one_line(exc)) from None


# a truncated or overwritten pipeline file is moved aside and rebuilt (not in cluster jobs)
if workflow.is_main_process:
    if note := left_out_note(RUNS, config["runs"]):
        print(f"mohilbert: note: {note}", file=sys.stderr)
    for line in sheet_warnings(RUNS, config["runs"]):
        print(f"mohilbert: warning: {line}", file=sys.stderr)
    for line in quarantine_damaged("results"):
        print(line, file=sys.stderr)


wildcard_constraints:
    run="|".join(re.escape(r) for r in RUNS.index),


def stage_code(script):
    """Library source files that workflow/scripts/<script>.py runs (its rerun trigger)."""
    return code_files(workflow.source_path(f"../scripts/{script}.py"))


def run_params(stage):
    """What ``stage`` reads of a run's sheet row (records.STAGE_COLUMNS; narrow params: a
    notes edit or a moved checkout reruns nothing)."""
    return lambda wildcards: stage_record(
        RUNS, wildcards.run, stage, config["data_root"]
    )


def raw_relative(wildcards):
    """A run's raw files relative to data_root (named in its calibration messages)."""
    rec = stage_record(RUNS, wildcards.run, "ingest", config["data_root"])
    return sorted({v for k, v in rec.items() if k.endswith("_path") and v})


def raw_files(wildcards):
    """Every raw export a run reads (deduplicated, in role order), relative to the working
    directory when under it (a moved checkout keeps its inputs)."""
    rec = stage_record(RUNS, wildcards.run, "ingest", config["data_root"])
    paths = [
        os.path.normpath(os.path.join(config["data_root"], v))
        for k, v in rec.items()
        if k.endswith("_path") and v
    ]
    return list(dict.fromkeys(paths))


EXPERIMENTS = sorted(RUNS["experiment"].unique())


wildcard_constraints:
    experiment="|".join(re.escape(e) for e in EXPERIMENTS),


def experiment_runs(experiment):
    return sorted(RUNS.index[RUNS["experiment"] == experiment])


def experiment_calibrated(wildcards):
    runs = experiment_runs(wildcards.experiment)
    if any(run_series(r) for r in runs):
        left = left_out_runs()
        runs = [r for r in runs if r not in left]
    return expand("results/calibrated/{run}.nc", run=runs)


def experiment_records(stage):
    """What ``stage`` (fit or hilbert) reads of the sheet rows of an experiment's runs."""
    return lambda wildcards: {
        r: stage_record(RUNS, r, stage, config["data_root"])
        for r in experiment_runs(wildcards.experiment)
        if r not in (left_out_runs() if run_series(r) else ())
    }


SERIES = sorted(
    {s for s in RUNS.get("series", [None] * len(RUNS)) if isinstance(s, str) and s}
)


wildcard_constraints:
    series="|".join(re.escape(s) for s in SERIES) or "__none__",


def series_runs(series):
    return sorted(RUNS.index[RUNS["series"] == series])


def run_series(run):
    """The power series a run belongs to ("" for none)."""
    value = RUNS.at[run, "series"] if "series" in RUNS else ""
    return value if isinstance(value, str) else ""


def left_out_runs():
    """Runs of a power series whose calibration failed (their calibrated file says why): the
    series goes on without them and their own products are not asked for. Known once their
    calibrate jobs have run (checkpoint); runs outside a series are never left out."""
    out = set()
    for run in (r for s in SERIES for r in series_runs(s)):
        path = checkpoints.calibrate.get(run=run).output[0]
        if calibrated_left_out(path):
            out.add(run)
    return out


def kept_runs():
    left = left_out_runs()
    return [r for r in RUNS.index if r not in left]


def kept_experiments():
    """Experiments with at least one run that was not left out."""
    left = left_out_runs()
    return [e for e in EXPERIMENTS if any(r not in left for r in experiment_runs(e))]


def series_calibrated(wildcards):
    return expand("results/calibrated/{run}.nc", run=series_runs(wildcards.series))


def series_records(wildcards):
    """What the series fit reads of the sheet rows of a power series' runs."""
    return {
        r: stage_record(RUNS, r, "fit", config["data_root"])
        for r in series_runs(wildcards.series)
    }


def experiment_series(wildcards):
    """The power-series fits the runs of an experiment belong to (for the Hilbert stage)."""
    if "series" not in RUNS:
        return []
    names = {RUNS.at[r, "series"] for r in experiment_runs(wildcards.experiment)}
    return sorted(f"results/series/{s}.nc" for s in names if isinstance(s, str) and s)


def all_series_records(wildcards=None):
    return {
        s: {
            r: stage_record(RUNS, r, "fit", config["data_root"]) for r in series_runs(s)
        }
        for s in SERIES
    }


def all_series_calibrated(wildcards=None):
    return expand(
        "results/calibrated/{run}.nc", run=[r for s in SERIES for r in series_runs(s)]
    )


def series_outputs():
    """The power-series products: each series' spectra figure, the line-centre figure and
    the table (none without a series in the sheet)."""
    if not SERIES:
        return []
    return [
        *expand(
            "results/figures/power_series/{series}_spectra.{ext}",
            series=SERIES,
            ext=("pdf", "png"),
        ),
        *expand("results/figures/power_series/line_centre.{ext}", ext=("pdf", "png")),
        *expand(
            "results/figures/power_series/spectra_by_beam.{ext}", ext=("pdf", "png")
        ),
        "results/series_line_centre.csv",
        "results/series_table.csv",
    ]


def paper_figures():
    """Every figure of the campaign, but those of runs left out: each experiment's as PNG
    (their PDFs: :func:`experiment_pdfs`), the overview as PDF and PNG."""
    experiments = kept_experiments()
    return [
        *expand("results/figures/experiment/{experiment}.png", experiment=experiments),
        *expand("results/figures/group_index/{experiment}.png", experiment=experiments),
        *expand("results/figures/calibration/{experiment}.png", experiment=experiments),
        *expand("results/figures/overview.{ext}", ext=("pdf", "png")),
    ]


def experiment_pdfs(wildcards=None):
    """The vector PDFs of every kept experiment's comparison and group-index figures (made on
    request: rule experiment_pdfs)."""
    experiments = kept_experiments()
    return [
        *expand("results/figures/experiment/{experiment}.pdf", experiment=experiments),
        *expand("results/figures/group_index/{experiment}.pdf", experiment=experiments),
    ]


REPORT_CAPTIONS = (
    "workflow",
    "experiment",
    "group_index",
    "calibration",
    "overview",
    "summary",
    "series_spectra",
    "series_line_centre",
    "series_spectra_by_beam",
    "series_table",
)


def report_figures(wildcards=None):
    """The PNGs the HTML report embeds."""
    pngs = [p for p in paper_figures() if p.endswith(".png")]
    return pngs + [p for p in series_outputs() if p.endswith(".png")]


def kept_fits(wildcards=None):
    return expand("results/fits/{experiment}.nc", experiment=kept_experiments())


def kept_hilbert(wildcards=None):
    return expand("results/hilbert/{experiment}.nc", experiment=kept_experiments())


def all_calibrated(wildcards=None):
    """Every run's calibrated file: asked for apart from the products (:func:`all_targets`),
    which ask the calibrate checkpoint of each series run in turn; so that Snakemake sees
    every calibration at once and runs them side by side, not one per DAG update."""
    return expand("results/calibrated/{run}.nc", run=RUNS.index)


def all_targets(wildcards=None):
    return [
        *expand("results/series/{series}.nc", series=SERIES),
        *series_outputs(),
        *kept_hilbert(),
        "results/summary.csv",
        *paper_figures(),
        "results/report.html",
    ]
