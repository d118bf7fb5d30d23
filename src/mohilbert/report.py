"""The campaign report: one self-contained HTML page that opens on the results.

Order of the page (what a reader wants first comes first):

1. the quality gates' warnings in plain words (or that every gate passed);
2. a summary table, one row per experiment: fitted temperature and field with their total
   1σ uncertainty, the fit's reduced χ²;
3. per experiment: the comparison figure with its caption and the parameter table with the
   uncertainty budget (one column per term);
4. power series (when the sheet has one): spectra, line-centre absorption, the table;
5. the campaign overview figure and the full tidy ``summary.csv``;
6. calibration diagnostics per run (a table of the calibration's numbers; each experiment's figure
   folded under its name);
7. the method and provenance (software version, the config).

Figures are embedded as PNG (``data:`` URIs), so the file can be mailed or archived alone.
The page is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mohilbert.formatting import decimals, pm
from mohilbert.gates import read as read_warnings
from mohilbert.products import CalibratedAttrs

#: budget terms, in the order the tables show them, with the words a reader sees
BUDGET_WORDS = {
    "u_statistical": "statistical",
    "u_normalisation": "normalisation",
    "u_etalon_fsr": "etalon FSR",
    "u_axis_scale": "axis scale",
    "u_linearisation": "linearisation",
    "u_cell_length": "cell length",
    "u_model": "the model's own error",
}

#: fitted quantities in words
QUANTITY_WORDS = {
    "temperature_C": "cell temperature",
    "field_T": "magnetic field",
    "shift_MHz": "frequency shift of the run",
    "intensity_scale": "effective intensity scale",
    "transit_scale": "transit-rate scale (x 1/tau)",
    "orthogonal_fraction": "fraction of the probe in the orthogonal polarisation",
    "beam_order": "super-Gaussian order of the beam (1: Gaussian)",
    "fit_reduced_chi_square": "reduced χ² of the joint fit",
}

UNIT_WORDS = {"degC": "°C", "1": ""}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin: 0.6em 0 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
h3 { font-size: 1.05em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #f3f3f3; }
figure { margin: 0.5em 0; }
figure img { max-width: min(100%, 900px); height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; }
.warnings { background: #fff4e5; border-left: 4px solid #e69f00; padding: 0.3em 1em; }
.ok { background: #eaf6ef; border-left: 4px solid #009e73; padding: 0.3em 1em; }
details { margin: 0.3em 0; }
.meta { color: #666; font-size: 0.9em; }
"""


def esc(text) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(text), quote=True)


def png_tag(path: str | Path, alt: str, element_id: str | None = None) -> str:
    """An ``<img>`` holding a PNG file inline (base64 data URI).

    Parameters
    ----------
    path : str or pathlib.Path
        PNG file to embed.
    alt : str
        Alternative text.
    element_id : str, optional
        HTML id of the image.
    """
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    ident = f' id="{esc(element_id)}"' if element_id else ""
    return f'<img{ident} class="figure" alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def rst_html(text: str, substitutions: Mapping[str, str] | None = None) -> str:
    """A report caption (reStructuredText, as Snakemake's report reads it) as HTML.

    ``{{ snakemake.wildcards.NAME }}`` and ``{{ snakemake.config["KEY"] }}`` placeholders are
    filled from ``substitutions`` (keys ``NAME`` / ``KEY``).
    """
    from docutils.core import publish_parts

    subs = dict(substitutions or {})

    def fill(match: re.Match) -> str:
        key = match.group(1) or match.group(2)
        return str(subs.get(key, key))

    text = re.sub(r"\{\{\s*snakemake\.(?:wildcards\.(\w+)|config\[\"(\w+)\"\])\s*\}\}", fill, text)
    parts = publish_parts(
        text,
        writer="html",
        settings_overrides={"report_level": 5, "halt_level": 5, "output_encoding": "unicode"},
    )
    return parts["body"]


def _unit(unit) -> str:
    u = "" if unit is None or (isinstance(unit, float) and np.isnan(unit)) else str(unit)
    return UNIT_WORDS.get(u, u)


def value_text(value: float, uncertainty: float) -> str:
    """'value ± u' for a table cell (the value alone when it carries no uncertainty)."""
    return pm(value, np.nan if uncertainty is None else uncertainty)


def split_warnings(column: pd.Series) -> list[str]:
    """Every distinct warning of a summary table's ``warnings`` column (" | "-separated)."""
    out = []
    for cell in column.fillna(""):
        for w in str(cell).split(" | "):
            if w and w not in out:
                out.append(w)
    return out


