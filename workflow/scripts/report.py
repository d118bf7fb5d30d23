"""Rule report: summary, figures and calibration attributes -> results/report.html."""

from pathlib import Path

import pandas as pd

from mohilbert import __version__
from mohilbert.io.atomic import write_bytes_atomic
from mohilbert.io.netcdf import load_dataset
from mohilbert.jobs import rule_step
from mohilbert.report import build_report

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_step(sm.log[0], "report"):
    figures = {}
    for p in map(Path, sm.input.figures):
        family = p.parent.name
        if family == "power_series":
            key = (
                p.stem
                if p.stem in ("line_centre", "spectra_by_beam")
                else f"series/{p.stem[: -len('_spectra')]}"
            )
        elif family == "figures":
            key = p.stem
        else:
            key = f"{family}/{p.stem}"
        figures[key] = p
    captions = {Path(p).stem: Path(p).read_text() for p in sm.input.captions}
    html = build_report(
        title=f"mohilbert results: {sm.params.sheet}",
        summary=pd.read_csv(sm.input.summary),
        experiments={Path(p).stem: load_dataset(p).attrs for p in sm.input.hilbert},
        calibrated={Path(p).stem: load_dataset(p).attrs for p in sm.input.calibrated},
        figures=figures,
        captions=captions,
        series_table=pd.read_csv(sm.input.series_table[0]) if sm.input.series_table else None,
        series={Path(p).stem: load_dataset(p).attrs for p in sm.input.series},
        method=captions.get("workflow", ""),
        sheet=sm.params.sheet,
        provenance={"mohilbert version": __version__, "runs sheet": sm.params.sheet},
    )
    write_bytes_atomic(sm.output[0], html.encode())
