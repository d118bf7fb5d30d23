"""Instrument simulator and the bundled demo campaign."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO, SCHEMA_PATH
from scipy.signal import find_peaks

from mohilbert.io import load_dataset, read_scope
from mohilbert.simulate import (
    Acquisition,
    ChannelModel,
    campaign_sheet_text,
    digitise,
    load_campaign,
    sheet_text,
    simulate_acquisition,
    write_campaign,
)

CAMPAIGN = REPO / "data" / "raw" / "demo" / "campaign.yaml"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    rows = write_campaign(CAMPAIGN, out, sheet_prefix="demo/")
    return out, rows


def test_regenerated_campaign_equals_committed_files(regenerated):
    out, rows = regenerated
    committed = REPO / "data" / "raw" / "demo"
    exports = sorted(p.name for p in out.iterdir() if p.suffix == ".csv")
    assert exports == sorted(p.name for p in committed.iterdir() if p.suffix == ".csv")
    for name in exports:
        a, b = read_scope(out / name), read_scope(committed / name)
        for var in a.data_vars:
            np.testing.assert_array_equal(a[var].values, b[var].values)
        np.testing.assert_array_equal(a.time.values, b.time.values)
    # the committed runs sheet holds exactly the rows the campaign generates
    assert (REPO / "config" / "runs.tsv").read_text() == campaign_sheet_text(rows)


def test_demo_is_small_enough():
    total = sum(p.stat().st_size for p in (REPO / "data" / "raw" / "demo").glob("*") if p.is_file())
    assert total <= 15 * 2**20


def test_ingested_channels_match_ground_truth(regenerated):
    out, rows = regenerated
    for row in rows:
        truth = load_dataset(out / "truth" / f"{row['run']}.nc")
        for role in ("signal", "etalon", "reference", "dark", "polarimeter"):
            if role not in row:
                continue
            fname = row.get(f"{role}_file") or row["file"]
            ds = read_scope(out / fname.removeprefix("demo/"))
            rec = truth[f"recorded_{role}"]
            step = rec.attrs["quantisation_step_V"]
            assert np.abs(ds[row[role]].values - rec.values).max() <= step / 2


def test_instrument_statistics():
    acq = Acquisition(
        run="t",
        experiment="e",
        geometry="faraday",
        polarisation="sigma_plus",
        cell={"length_m": 0.002, "temperature_C": 85.0, "field_T": 0.6},
        n_samples=40000,
        seed=5,
        etalon={"fsr_MHz": 500.0, "finesse": 10.0},
        channels={"dark": {"white_noise_V": 1e-3, "flicker_noise_V": 0.0, "bits": 14}},
    )
    rec, gt, t0, dt = simulate_acquisition(acq)
    # noise: the dark channel is white noise of the requested rms
    assert rec["dark"].std() == pytest.approx(1e-3, rel=0.03)
    # quantisation: every recorded value is on the ADC grid of its channel
    step = gt.recorded_signal.attrs["quantisation_step_V"]
    codes = (rec["signal"] - rec["signal"].min()) / step
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-6)
    # etalon: transmission peaks are one FSR apart in true frequency (monotonic part only)
    det = gt.detuning.values
    mono = np.flatnonzero(np.diff(det) > 0)
    peaks, _ = find_peaks(gt.true_etalon.values[mono], prominence=0.3)
    spacing = np.diff(det[mono][peaks])
    assert np.median(spacing) == pytest.approx(500.0, rel=2e-3)
    # the scan turns around at both ends
    assert det[0] > det[200] and det[-1] < det[-200]
    assert gt.attrs["run"] == "t" and "parameters_json" in gt.attrs


def test_clipping_when_overdriven():
    ch = ChannelModel(volts_per_div=0.01, offset_V=0.0, divisions=8, bits=8)
    rec, step, clipped = digitise(np.array([-1.0, 0.0, 0.01, 1.0]), ch)
    assert clipped == 2
    assert rec[0] == pytest.approx(-0.04) and rec[-1] == pytest.approx(0.04 - step)


def test_seeded_and_deterministic():
    acqs, _ = load_campaign(CAMPAIGN)
    a, *_ = simulate_acquisition(acqs[0])
    b, *_ = simulate_acquisition(acqs[0])
    for role in a:
        np.testing.assert_array_equal(a[role], b[role])


def test_sheet_columns_are_schema_columns_and_nothing_is_dropped():
    """Issue 16 item 8: the simulator's column order cannot drift from the sheet's schema,
    and a value it writes never silently misses the sheet."""
    import pytest

    from mohilbert.runs import load_schema
    from mohilbert.simulate import ROLES_OUT, SHEET_COLUMNS

    schema = load_schema(SCHEMA_PATH)
    assert set(SHEET_COLUMNS) <= set(schema["properties"])
    for role in ROLES_OUT:
        assert role in SHEET_COLUMNS and f"{role}_file" in SHEET_COLUMNS
    with pytest.raises(ValueError) as err:
        sheet_text([{"run": "r1", "monitor": "C5"}])
    assert str(err.value) == (
        "sheet_text: run 'r1' has values for ['monitor'], which are not sheet columns here; "
        "add them to SHEET_COLUMNS or extra_columns"
    )


def test_intense_probe_acquisition_and_its_sheet_row(tmp_path):
    """Issue 36 item 2: an acquisition with a probe records the intense-probe model's
    transmission at the power in the cell (the power meter's times intensity_scale), and its
    sheet row says what the lab wrote down (series, power, beam, isotopes)."""
    import math

    from mohilbert.intense import Probe
    from mohilbert.runs import load_schema
    from mohilbert.simulate import SERIES_COLUMNS, Acquisition, simulate_acquisition
    from mohilbert.theory import Cell, intense_arrays

    cell = {
        "length_m": 0.002,
        "temperature_C": 60.0,
        "field_T": 0.6,
        "isotope_percent": {"87Rb": 100},
    }
    probe = {"power_W": 3e-3, "beam_diameter_m": 1e-3, "beam_profile": "flat", "z_slices": 2}
    acq = Acquisition(
        "p",
        "p",
        "faraday",
        "sigma_plus",
        cell=cell,
        probe={**probe, "intensity_scale": 0.5},
        n_samples=4000,
        series="s",
    )
    _, gt, _, _ = simulate_acquisition(acq)
    x = gt["detuning"].values
    expect = intense_arrays(x, Cell(**cell), "sigma_plus", Probe(1.5e-3, 1e-3, "flat", z_slices=2))
    assert np.max(np.abs(gt["true_signal"].values - expect["S0"])) < 2e-3  # 5 MHz grid interp
    weak = simulate_acquisition(replace_probe(acq, {}))[1]["true_signal"].values
    assert np.min(gt["true_signal"].values) > np.min(weak) + 0.05  # saturated: shallower lines
    # the series columns are the sheet's, and the row carries the lab's numbers
    assert set(SERIES_COLUMNS) <= set(load_schema(SCHEMA_PATH)["properties"])
    from mohilbert.simulate import _series_cells

    row = _series_cells(acq, Cell(**cell))
    assert row == {
        "series": "s",
        "isotope_percent": "87Rb:100",
        "probe_power_W": "0.003",
        "beam_diameter_m": "0.001",
        "beam_profile": "flat",
    }
    assert math.isclose(float(row["probe_power_W"]), probe["power_W"])


def replace_probe(acq, probe):
    from dataclasses import replace

    return replace(acq, probe=probe)