#: the run, experiment or series a warning is about, where it opens with one
_SUBJECT = re.compile(r"^(?:run|experiment|series) \S+?: ")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def warning_kinds(warnings: list[str]) -> list[list[str]]:
    """The warnings grouped by kind, in order of first appearance: the same message about
    other runs (its subject and numbers aside) is one kind."""
    groups: dict[str, list[str]] = {}
    for w in warnings:
        groups.setdefault(_NUMBER.sub("#", _SUBJECT.sub("", w)), []).append(w)
    return list(groups.values())


def warnings_section(warnings: list[str]) -> str:
    """The quality gates' verdict, or that all passed: one line per kind of warning, its first
    instance in full and the others (every one of them) folded beneath it."""
    if not warnings:
        return (
            '<section id="gates"><p class="ok">All quality gates passed '
            "(thresholds: <code>gates</code> in the config).</p></section>"
        )
    kinds = warning_kinds(warnings)
    items = []
    for group in kinds:
        if len(group) == 1:
            items.append(f"<li>{esc(group[0])}</li>")
            continue
        rest = "".join(f"<li>{esc(w)}</li>" for w in group[1:])
        items.append(
            f"<li><details><summary>{esc(group[0])} <i>— and {len(group) - 1} more like it"
            f"</i></summary><ul>{rest}</ul></details></li>"
        )
    of_kinds = (
        f" of {len(kinds)} kind{'s' if len(kinds) != 1 else ''}"
        if len(kinds) < len(warnings)
        else ""
    )
    return (
        f'<section id="gates"><div class="warnings"><p><b>{len(warnings)} quality-gate '
        f"warning{'s' if len(warnings) != 1 else ''}{of_kinds}</b> — the numbers below are "
        f"shown, but read them with these in mind:</p><ul>{''.join(items)}</ul></div></section>"
    )


