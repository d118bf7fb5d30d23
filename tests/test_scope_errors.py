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


def test_too_large_file_refused(tmp_path):
    p = write_lecroy_csv(tmp_path / "C1--big.csv", 0.0, 1e-6, np.zeros(20000))
    with pytest.raises(InputError, match="above the 0.1 MB limit") as err:
        read_scope(p, max_file_mb=0.1)
    assert "raise ingest.max_file_mb if the machine has the memory" in str(err.value)


def test_missing_file():
    with pytest.raises(InputError, match="does not exist"):
        read_scope("/nonexistent/C1--x.csv")


def test_reader_never_writes(tmp_path):
    p = write_lecroy_csv(tmp_path / "C1--x.csv", 0.0, 1e-6, V)
    before = (p.stat().st_mtime_ns, p.read_bytes())
    read_scope(p)
    assert (p.stat().st_mtime_ns, p.read_bytes()) == before


def _european(text: str) -> str:
    return text.replace(",", ";").replace(".", ",")


@pytest.mark.parametrize("vendor", ["lecroy", "tek_mso", "tek_tds"])
def test_european_locale_exports_are_read(tmp_path, vendor):
    """';' between fields and decimal commas (a European-locale PC or scope): read, with the
    same numbers as the English export, and noted in the attributes; the raw file unchanged."""
    if vendor == "lecroy":
        p = write_lecroy_csv(tmp_path / "C1--en.csv", -0.025, 1e-6, V)
    elif vendor == "tek_mso":
        p = write_tek_mso_csv(tmp_path / "en.csv", -1e-3, 1e-6, {"CH1": V, "CH2": -V})
    else:
        p = write_tek_tds_csv(tmp_path / "en.csv", 4.15e-5, 1e-8, V, source="CH1")
    eu = tmp_path / f"C1--eu-{vendor}.csv"
    eu.write_text(_european(p.read_text()))
    before = eu.read_bytes()
    a, b = read_scope(p), read_scope(eu)
    assert b.attrs["scope_format"] == a.attrs["scope_format"]
    assert b.attrs["model"] == a.attrs["model"]
    assert "decimal commas" in b.attrs["locale"]
    for name in a.data_vars:
        np.testing.assert_array_equal(b[name].values, a[name].values)
    np.testing.assert_allclose(b.time.values, a.time.values)
    assert eu.read_bytes() == before


def test_european_locale_error_names_the_raw_file(tmp_path):
    head, rows = _lecroy_text()
    p = tmp_path / "C4--eu.csv"
    p.write_text(_european(head + "\n".join(rows[:10] + ["-0.02499,abc"] + rows[11:]) + "\n"))
    with pytest.raises(InputError) as info:
        read_scope(p)
    msg = str(info.value)
    assert msg.startswith(f"{p} (read as ';'-separated with decimal commas): line 16")
    assert "'abc' is not a number" in msg and "mohilbert-locale" not in msg


@pytest.mark.parametrize("vendor", ["lecroy", "tek_mso", "generic"])
def test_byte_order_mark_keeps_the_model(tmp_path, vendor):
    if vendor == "lecroy":
        p = write_lecroy_csv(tmp_path / "C1--x.csv", -0.025, 1e-6, V)
    elif vendor == "tek_mso":
        p = write_tek_mso_csv(tmp_path / "x.csv", -1e-3, 1e-6, {"CH1": V})
    else:
        p = tmp_path / "x.csv"
        p.write_text("time,CH1\n" + "".join(f"{i * 1e-6:.9g},{v}\n" for i, v in enumerate(V)))
    bom = tmp_path / f"C1--bom-{vendor}.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    a, b = read_scope(p), read_scope(bom)
    assert b.attrs["scope_format"] == a.attrs["scope_format"]
    assert b.attrs.get("model") == a.attrs.get("model")
    np.testing.assert_array_equal(b[list(b.data_vars)[0]].values, a[list(a.data_vars)[0]].values)


def _two_records(p, title_prefix):
    lines = p.read_text().splitlines()
    title = next(i for i, ln in enumerate(lines) if ln.startswith(title_prefix)) + 1
    return lines, title


