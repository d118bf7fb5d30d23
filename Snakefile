# mohilbert: raw oscilloscope exports -> labelled netCDF -> calibration -> Hilbert analysis.
# Run with the documented command (README), which always passes --workflow-profile.
from snakemake.utils import min_version, validate

from mohilbert.config import SCHEMA_PATH, check_config
from mohilbert.errors import SheetError, one_line

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


try:
    check_config(config, SCHEMA_PATH, "config/config.yaml")
except SheetError as exc:
    raise WorkflowError(one_line(exc)) from None
validate(config, str(SCHEMA_PATH))  # the package's schema: the one home of the defaults


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/calibrate.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/figures.smk"


localrules:
    all,
    summary,
    report,
    figure_experiment,
    figure_experiment_pdf,
    experiment_pdfs,
    figure_overview,


rule all:
    default_target: True
    input:
        calibrated=all_calibrated,
        products=all_targets,
