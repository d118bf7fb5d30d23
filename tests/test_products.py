"""The declared products (issue 37): one record per file kind, read without guessing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mohilbert.products import CalibratedAttrs, FitAttrs, HilbertAttrs


def test_an_older_file_reads_with_the_declared_defaults():
    a = CalibratedAttrs.from_attrs({"axis_scale": 1.01})  # a file before most attributes
    assert a.axis_scale == 1.01 and a.axis_scale_stderr == 0.0 and not a.axis_scale_fitted
    assert a.correlated_noise_length_MHz == 10.0 and math.isnan(a.etalon_fsr_sheet_MHz)
    assert FitAttrs.from_attrs({}).runs == () and HilbertAttrs.from_attrs({}).metrics_json == {}


def test_records_round_trip_through_attributes():
    a = CalibratedAttrs(axis_scale=0.98, axis_scale_fitted=True, dark_file="d.csv")
    stored = a.to_attrs()
    assert stored["axis_scale_fitted"] == 1 and isinstance(stored["axis_sign"], int)
    assert CalibratedAttrs.from_attrs(stored) == a
    f = FitAttrs(runs=("a", "b"), nominal_json={"T": 1.0}, per_detection_setting=("x",))
    stored = f.to_attrs()
    assert stored["runs"] == "a, b" and json.loads(stored["nominal_json"]) == {"T": 1.0}
    assert FitAttrs.from_attrs(stored) == f


@pytest.mark.parametrize(
    ("attrs", "term", "relative"),
    [
        # the calibration fitted the scale: its standard error
        (
            {"axis_scale": 1.02, "axis_scale_stderr": 0.0051, "axis_scale_fitted": 1},
            "axis_scale",
            0.0051 / 1.02,
        ),
        # a fixed scale: the sheet's etalon FSR uncertainty
        ({"etalon_fsr_sheet_MHz": 750.0, "etalon_fsr_uncertainty_MHz": 1.5}, "etalon_fsr", 0.002),
        # neither known: no scale term
        ({}, "etalon_fsr", 0.0),
    ],
)
def test_one_axis_uncertainty_for_both_budgets(attrs, term, relative):
    """The fit's budget takes the scale term from this; the Hilbert stage the whole σ_ν(ν)."""
    axis = CalibratedAttrs.from_attrs(
        {**attrs, "linearisation_rms_MHz": 0.3, "axis_offset_stderr_MHz": 0.4}
    ).axis_uncertainty()
    assert axis.scale_term == term and axis.scale_relative == pytest.approx(relative)
    nu = np.array([0.0, 3000.0])
    sigma = axis.sigma_MHz(nu, shift_MHz=1.2, shift_stderr_MHz=0.5)
    base = math.sqrt(0.3**2 + 0.4**2 + 1.2**2 + 0.5**2)
    np.testing.assert_allclose(sigma, np.hypot(base, relative * nu))
