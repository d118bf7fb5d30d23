"""Property-based fuzzing: random bytes and mutated real files never make the readers or the
runs-sheet parser raise anything but mohilbert's own errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO, SCHEMA_PATH, SHARED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohilbert.errors import MohilbertError, SheetError
from mohilbert.io import read_scope
from mohilbert.io.writers import (
    write_lecroy_csv,
    write_tek_isf,
    write_tek_mso_csv,
    write_tek_tds_csv,
)
from mohilbert.runs import load_runs

FUZZ = settings(
    max_examples=int(__import__("os").environ.get("MOHILBERT_FUZZ_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _seeds(tmp_path_factory):
    d = tmp_path_factory.mktemp("seeds")
    v = np.sin(np.linspace(0, 20, 300))
    files = [
        write_lecroy_csv(d / "C1--a.csv", -1e-3, 1e-6, v),
        write_tek_mso_csv(d / "mso.csv", -1e-3, 1e-6, {"CH1": v, "CH2": -v}),
        write_tek_tds_csv(d / "tds.csv", 0.0, 1e-6, v),
        write_tek_isf(d / "x.isf", 0.0, 1e-6, v),
    ]
    samples = SHARED / "data" / "scope-samples"
    for name in (
        "keysight_scope_0.csv",
        "rigol_DS1054Z-A.csv",
        "rigol_DS1204B-F.csv",
        "rigol_DS1052E.csv",
        "lecroy_WR64Xi-A_lecroy_3.trc",
        "keysight_DSOX1102G_dual.bin",
        "rigol_DS2072A-5.wfm",
        "tek_MSO64_analog_waveform.wfm",
    ):
        if (samples / name).exists():
            files.append(samples / name)
    return [p.read_bytes() for p in files], [p.suffix for p in files]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return _seeds(tmp_path_factory)


def _check(path):
    try:
        ds = read_scope(path)
    except MohilbertError as exc:
        assert "\n" not in str(exc)
        return
    assert ds.sizes["time"] >= 2


@FUZZ
@given(
    data=st.binary(max_size=4096),
    suffix=st.sampled_from([".csv", ".trc", ".wfm", ".bin", ".isf", ""]),
)
def test_random_bytes(tmp_path, data, suffix):
    p = tmp_path / f"random{suffix}"
    p.write_bytes(data)
    _check(p)


@FUZZ
@given(data=st.data())
def test_mutated_real_files(tmp_path, seeds, data):
    blobs, suffixes = seeds
    k = data.draw(st.integers(0, len(blobs) - 1))
    blob = bytearray(blobs[k])
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete", "dup"]))
        if not blob:
            break
        i = data.draw(st.integers(0, len(blob) - 1))
        if kind == "flip":
            blob[i] = data.draw(st.integers(0, 255))
        elif kind == "truncate":
            del blob[i:]
        elif kind == "insert":
            blob[i:i] = data.draw(st.binary(min_size=1, max_size=40))
        elif kind == "delete":
            del blob[i : i + data.draw(st.integers(1, 200))]
        else:
            j = data.draw(st.integers(i, len(blob)))
            blob[i:i] = blob[i:j][:5000]
    p = tmp_path / f"mutated{suffixes[k]}"
    p.write_bytes(bytes(blob))
    _check(p)


COLUMNS = [
    "run",
    "experiment",
    "signal",
    "signal_file",
    "geometry",
    "polarisation",
    "cell_length_m",
    "temperature_C",
    "field_T",
    "etalon",
    "etalon_fsr_MHz",
    "isotope_percent",
    "format",
]


@FUZZ
@given(
    rows=st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=14), max_size=5),
    header=st.lists(st.sampled_from(COLUMNS + ["bogus", ""]), min_size=1, max_size=14),
)
def test_runs_sheet_parser(tmp_path, rows, header):
    p = tmp_path / "runs.tsv"
    text = "\t".join(header) + "\n" + "\n".join("\t".join(r) for r in rows)
    p.write_bytes(text.encode("utf-8", "replace"))
    try:
        load_runs(p, SCHEMA_PATH, data_root=tmp_path)
    except SheetError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_runs_sheet_random_bytes(tmp_path, data):
    p = tmp_path / "runs.tsv"
    p.write_bytes(data)
    try:
        load_runs(p, SCHEMA_PATH, data_root=tmp_path)
    except SheetError:
        pass


def test_repo_sheet_still_parses():
    assert (
        len(load_runs(REPO / "config" / "runs.tsv", SCHEMA_PATH, data_root=REPO / "data" / "raw"))
        == 9
    )


def _text_export(kind: str, tmp_path, values):
    if kind == "lecroy":
        return write_lecroy_csv(tmp_path / "C1--v.csv", -1e-3, 1e-6, values)
    if kind == "tek_mso":
        return write_tek_mso_csv(tmp_path / "mso.csv", -1e-3, 1e-6, {"CH1": values, "CH2": -values})
    return write_tek_tds_csv(tmp_path / "tds.csv", 0.0, 1e-6, values)


@FUZZ
@given(
    kind=st.sampled_from(["lecroy", "tek_mso", "tek_tds"]),
    bits=st.none() | st.integers(3, 12),
    european=st.booleans(),
    bom=st.booleans(),
    crlf=st.booleans(),
    concatenate=st.booleans(),
)
def test_messy_but_valid_text_exports(tmp_path, kind, bits, european, bom, crlf, concatenate):
    """Quantised samples, European locale, a byte-order mark and CRLF line ends are read with
    the same samples; two records pasted together are refused as such; nothing else escapes."""
    v = np.sin(np.linspace(0, 20, 300)) * 0.3
    if bits is not None:
        q = 0.8 / (2**bits - 1)
        v = np.round(v / q) * q
    p = _text_export(kind, tmp_path, v)
    reference = read_scope(p)
    lines = p.read_text().splitlines()
    if concatenate and kind == "tek_tds":  # header and data share the rows
        lines = lines + lines
    elif concatenate:
        first = next(i for i, ln in enumerate(lines) if ln and ln[0] in "-0123456789")
        lines = lines + lines[first:]
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    if european:
        text = text.replace(",", ";").replace(".", ",")
    out = tmp_path / f"C1--messy-{kind}.csv"
    out.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    try:
        ds = read_scope(out)
    except MohilbertError as exc:
        assert "\n" not in str(exc)
        assert concatenate and "two records concatenated?" in str(exc), str(exc)
        return
    assert not concatenate, "two records read as one"
    name = list(reference.data_vars)[0]
    np.testing.assert_array_equal(ds[name].values, reference[name].values)
    np.testing.assert_allclose(ds.time.values, reference.time.values)
    assert ds.attrs.get("model") == reference.attrs.get("model")
