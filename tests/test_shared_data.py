"""The real data in ../shared is found where the tests and the paper configuration look for it,
and under CI its absence fails rather than silently switching the real-data tests off."""

from __future__ import annotations

import pytest
from conftest import REPO, SCHEMA_PATH, hip_paper, shared_path


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

    from mohilbert.runs import load_runs

    cfg = yaml.safe_load((REPO / "config" / "hip-paper" / "config.yaml").read_text())
    assert cfg["data_root"] == "../shared/data/real/hip-elecsus/paper_figures/data"
    root = hip_paper("data")
    runs = load_runs(REPO / "config" / "hip-paper" / "runs.tsv", SCHEMA_PATH, data_root=root)
    assert len(runs) >= 38