def summary_overview(
    summary: pd.DataFrame,
    experiments: Mapping | None = None,
    series_table: pd.DataFrame | None = None,
    series: Mapping | None = None,
) -> str:
    """One row per experiment: temperature, field (± total 1σ), reduced χ², warnings; then
    one per power series (its joint intense-probe fit). An experiment whose runs its power
    series found beyond the weak probe is marked: its weak-probe fit is biased by design (its
    notes say so), the series row is the measurement.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``results/summary.csv``.
    experiments : mapping of str to mapping, optional
        Per experiment: its Hilbert file's attributes (the notes that mark it).
    series_table : pandas.DataFrame, optional
        ``results/series_table.csv``.
    series : mapping of str to mapping, optional
        Per power series: its fit file's attributes (reduced χ², warnings).
    """
    beyond = {
        exp
        for exp, attrs in (experiments or {}).items()
        if any(w.gate == "hilbert.saturated_runs" for w in read_warnings(attrs, "note"))
    }

    def cell(r: pd.DataFrame, mark: str = "") -> str:
        if not len(r):
            return "<td>–</td>"
        return f"<td>{esc(value_text(r.value.iloc[0], r.uncertainty.iloc[0]))}{mark}</td>"

    rows = []
    for exp, grp in summary.groupby("experiment", sort=True):
        mark = " †" if exp in beyond else ""
        own = grp[grp.run.isna()]
        cells = [f"<td>{esc(exp)}</td>"]
        cells += [cell(own[own.quantity == q], mark) for q in ("temperature_C", "field_T")]
        cells.append(cell(own[own.quantity == "fit_reduced_chi_square"]))
        n = len(split_warnings(grp.get("warnings", pd.Series(dtype=str))))
        cells.append(f"<td>{n}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if series_table is not None:
        for name, grp in series_table.groupby("series", sort=True):
            cells = [f"<td>series {esc(name)} (intense-probe fit)</td>"]
            cells += [cell(grp[grp.quantity == q]) for q in ("temperature_C", "field_T")]
            attrs = (series or {}).get(name, {})
            redchi = attrs.get("redchi")
            cells.append(f"<td>{redchi:.4g}</td>" if redchi is not None else "<td>–</td>")
            cells.append(f"<td>{len(read_warnings(attrs, 'warning'))}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
    foot = (
        "<p class='meta'>† a weak-probe fit of runs beyond the weak probe (the power series"
        "' intense-probe fit tells the two models apart): biased by design; the series row "
        "is the measurement.</p>"
        if beyond
        else ""
    )
    return (
        '<table id="summary-table"><caption>Fitted parameters per experiment (total 1σ: '
        "statistical and systematic in quadrature)</caption>"
        "<tr><th>experiment</th><th>temperature [°C]</th><th>field [T]</th>"
        "<th>reduced χ²</th><th>warnings</th></tr>" + "".join(rows) + "</table>" + foot
    )


def parameter_table(summary: pd.DataFrame, experiment: str) -> str:
    """An experiment's fitted parameters with the total uncertainty and its budget."""
    grp = summary[(summary.experiment == experiment) & summary.uncertainty.notna()]
    terms = [t for t in BUDGET_WORDS if t in grp and (grp[t].fillna(0) != 0).any()]
    head = "".join(f"<th>u: {esc(BUDGET_WORDS[t])}</th>" for t in terms)
    rows = []
    for _, r in grp.iterrows():
        what = QUANTITY_WORDS.get(r.quantity, r.quantity)
        if isinstance(r.run, str) and r.run:
            what = f"{what} {r.run}"
        unit = _unit(r.unit)
        budget = "".join(f"<td>{r[t]:.2g}</td>" for t in terms)
        rows.append(
            f"<tr><td>{esc(what)}</td><td>{esc(value_text(r.value, r.uncertainty))}</td>"
            f"<td class='text'>{esc(unit)}</td>{budget}</tr>"
        )
    return (
        f'<table class="parameters"><tr><th>parameter</th><th>value ± total 1σ</th>'
        f"<th>unit</th>{head}</tr>{''.join(rows)}</table>"
    )


def table_html(frame: pd.DataFrame, element_id: str | None = None) -> str:
    """Any table as HTML (numbers to 6 significant digits)."""
    ident = f' id="{esc(element_id)}"' if element_id else ""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = []
    for _, r in frame.iterrows():
        cells = []
        for v in r.values:
            if isinstance(v, float):
                text = "" if np.isnan(v) else f"{v:.6g}"
            else:
                text = "" if v is None else str(v)
            cells.append(f"<td>{esc(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table{ident}><tr>{head}</tr>{''.join(body)}</table>"


def _two_digits(x: float) -> str:
    """A statistic (an RMS, no uncertainty of its own) to its two significant digits."""
    return f"{x:.{decimals(x)}f}" if np.isfinite(x) and x > 0 else f"{x:g}"


def calibration_rows(calibrated: Mapping[str, Mapping]) -> pd.DataFrame:
    """The calibration's numbers per run, from each calibrated file's attributes."""
    rows = []
    for run in sorted(calibrated):
        a = CalibratedAttrs.from_attrs(calibrated[run])
        if a.left_out:  # its calibration failed: the warning says why
            rows.append(
                {
                    "run": run,
                    "detuning zero from": "not calibrated (left out)",
                    **dict.fromkeys(("linearisation RMS [MHz]", "axis offset [MHz]"), ""),
                    **dict.fromkeys(("axis scale", "scan kept"), ""),
                    "warnings": len(read_warnings(calibrated[run], "warning")),
                }
            )
            continue
        if a.absolute_method == "reference":
            pinned = f"reference cell at {a.reference_temperature_C:.2f} °C"
        else:
            pinned = "the signal's own theory"
        rows.append(
            {
                "run": run,
                "detuning zero from": pinned,
                # an RMS of ~100 fringe residuals is known to ~7 %: its two significant digits
                "linearisation RMS [MHz]": _two_digits(a.linearisation_rms_MHz),
                "axis offset [MHz]": value_text(a.axis_offset_MHz, a.axis_offset_stderr_MHz),
                "axis scale": value_text(a.axis_scale, a.axis_scale_stderr)
                if a.axis_scale_fitted
                else "fixed",
                "scan kept": f"{100 * a.scan_fraction_kept:.0f} %",
                "warnings": len(read_warnings(calibrated[run], "warning")),
            }
        )
    return pd.DataFrame(rows)


def build_report(
    *,
    title: str,
    summary: pd.DataFrame,
    experiments: Mapping[str, Mapping[str, str]],
    calibrated: Mapping[str, Mapping],
    figures: Mapping[str, str | Path],
    captions: Mapping[str, str],
    series_table: pd.DataFrame | None = None,
    method: str = "",
    sheet: str = "",
    provenance: Mapping[str, str] | None = None,
    series: Mapping[str, Mapping] | None = None,
) -> str:
    """The campaign report as one HTML document (see the module docstring for its order).

    Parameters
    ----------
    title : str
        Page title (e.g. the campaign's sheet).
    summary : pandas.DataFrame
        ``results/summary.csv`` (tidy: experiment, run, quantity, value, uncertainty, unit,
        ``u_<term>``, warnings).
    experiments : mapping of str to mapping
        Per experiment: its Hilbert file's attributes (``geometry``; its notes join the report's).
    calibrated : mapping of str to mapping
        Per run: the calibrated file's attributes.
    figures : mapping of str to path
        PNG files by key: ``experiment/<name>``, ``group_index/<name>``,
        ``calibration/<experiment>``, ``overview``, ``series/<name>``, ``line_centre``.
    captions : mapping of str to str
        Caption text (reStructuredText) by figure family: ``experiment``, ``group_index``,
        ``calibration``, ``overview``, ``series_spectra``, ``series_line_centre``,
        ``series_table``, ``summary``.
    series_table : pandas.DataFrame, optional
        ``results/series_table.csv`` when the campaign has power series.
    method : str
        The method text (reStructuredText; ``{{ snakemake.config["runs"] }}`` becomes
        ``sheet``).
    sheet : str
        The runs sheet's path.
    provenance : mapping of str to str, optional
        Lines for the provenance section (software version, config file, ...).
    series : mapping of str to mapping, optional
        Per power series: its fit file's attributes (their warnings join the gates').

    Returns
    -------
    str
        The HTML document.
    """
    warnings = _all_warnings(summary, calibrated, series or {})
    nav = [("results", "Results"), ("overview", "Overview"), ("calibration", "Calibration")]
    if series_table is not None:
        nav.insert(1, ("series", "Power series"))
    nav.append(("method", "Method"))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{esc(title)}</h1><p class='meta'>{len(experiments)} experiment(s), "
        f"{len(calibrated)} run(s). Every number carries its total 1σ uncertainty; the "
        "budget tables split it into named terms.</p><nav>"
        + "".join(f"<a href='#{a}'>{esc(t)}</a>" for a, t in nav)
        + "</nav></header>",
        warnings_section(warnings),
        notes_section(_all_notes(experiments, series or {})),
        "<section id='results'>",
        summary_overview(summary, experiments, series_table, series),
        *_experiment_sections(summary, experiments, figures, captions),
        "</section>",
    ]
    if series_table is not None:
        parts += _series_section(series_table, figures, captions)
    parts += _overview_section(summary, figures, captions)
    parts += _calibration_section(calibrated, figures, captions)
    parts.append("<section id='method'><h2>Method and provenance</h2>")
    parts.append(rst_html(method, {"runs": sheet}))
    if provenance:
        parts.append(
            "<ul class='meta'>"
            + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in provenance.items())
            + "</ul>"
        )
    parts.append("</section></body></html>")
    return "\n".join(parts)


def _all_warnings(summary: pd.DataFrame, calibrated: Mapping, series: Mapping) -> list[str]:
    """Every distinct warning: the summary's, then each run's calibration and each series'
    (in that order, each once)."""
    warnings = split_warnings(summary.get("warnings", pd.Series(dtype=str)))
    for attrs in [
        *(calibrated[r] for r in sorted(calibrated)),
        *(series[s] for s in sorted(series)),
    ]:
        for w in map(str, read_warnings(attrs, "warning")):
            if w not in warnings:
                warnings.append(w)
    return warnings


def _all_notes(experiments: Mapping, series: Mapping) -> list[str]:
    """Every distinct note (what the analysis found and did on good data): each series' and
    each Hilbert analysis'."""
    notes: list[str] = []
    for attrs in [
        *(series[s] for s in sorted(series)),
        *(experiments[e] for e in sorted(experiments)),
    ]:
        for w in map(str, read_warnings(attrs, "note")):
            if w not in notes:
                notes.append(w)
    return notes


def notes_section(notes: list[str]) -> str:
    """The notes, folded: what the analysis found about good data and did about it (a run
    beyond the weak probe, its optical depth linearised) — not faults, so not among the
    warnings."""
    if not notes:
        return ""
    kinds = warning_kinds(notes)
    items = "".join(
        f"<li>{esc(group[0])}"
        + (f" <i>— and {len(group) - 1} more like it</i>" if len(group) > 1 else "")
        + "</li>"
        for group in kinds
    )
    return (
        f'<section id="notes"><details><summary>{len(notes)} note'
        f"{'s' if len(notes) != 1 else ''}: what the analysis found and did (not faults)"
        f"</summary><ul>{items}</ul></details></section>"
    )


def _experiment_sections(summary, experiments, figures, captions) -> list[str]:
    """Per experiment: its comparison figure, its parameter table, its group index."""
    parts = []
    for exp in sorted(experiments):
        geometry = experiments[exp].get("geometry", "")
        head = f"Experiment {exp}" + (f" ({geometry} geometry)" if geometry != exp else "")
        parts.append(f"<h2 id='experiment-{esc(exp)}'>{esc(head)}</h2>")
        key = f"experiment/{exp}"
        if key in figures:
            parts.append(
                f"<figure>{png_tag(figures[key], f'comparison figure of {exp}', f'figure-{exp}')}"
                f"<figcaption>{rst_html(captions.get('experiment', ''), {'experiment': exp})}"
                "</figcaption></figure>"
            )
        parts.append("<h3>Fitted parameters and uncertainty budget</h3>")
        parts.append(parameter_table(summary, exp))
        key = f"group_index/{exp}"
        if key in figures:
            parts.append(
                f"<details><summary>Group index and group delay of {esc(exp)}</summary><figure>"
                f"{png_tag(figures[key], f'group index of {exp}')}<figcaption>"
                f"{rst_html(captions.get('group_index', ''), {'experiment': exp})}"
                "</figcaption></figure></details>"
            )
    return parts


def _series_section(series_table: pd.DataFrame, figures, captions) -> list[str]:
    """The power series: each series' spectra, the spectra of every beam, the line-centre
    figure and the series table."""
    parts = ["<section id='series'><h2>Power series</h2>"]
    for key in sorted(k for k in figures if k.startswith("series/")):
        name = key.split("/", 1)[1]
        parts.append(
            f"<h3>Series {esc(name)}</h3><figure>{png_tag(figures[key], f'spectra of {name}')}"
            f"<figcaption>{rst_html(captions.get('series_spectra', ''), {'series': name})}"
            "</figcaption></figure>"
        )
    if "spectra_by_beam" in figures:
        parts.append(
            f"<h3>Spectra of every beam</h3><figure>"
            f"{png_tag(figures['spectra_by_beam'], 'spectra of every beam')}<figcaption>"
            f"{rst_html(captions.get('series_spectra_by_beam', ''))}</figcaption></figure>"
        )
    if "line_centre" in figures:
        parts.append(
            f"<h3>Line-centre absorption against intensity</h3><figure>"
            f"{png_tag(figures['line_centre'], 'line-centre absorption')}<figcaption>"
            f"{rst_html(captions.get('series_line_centre', ''))}</figcaption></figure>"
        )
    parts.append(rst_html(captions.get("series_table", "")))
    parts.append(table_html(series_table, "series-table"))
    parts.append("</section>")
    return parts


def _overview_section(summary: pd.DataFrame, figures, captions) -> list[str]:
    """The campaign overview figure and the full summary table."""
    parts = ["<section id='overview'><h2>Campaign overview</h2>"]
    if "overview" in figures:
        parts.append(
            f"<figure>{png_tag(figures['overview'], 'fitted parameters per experiment')}"
            f"<figcaption>{rst_html(captions.get('overview', ''))}</figcaption></figure>"
        )
    parts.append(
        "<details><summary>The full summary table (<code>results/summary.csv</code>)</summary>"
        f"{rst_html(captions.get('summary', ''))}{table_html(summary, 'summary-csv')}</details>"
    )
    parts.append("</section>")
    return parts


def _calibration_section(calibrated: Mapping, figures, captions) -> list[str]:
    """The calibration table and each experiment's calibration figure (its runs one under
    the other)."""
    parts = ["<section id='calibration'><h2>Calibration diagnostics per run</h2>"]
    parts.append(table_html(calibration_rows(calibrated), "calibration-table"))
    for key in sorted(k for k in figures if k.startswith("calibration/")):
        experiment = key.partition("/")[2]
        parts.append(
            f"<details><summary>Experiment {esc(experiment)}</summary>"
            f"<figure>{png_tag(figures[key], f'calibration of {experiment}')}<figcaption>"
            f"{rst_html(captions.get('calibration', ''), {'experiment': experiment})}"
            "</figcaption></figure></details>"
        )
    parts.append("</section>")
    return parts
