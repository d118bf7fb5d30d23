"""The real data in ../shared is found where the tests and the paper configuration look for it,
and under CI its absence fails rather than silently switching the real-data tests off."""

from __future__ import annotations

import pytest
from conftest import REPO, SCHEMA_PATH, hip_paper, shared_path

from mohilbert.errors import SheetError


def test_missing_shared_path_fails_under_ci_and_skips_on_a_clone(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true a missing ../shared path"):
        shared_path("data", "no-such-folder")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="shared data not available"):
        shared_path("data", "no-such-folder")


def test_paper_sheet_resolves_against_the_shared_copy_of_the_authors_layout():
    """Every row of the paper sheet names files that exist under data_root =
    ../shared/data/real/hip-elecsus/paper_figures/data (the authors' own paths)."""
    import yaml

    from mohilbert.runs import left_out_note, load_runs

    cfg = yaml.safe_load((REPO / "config" / "hip-paper" / "config.yaml").read_text())
    assert cfg["data_root"] == "../shared/data/real/hip-elecsus/paper_figures/data"
    root = hip_paper("data")
    sheet = REPO / "config" / "hip-paper" / "runs.tsv"
    assert cfg["runs_without_files"] == "leave_out"
    runs = load_runs(sheet, SCHEMA_PATH, data_root=root, without_files="leave_out")
    # every acquisition of the 0.5 and 1.0 mm beams; the held-out 2.0 mm beam's 43 left out
    assert len(runs) == 38 + 42
    assert set(runs["series"]) == {
        "hip_0.5mm_T62",
        "hip_0.5mm_T81",
        "hip_1.0mm_T66",
        "hip_1.0mm_T81",
    }
    assert len(runs.attrs["left_out"]) == 43
    assert left_out_note(runs, sheet) == (
        "runs.tsv: 43 run(s) left out, their files are not under data_root: "
        "2.0mm_0.6T_15V (20), 2.0mm_0.6T_17.5V (23)"
    )
    # the held-out beam's rows are exactly the authors' file list
    listed = {
        line.split("\t")[0].removeprefix("paper_figures/data/")
        for line in (root / "2.0mm-held-out-file-list.tsv").read_text().splitlines()[1:]
    }
    import pandas as pd

    rows = pd.read_csv(sheet, sep="\t", comment="#")
    held = rows[rows["run"].str.startswith("D2_")]
    named = set(held["signal_file"]) | set(held["etalon_file"]) | set(held["dark_file"])
    assert named <= listed
    assert {f for f in listed if "/C4--" in f and "baseline" not in f} == set(held["signal_file"])
    # the default refuses a row whose files are missing, naming it
    with pytest.raises(SheetError, match=r"row \d+ \(run 'D2_T67_0.56uW'\), column 'signal_file'"):
        load_runs(sheet, SCHEMA_PATH, data_root=root)


def test_no_row_under_data_root_is_one_line(tmp_path):
    from mohilbert.runs import load_runs

    sheet = REPO / "config" / "hip-paper" / "runs.tsv"
    with pytest.raises(SheetError) as err:
        load_runs(sheet, SCHEMA_PATH, data_root=tmp_path, without_files="leave_out")
    assert str(err.value).startswith(f"{sheet}: no row's files are under data_root ({tmp_path}")
    assert str(err.value).endswith("point data_root at the data folder")
    with pytest.raises(ValueError, match="without_files must be 'error' or 'leave_out', not 'x'"):
        load_runs(sheet, SCHEMA_PATH, data_root=tmp_path, without_files="x")
