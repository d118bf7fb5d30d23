"""The bad-input corpus through the real workflow (issue 9): every broken run stops with one
line naming the run, the file and the cause; every other run finishes; no partial output;
raw files untouched. Sheet-level problems stop before any job starts, naming row and column."""

from __future__ import annotations

import hashlib
import re
import shutil

import corpus
import pytest
import yaml
from conftest import REPO, copy_workflow, run_snakemake

pytestmark = pytest.mark.slow
SHEET_COLS = None


def _good_row():
    lines = (REPO / "config" / "runs.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    for ln in lines[1:]:
        cells = ln.split("\t")
        if cells[0] == corpus.GOOD:
            return header, dict(zip(header, cells, strict=True))
    raise AssertionError("good run missing from config/runs.tsv")


def _write_sheet(wd, header, rows):
    text = ["\t".join(header)] + ["\t".join(str(r.get(h, "")) for h in header) for r in rows]
    (wd / "config" / "runs.tsv").write_text("\n".join(text) + "\n")


def _workspace(dest):
    wd = copy_workflow(dest)
    demo = wd / "data" / "raw" / "demo"
    demo.mkdir(parents=True)
    for ch in corpus.ROLES.values():
        shutil.copy2(REPO / "data" / "raw" / "demo" / f"{ch}--{corpus.GOOD}.csv", demo)
    cfg = yaml.safe_load((wd / "config" / "config.yaml").read_text())
    cfg["ingest"]["max_file_mb"] = 1
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    return wd


def _hashes(root):
    return {
        p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    wd = _workspace(tmp_path_factory.mktemp("corpus") / "wf")
    cases = corpus.build(wd / "data" / "raw" / "demo", wd / "data" / "raw" / "corpus")
    corpus.build_readable(wd / "data" / "raw" / "demo", wd / "data" / "raw" / "corpus")
    header, good = _good_row()
    rows = corpus.sheet_rows(good, cases)
    _write_sheet(wd, header, rows)
    before = _hashes(wd / "data" / "raw")
    targets = [f"results/calibrated/{r['run']}.nc" for r in rows]
    res = run_snakemake(wd, *targets, timeout=1200)
    return wd, cases, res, before


def test_workflow_fails_but_finishes_the_good_run(corpus_run):
    wd, cases, res, before = corpus_run
    assert res.returncode != 0
    assert (wd / "results" / "calibrated" / f"{corpus.GOOD}.nc").exists()
    for name in corpus.READABLE:  # read, not refused (issue 14: European-locale exports)
        assert (wd / "results" / "calibrated" / f"{name}.nc").exists(), res.stderr[-3000:]
    assert _hashes(wd / "data" / "raw") == before  # raw data never touched
    assert not list((wd / "results").rglob("*.tmp"))  # no half-written files


@pytest.mark.parametrize(
    "name",
    [
        "empty",
        "truncated",
        "nonnumeric",
        "delimiter",
        "nan",
        "clipped",
        "missingchannel",
        "nofringes",
        "darkabove",
        "huge",
        "constant",
        "fsr10",
    ],
)
def test_corpus_case(corpus_run, name):
    wd, cases, res, _ = corpus_run
    case = cases[name]
    lines = [
        ln for ln in res.stderr.splitlines() if ln.startswith(f"mohilbert: {case.rule} {name}")
    ]
    assert len(lines) == 1, res.stderr[-4000:]
    line = lines[0]
    assert re.search(case.expect, line), line
    assert f"--{name}.csv" in line  # the file is named
    print(f"\n{name}: {line}")
    stage = "raw" if case.rule == "ingest" else "calibrated"
    assert not (wd / "results" / stage / f"{name}.nc").exists()
    assert not (wd / "results" / "calibrated" / f"{name}.nc").exists()


def test_mode_hop_is_cut_not_fatal(tmp_path):
    """A mode hop in the middle: the longest regular part of the scan is kept and the cut is
    reported in the calibrated file (issue 5: keep the longest good segment)."""
    wd = _workspace(tmp_path / "wf")
    corpus.mode_hop(wd / "data" / "raw" / "demo", wd / "data" / "raw" / "corpus")
    header, good = _good_row()
    row = dict(good, run="modehop")
    for role, ch in corpus.ROLES.items():
        row[f"{role}_file"] = f"corpus/{ch}--modehop.csv"
    _write_sheet(wd, header, [row])
    res = run_snakemake(wd, "results/calibrated/modehop.nc")
    assert res.returncode == 0, res.stderr[-3000:]
    from mohilbert.io import load_dataset

    ds = load_dataset(wd / "results" / "calibrated" / "modehop.nc")
    assert "cut" in ds.attrs["calibration_segment_cuts"]
    assert ds.detuning.values[-1] - ds.detuning.values[0] < 40000  # about half the scan kept


SHEET_CASES = {
    "geometry": ({"geometry": "sideways"}, r"row 2 \(run 'faraday_sp'\), column 'geometry'"),
    "polarisation": (
        {"polarisation": "diagonal"},
        r"row 2 \(run 'faraday_sp'\), column 'polarisation'",
    ),
    "unsafe_slash": ({"run": "a/b"}, r"row 2 \(run 'a/b'\), column 'run'"),
    "unsafe_dots": ({"run": "..evil"}, r"column 'run'"),
    "missing_file": (
        {"signal_file": "demo/nope.csv"},
        r"row 2 \(run 'faraday_sp'\), column 'signal_file': file 'demo/nope.csv' not found",
    ),
    "duplicate": (None, r"duplicate run id 'faraday_sp' in rows 2 and 3, column 'run'"),
    "missing_sheet": ("nosheet", r"runs sheet does not exist"),
    "outside_data_root": (
        {"signal_file": "/etc/passwd"},
        r"column 'signal_file': file '/etc/passwd' is outside data_root \(.*\); move it under "
        r"data_root, point data_root at its folder, or set allow_paths_outside_data_root: true",
    ),
    "config_typo": (
        {"config": {"fitt": {"free": ["temperature_C"]}}},
        r"config/config.yaml: unknown key 'fitt' \(did you mean 'fit'\?\); known keys: runs,",
    ),
    "config_nested_typo": (
        {"config": {"calibrate": {"grid_step_MHz": 10.0, "od_treshold": 0.02}}},
        r"unknown key 'calibrate.od_treshold' \(did you mean 'od_threshold'\?\)",
    ),
}


@pytest.mark.parametrize("name", sorted(SHEET_CASES))
def test_sheet_level_cases_stop_before_any_job(tmp_path, name):
    wd = _workspace(tmp_path / "wf")
    change, expect = SHEET_CASES[name]
    header, good = _good_row()
    if change is None:
        _write_sheet(wd, header, [good, good])
    elif change == "nosheet":
        cfg = yaml.safe_load((wd / "config" / "config.yaml").read_text())
        cfg["runs"] = "config/missing.tsv"
        (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    elif "config" in change:
        cfg = yaml.safe_load((wd / "config" / "config.yaml").read_text())
        cfg.update(change["config"])
        (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    else:
        _write_sheet(wd, header, [dict(good, **change)])
    res = run_snakemake(wd)
    assert res.returncode != 0
    assert re.search(expect, res.stderr), res.stderr[-2000:]
    assert "root:x:0:0" not in res.stderr + res.stdout  # no file content echoed
    assert not (wd / "results").exists()  # no job started