def test_tek_mso_two_records_concatenated(tmp_path):
    """Two acquisitions' tables in one Tek MSO file (issue 14): refused, not read as one."""
    p = write_tek_mso_csv(tmp_path / "cat.csv", -1e-3, 1e-6, {"CH1": V, "CH2": -V})
    lines, title = _two_records(p, "TIME,")
    p.write_text("\n".join(lines + lines[title:]) + "\n")
    with pytest.raises(
        InputError,
        match=r"5000 samples but 'Record Length' says 2500; is the file two records concatenated\?",
    ):
        read_scope(p)
    # without a Record Length line the time column itself gives it away
    p.write_text(
        "\n".join(ln for ln in lines + lines[title:] if not ln.startswith("Record")) + "\n"
    )
    with pytest.raises(
        InputError,
        match=r"time column goes back at data row 2501 \(0.001499 then -0.001\); is the file two records concatenated\?",
    ):
        read_scope(p)


def test_time_column_disagrees_with_sample_interval(tmp_path):
    p = write_tek_mso_csv(tmp_path / "dt.csv", -1e-3, 1e-6, {"CH1": V})
    p.write_text(
        p.read_text().replace("Sample Interval,1.00000000e-06", "Sample Interval,2.00000000e-06")
    )
    with pytest.raises(
        InputError,
        match=r"time column spans 0.002499 but 2500 samples at the header's sample interval 2e-06 s span 0.004998; is the file two records concatenated\?",
    ):
        read_scope(p)


def test_tek_tds_two_records_concatenated(tmp_path):
    p = write_tek_tds_csv(tmp_path / "F0000CH1.CSV", 4.15e-5, 1e-8, V, source="CH1")
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines + lines) + "\n")
    with pytest.raises(
        InputError, match=r"'Record Length' says 2500; is the file two records concatenated\?"
    ):
        read_scope(p)


def test_lecroy_two_records_concatenated_message_has_no_numpy_repr(tmp_path):
    head, rows = _lecroy_text()
    p = tmp_path / "C4--cat.csv"
    p.write_text(head.replace("SegmentSize,50", "SegmentSize,100") + "\n".join(rows + rows) + "\n")
    with pytest.raises(InputError) as info:
        read_scope(p)
    msg = str(info.value)
    assert "time column is not increasing at data row 51 (-0.024951 then -0.025)" in msg
    assert "two records concatenated?" in msg and "np.float64" not in msg


def test_unknown_binary_format_lists_the_formats(tmp_path):
    p = tmp_path / "tek_wfmx.bin"
    p.write_bytes(b"\x00\x01\x02\x03garbage" * 100)
    with pytest.raises(FormatError) as info:
        read_scope(p)
    assert str(info.value) == (
        f"{p}: unknown binary format (first bytes 0001020367617262); supported: "
        "tek_wfm, tek_isf, keysight_bin, rigol_wfm, lecroy_trc"
    )


def test_unknown_text_format_shows_a_short_printable_excerpt(tmp_path):
    p = tmp_path / "notes.csv"
    p.write_text("root:x:0:0:root:/root:/bin/bash\x1b[31m and a very long line of secrets\n" * 3)
    with pytest.raises(FormatError) as info:
        read_scope(p)
    msg = str(info.value)
    assert "(first line 'root:x:0:0:root:/root:/bin/bash?[31m and...')" in msg
    assert "secrets" not in msg and "\x1b" not in msg


@pytest.mark.parametrize(
    ("name", "header_lines"),
    [
        ("rigol_DS1054Z-A.csv", 2),  # Rigol Start/Increment: sample-index column
        ("rigol_DS4024-A.csv", 2),
        ("rigol_DS1102E-D.csv", 2),  # Rigol DS1000E time column
        ("rigol_DS1204B-F.csv", 2),
        ("rigol_DS1052E.csv", None),  # UltraScope: header up to the '"Time (s)"' row
        ("keysight_scope_0.csv", 2),
        ("tek_MSO64_analog_waveform.csv", None),  # header up to the TIME row
    ],
)
def test_every_reader_refuses_two_records(tmp_path, name, header_lines):
    """The data rows of a real export pasted twice: every text reader checks the time (or
    sample-index) column it is given and says so (issue 14, item 4)."""
    from conftest import shared_path

    src = shared_path("data", "scope-samples", name)
    lines = src.read_text(errors="replace").splitlines()
    if header_lines is None:
        header_lines = 1 + next(
            i for i, ln in enumerate(lines) if ln.startswith(('"Time (', "TIME,"))
        )
    data = [ln for ln in lines[header_lines:] if ln.strip(" ,")]
    p = tmp_path / name
    p.write_text("\n".join(lines[:header_lines] + data + data) + "\n")
    read_scope(src)  # the original is fine
    with pytest.raises(InputError) as info:
        read_scope(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: ") and msg.endswith("is the file two records concatenated?"), msg
