"""Figure helpers and figures on small synthetic inputs: what a reader sees (labels, bands,
titles), not pixels."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mohilbert import plotting


def test_binned_means_equal_count_groups_and_ignores_nan():
    x = np.arange(10.0)
    y = np.array([1, 1, np.nan, 3, 3, 3, 5, 5, 5, 5], float)
    xm, ym = plotting.binned(x, y, 3)
    np.testing.assert_allclose(xm, [1.0, 4.0, 7.5])
    np.testing.assert_allclose(ym, [1.0, 3.0, 5.0])


@pytest.mark.parametrize(
    ("values", "power"), [([5e-8, 2e-8], -9), ([0.3, 0.1], -3), ([4.0], 0), ([0.0], 0)]
)
def test_decade_brings_values_between_one_and_a_thousand(values, power):
    assert plotting.decade(np.array(values)) == power


def test_reference_value_is_round_and_near_the_mean():
    assert plotting.reference_value(np.array([0.599986, 0.600006])) == pytest.approx(0.6)
    assert plotting.reference_value(np.array([88.01, 88.03])) == pytest.approx(88.0)
    assert plotting.reference_value(np.array([np.nan])) == 0.0


def _fit(t, b, dt, db):
    return xr.Dataset(
        {
            "value": ("parameter", [t, b]),
            "stderr_total": ("parameter", [dt, db]),
        },
        coords={"parameter": ["temperature_C", "field_T"]},
    )


def test_overview_draws_the_field_about_a_stated_round_value_without_offset_notation():
    fig = plotting.overview_figure(
        {"a": _fit(88.02, 0.599986, 0.01, 1e-5), "b": _fit(88.03, 0.600006, 0.02, 8e-6)}
    )
    ax_t, ax_b = fig.axes
    assert ax_b.get_ylabel() == "field B − 0.6 T [µT]"
    fig.canvas.draw()
    assert ax_b.yaxis.get_offset_text().get_text() == ""
    assert ax_t.yaxis.get_offset_text().get_text() == ""
    y = ax_b.lines[0].get_ydata()
    np.testing.assert_allclose(y, [-14.0, 6.0], atol=1e-6)


def test_residual_panel_shows_binned_mean_and_the_one_sigma_band():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    x = np.linspace(-1, 1, 3000)
    sigma = np.full(x.size, 1e-3)
    res = rng.normal(0, 1e-3, x.size)
    fig, ax = plt.subplots()
    plotting.residual_panel(ax, x, [res], [sigma], ["σ+"], "Δ transmission [%]", 100.0)
    band = ax.collections[0]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.max() == pytest.approx(0.1, rel=1e-6)  # 1e-3 × 100 %
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["±1σ (measurement)", "σ+ (binned)"]
    lo, hi = ax.get_ylim()
    assert 0.2 < hi < 1.0 and lo == -hi  # the band and the scatter are both in view
    plt.close(fig)


def test_scale_and_baseline_titles_say_what_they_mean():
    assert plotting.scale_text({"axis_scale": 1.0, "axis_scale_fitted": 0}) == (
        "axis scale fixed at 1 (sheet etalon FSR)"
    )
    text = plotting.scale_text(
        {
            "axis_scale": 1.002,
            "axis_scale_stderr": 1e-4,
            "axis_scale_fitted": 1,
            "etalon_fsr_sheet_MHz": 375.0,
        }
    )
    assert text == "axis scale fitted: 1.00200 ± 0.00010 × sheet etalon FSR (= 375.75 MHz)"
    title = plotting.baseline_text(
        "Legendre polynomial of degree 4 in time through off-resonant points"
    )
    assert title == (
        "baseline: Legendre polynomial of degree 4 in scan time\n"
        "(fitted through off-resonant points; drawn here against detuning)"
    )


def test_png_is_sharp_enough_for_a_slide(tmp_path):
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(7.0, 3.0))
    ax.plot([0, 1])
    plotting.save_figure(fig, tmp_path / "f.pdf", tmp_path / "f.png")
    with Image.open(tmp_path / "f.png") as im:
        assert im.size[0] >= 7 * 200


def test_numbers_read_as_a_lab_reads_them():
    from mohilbert.formatting import pm, power

    assert pm(62.1534, 0.2012) == "62.15 ± 0.20"
    assert pm(0.6, float("nan")) == "0.6"
    assert [power(p) for p in (3.1e-3, 5.6e-4, 1e-3, 3e-8, 2e-13)] == [
        "3.1 mW",
        "560 µW",
        "1 mW",
        "30 nW",
        "0.2 pW",
    ]


def test_line_centre_legend_names_the_detection_settings_of_every_beam():
    """Figure 4's legend (first column) lists every detection setting drawn, also those that
    only a later beam's series has (the 1.0 mm series have four, the 0.5 mm ones two or
    three: the fourth was drawn as diamonds and named nowhere)."""
    import pandas as pd

    from mohilbert.plotting import power_series as ps

    def fit(t):
        return xr.Dataset(
            {"value": ("parameter", [t]), "stderr_total": ("parameter", [0.1])},
            coords={"parameter": ["temperature_C"]},
        )

    def pulls(settings):
        rows = []
        for k, setting in enumerate(settings):
            for line in ("closed", "open"):
                rows.append(
                    {
                        "run": f"r{k}",
                        "line": line,
                        "saturation": 10.0**k,
                        "alpha": 50.0 - k,
                        "alpha_u": 1.0,
                        "pull": 0.5,
                        "detector_setting": setting,
                        "detector_response": 10.0 ** (3 - setting),
                        "probe_power_W": 1e-6 * 10.0**k,
                    }
                )
        return pd.DataFrame(rows)

    grid = np.geomspace(1e-2, 1e3, 20)
    curve = {"closed": 40 / (1 + grid), "open": 30 / (1 + grid)}
    band = {line: 0.01 * c for line, c in curve.items()}
    series = {
        "narrow": (fit(62.0), {}, {"a": {"run": "a", "beam_diameter_m": 0.5e-3}}),
        "wide": (fit(66.5), {}, {"b": {"run": "b", "beam_diameter_m": 1.0e-3}}),
    }
    points = {
        "narrow": (pulls([0, 0, 1]), grid, curve, band),
        "wide": (pulls([0, 1, 2, 3]), grid, curve, band),
    }
    figure = ps.line_centre_figure(series, points)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert [t for t in labels if t.startswith("detection setting")] == [
        f"detection setting {k}" for k in range(4)
    ]
    assert figure.axes[0].get_title() == "beam diameter 0.5 mm"
