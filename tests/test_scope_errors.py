"""Readers: vendor-layout round trips through the writers, and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest

from mohilbert.errors import FormatError, InputError, MohilbertError
from mohilbert.io import detect_format, read_scope
from mohilbert.io.writers import (
    write_lecroy_csv,
    write_tek_isf,
    write_tek_mso_csv,
    write_tek_tds_csv,
)

RNG = np.random.default_rng(7)
V = np.round(RNG.normal(0, 0.1, 2500), 5)


def test_tek_tds_round_trip(tmp_path):
    p = write_tek_tds_csv(tmp_path / "F0000CH1.CSV", 4.15e-5, 1e-8, V, source="CH1")
    assert detect_format(p) == "tek_tds_csv"
    ds = read_scope(p)
    assert ds.sizes["time"] == 2500 and list(ds.data_vars) == ["CH1"]
    np.testing.assert_allclose(ds.CH1.values, V, atol=1e-5)
    assert ds.time.values[0] == pytest.approx(4.15e-5)
    assert ds.attrs["sample_interval_s"] == pytest.approx(1e-8)
    assert ds.attrs["model"] == "TDS2024B"
    assert ds.CH1.attrs["vertical_scale_per_div"] == 0.5


def test_tek_isf_round_trip_keeps_source_channel(tmp_path):
    p = write_tek_isf(tmp_path / "TEK0001.ISF", -4e-3, 3.2e-7, V, source="Ch2")
    assert detect_format(p) == "tek_isf"
    ds = read_scope(p)
    assert list(ds.data_vars) == ["CH2"]
    np.testing.assert_allclose(ds.CH2.values, V, atol=0.2 / 2**15)
    assert ds.time.values[0] == pytest.approx(-4e-3)


def test_tek_mso_multichannel_round_trip(tmp_path):
    chans = {"CH1": V, "CH2": -V, "CH3": V * 2}
    p = write_tek_mso_csv(tmp_path / "tek0000ALL.csv", -1e-3, 1e-6, chans)
    ds = read_scope(p)
    assert list(ds.data_vars) == ["CH1", "CH2", "CH3"]
    np.testing.assert_allclose(ds.CH3.values, 2 * V, rtol=1e-7)
    assert ds.time.values[0] == pytest.approx(-1e-3)


def test_lecroy_csv_round_trip(tmp_path):
    p = write_lecroy_csv(tmp_path / "C3--scan.csv", -0.025, 1e-6, V)
    ds = read_scope(p)
    assert list(ds.data_vars) == ["C3"]
    np.testing.assert_allclose(ds.C3.values, V, rtol=1e-6)


def test_generic_csv_with_units(tmp_path):
    p = tmp_path / "scan.csv"
    t = np.arange(100) * 1e-3
    p.write_text(
        "time (ms),signal [V],etalon [V]\n"
        + "\n".join(f"{a},{b},{c}" for a, b, c in zip(t * 1e3, V[:100], -V[:100], strict=True))
    )
    ds = read_scope(p)
    assert detect_format(p) == "generic_csv"
    assert list(ds.data_vars) == ["signal", "etalon"]
    assert ds.attrs["sample_interval_s"] == pytest.approx(1e-3)


def test_explicit_format_override(tmp_path):
    p = write_lecroy_csv(tmp_path / "C1--x.csv", 0.0, 1e-6, V)
    with pytest.raises(FormatError, match="not a Tektronix MSO CSV"):
        read_scope(p, format="tek_mso_csv")
    with pytest.raises(FormatError, match="unknown format 'nonsense'"):
        read_scope(p, format="nonsense")


def _lecroy_text(n=50):
    t = -0.025 + np.arange(n) * 1e-6
    head = (
        f"LECROYWR610Zi,56383,Waveform\nSegments,1,SegmentSize,{n}\nSegment,TrigTime,"
        "TimeSinceSegment1\n#1,27-Mar-2023 12:03:40,0\nTime,Ampl\n"
    )
    return head, [f"{a:.9g},{b:.6g}" for a, b in zip(t, V[:n], strict=True)]


BAD = {
    "empty": (lambda h, rows: "", "file is empty"),
    "truncated_mid_row": (lambda h, rows: h + "\n".join(rows[:30]) + "\n-0.02497", "truncated"),
    "truncated_rows": (
        lambda h, rows: h + "\n".join(rows[:30]) + "\n",
        "header announces 50: the file is truncated",
    ),
    "non_numeric": (
        lambda h, rows: h + "\n".join(rows[:10] + ["-0.02499,abc"] + rows[11:]) + "\n",
        r"line 16, column 2: 'abc' is not a number",
    ),
    "decimal_comma": (
        lambda h, rows: (
            h.replace(",", ";")
            + "\n".join(r.replace(",", ";").replace(".", ",") for r in rows)
            + "\n"
        ),
        "decimal comma|delimiter|unknown format",
    ),
    "nan_sample": (
        lambda h, rows: h + "\n".join(rows[:5] + ["-0.024995,nan"] + rows[6:]) + "\n",
        "NaN or infinite",
    ),
    "inf_sample": (
        lambda h, rows: h + "\n".join(rows[:5] + ["-0.024995,inf"] + rows[6:]) + "\n",
        "NaN or infinite",
    ),
    "garbage": (lambda h, rows: "hello world\nthis is not a scope file\n", "unknown format"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_lecroy_csv_one_line_error(tmp_path, case):
    make, pattern = BAD[case]
    head, rows = _lecroy_text()
    p = tmp_path / f"C4--{case}.csv"
    p.write_text(make(head, rows))
    with pytest.raises(MohilbertError, match=pattern) as info:
        read_scope(p)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(p) in msg


def test_decimal_comma_in_comma_file(tmp_path):
    p = tmp_path / "scan.csv"
    p.write_text('time,CH1\n0.0,1.0\n0.1,"1,5"\n')
    with pytest.raises(InputError, match="decimal comma"):
        read_scope(p)


def test_wrong_delimiter_in_tek_file(tmp_path):
    p = write_tek_mso_csv(tmp_path / "t.csv", 0.0, 1e-6, {"CH1": V[:20], "CH2": V[:20]})
    text = p.read_text().splitlines()
    title = next(i for i, ln in enumerate(text) if ln.startswith("TIME,"))
    text[title + 3 :] = [ln.replace(",", ";") for ln in text[title + 3 :]]
    p.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match="wrong delimiter"):
        read_scope(p)


def test_truncated_binary(tmp_path):
    p = write_tek_isf(tmp_path / "x.isf", 0.0, 1e-6, V)
    p.write_bytes(p.read_bytes()[:-1000])
    with pytest.raises(InputError, match="truncated"):
        read_scope(p)


def test_too_large_file_refused(tmp_path, monkeypatch):
    p = write_lecroy_csv(tmp_path / "C1--big.csv", 0.0, 1e-6, np.zeros(20000))
    monkeypatch.setenv("MOHILBERT_MAX_FILE_MB", "0.1")
    with pytest.raises(InputError, match="above the 0.1 MB limit"):
        read_scope(p)


def test_missing_file():
    with pytest.raises(InputError, match="does not exist"):
        read_scope("/nonexistent/C1--x.csv")


def test_reader_never_writes(tmp_path):
    p = write_lecroy_csv(tmp_path / "C1--x.csv", 0.0, 1e-6, V)
    before = (p.stat().st_mtime_ns, p.read_bytes())
    read_scope(p)
    assert (p.stat().st_mtime_ns, p.read_bytes()) == before
