"""The HTML report's pieces, on small hand-made inputs (the whole report is checked on the demo
campaign, in a real browser, in test_workflow_demo)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mohilbert import report

SUMMARY = pd.DataFrame(
    [
        ["faraday", None, "temperature_C", 88.0184, 0.0125, "degC", 0.0062, 0.0108, ""],
        ["faraday", None, "field_T", 0.599986, 1.0e-5, "T", 7e-6, 7.3e-6, ""],
        ["faraday", "run_a", "shift_MHz", -0.29, 0.18, "MHz", 0.14, 0.12, ""],
        ["faraday", None, "fit_reduced_chi_square", 1.018, np.nan, "1", np.nan, np.nan, ""],
        [
            "voigt",
            None,
            "temperature_C",
            88.03,
            0.02,
            "degC",
            0.015,
            0.013,
            "fit voigt: reduced chi-square 3.1 | Hilbert voigt: index residuals 4 sigma",
        ],
    ],
    columns=[
        "experiment",
        "run",
        "quantity",
        "value",
        "uncertainty",
        "unit",
        "u_statistical",
        "u_normalisation",
        "warnings",
    ],
)


def test_summary_overview_rounds_value_and_uncertainty_together():
    html = report.summary_overview(SUMMARY)
    assert "88.018 ± 0.013" in html  # two significant digits of the uncertainty
    assert "0.599986 ± 0.000010" in html
    assert "1.018" in html
    assert html.count("<tr>") == 3  # header + two experiments


def test_summary_overview_marks_biased_weak_fits_and_adds_the_series_row():
    """Issue 36 item 2 (the demo's power series): the weak-probe fit of a run beyond the weak
    probe said 29.2 ± 1.1 °C in the report's first table, the series' intense-probe fit
    59.93 ± 0.11 °C (truth 60) further down. The first table marks the biased fit and shows
    the series' measurement as a row of its own."""
    from mohilbert import gates

    note = gates.GateWarning("run run_a", "hilbert.saturated_runs", "run run_a: beyond", "note")
    hil = {}
    gates.store(hil, [note])
    table = pd.DataFrame(
        {
            "series": ["s1", "s1", "s1"],
            "quantity": ["temperature_C", "field_T", "intensity_scale"],
            "value": [59.93141, 0.6001512, 0.76],
            "uncertainty": [0.10664, 0.00023, 0.034],
            "unit": ["degC", "T", "1"],
        }
    )
    series = {"s1": {"redchi": 1.0213, "warnings": "[]"}}
    html = report.summary_overview(SUMMARY, {"faraday": hil, "voigt": {}}, table, series)
    assert "88.018 ± 0.013 †" in html and "0.599986 ± 0.000010 †" in html
    assert html.count("†") == 3  # faraday's two values and the footnote
    assert "biased by design; the series row is the measurement" in html
    assert (
        "<tr><td>series s1 (intense-probe fit)</td><td>59.93 ± 0.11</td>"
        "<td>0.60015 ± 0.00023</td><td>1.021</td><td>0</td></tr>"
    ) in html
    assert html.count("<tr>") == 4  # header, two experiments, the series


def test_parameter_table_shows_the_budget_terms_in_words():
    html = report.parameter_table(SUMMARY, "faraday")
    assert "u: statistical" in html and "u: normalisation" in html
    assert "u: etalon FSR" not in html  # a term absent from the table is not a column
    assert "frequency shift of the run run_a" in html
    assert "°C" in html


def test_warnings_are_listed_in_plain_words_or_all_passed_said():
    warnings = report.split_warnings(SUMMARY["warnings"])
    assert warnings == [
        "fit voigt: reduced chi-square 3.1",
        "Hilbert voigt: index residuals 4 sigma",
    ]
    html = report.warnings_section(warnings)
    assert "2 quality-gate warnings" in html and "<li>fit voigt" in html
    assert "All quality gates passed" in report.warnings_section([])


def test_warnings_of_one_kind_are_one_line_and_none_is_lost():
    warnings = [
        "run a1: only 42 % of the record is a regular scan (gate 50 %)",
        "fit voigt: reduced chi-square 3.1",
        "run b22: only 41.5 % of the record is a regular scan (gate 50 %)",
        "run c3: only 4e1 % of the record is a regular scan (gate 50 %)",
    ]
    assert [len(k) for k in report.warning_kinds(warnings)] == [3, 1]
    html = report.warnings_section(warnings)
    assert "4 quality-gate warnings of 2 kinds" in html
    assert html.count("<details>") == 1 and "— and 2 more like it" in html
    assert all(w in html for w in warnings)  # folded, not dropped
    assert "of 2 kinds" not in report.warnings_section(warnings[:2])
    one_kind = [w for w in warnings if "regular scan" in w]
    assert "3 quality-gate warnings of 1 kind</b>" in report.warnings_section(one_kind)


def test_captions_fill_the_snakemake_placeholders_and_render_rst():
    html = report.rst_html(
        'Run {{ snakemake.wildcards.run }} of ``{{ snakemake.config["runs"] }}``: **bold**',
        {"run": "r1", "runs": "config/runs.tsv"},
    )
    assert "Run r1" in html and "config/runs.tsv" in html and "<strong>bold</strong>" in html


def test_calibration_rows_say_how_detuning_zero_was_pinned():
    rows = report.calibration_rows(
        {
            "a": {
                "absolute_method": "reference",
                "reference_temperature_C": 20.1,
                "linearisation_rms_MHz": 0.09,
                "axis_offset_MHz": -30821.4,
                "axis_offset_stderr_MHz": 0.18,
                "axis_scale": 1.0,
                "axis_scale_fitted": 0,
                "scan_fraction_kept": 0.91,
                "warnings": json.dumps(["w"]),
            },
            "b": {
                "absolute_method": "self",
                "axis_scale": 1.002,
                "axis_scale_stderr": 1e-4,
                "axis_scale_fitted": 1,
                "warnings": "[]",
            },
        }
    )
    assert rows.loc[0, "detuning zero from"] == "reference cell at 20.10 °C"
    assert rows.loc[0, "axis offset [MHz]"] == "-30821.40 ± 0.18"
    assert rows.loc[0, "axis scale"] == "fixed" and rows.loc[0, "warnings"] == 1
    assert rows.loc[1, "detuning zero from"] == "the signal's own theory"
    assert rows.loc[1, "axis scale"] == "1.00200 ± 0.00010"


@pytest.fixture
def png(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    path = tmp_path / "f.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def test_build_report_puts_warnings_and_results_before_calibration(png):
    html = report.build_report(
        title="mohilbert results: sheet.tsv",
        summary=SUMMARY,
        experiments={"faraday": {"geometry": "faraday"}, "voigt": {"geometry": "voigt"}},
        calibrated={"run_a": {"absolute_method": "self", "warnings": '["run_a: baseline drift"]'}},
        figures={"experiment/faraday": png, "calibration/run_a": png, "overview": png},
        captions={"experiment": "Experiment {{ snakemake.wildcards.experiment }}."},
        method='Method text for ``{{ snakemake.config["runs"] }}``.',
        sheet="sheet.tsv",
        series={"s": {"warnings": '["run b: its own spectrum says its effective intensity"]'}},
    )
    order = [
        html.index(k)
        for k in (
            'id="gates"',
            "summary-table",
            "figure-faraday",
            "id='overview'",
            "id='calibration'",
            "id='method'",
        )
    ]
    assert order == sorted(order)
    assert "4 quality-gate warnings" in html and "run_a: baseline drift" in html
    assert "run b: its own spectrum says its effective intensity" in html  # a series' too
    assert html.count("data:image/png;base64,") == 3
    assert "Experiment faraday." in html and "sheet.tsv" in html
    assert "Experiment faraday</h2>" in html  # no "(faraday geometry)" after its own name


def test_notes_are_listed_apart_from_the_warnings(png):
    """Issue 36 item 4: what the analysis found on good data and did about it (a run beyond
    the weak probe, its optical depth linearised) is a note, folded apart, not counted among
    the warnings; a fault stays a warning."""
    from mohilbert import gates

    series_attrs: dict = {}
    gates.store(
        series_attrs,
        [
            gates.GateWarning(
                "run b", "fit.weak_probe_delta_chi2", "run b: weak probe departs", "note"
            ),
            gates.GateWarning(
                "run c", "fit.weak_probe_delta_chi2", "run c: weak probe departs", "note"
            ),
            gates.GateWarning("run b", "series.intensity_ratio", "run b: its own spectrum says"),
        ],
    )
    assert [w.message for w in gates.read(series_attrs, "warning")] == [
        "run b: its own spectrum says"
    ]
    assert len(gates.read(series_attrs, "note")) == 2
    html = report.build_report(
        title="t",
        summary=SUMMARY,
        experiments={"faraday": {"geometry": "faraday"}},
        calibrated={},
        figures={},
        captions={},
        series={"s": series_attrs},
    )
    gates_part = html[html.index('id="gates"') : html.index('id="notes"')]
    assert "run b: its own spectrum says" in gates_part and "weak probe departs" not in gates_part
    notes_part = html[html.index('id="notes"') : html.index("id='results'")]
    assert "2 notes: what the analysis found and did (not faults)" in notes_part
    assert "run b: weak probe departs" in notes_part and "1 more like it" in notes_part


def test_the_calibration_table_shows_the_linearisation_rms_to_two_digits():
    """An RMS of the fringe residuals has no uncertainty of its own but is known to a few
    per cent: the table shows its two significant digits, not the six of a float."""
    rows = report.calibration_rows(
        {
            "a": {"absolute_method": "self", "linearisation_rms_MHz": 0.089708},
            "b": {"absolute_method": "self", "linearisation_rms_MHz": 6.4821},
        }
    )
    assert rows["linearisation RMS [MHz]"].tolist() == ["0.090", "6.5"]
