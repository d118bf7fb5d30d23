"""Shared fixtures: paths to the repository and to ../shared (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOHILBERT_SHARED", REPO.parent / "shared")).resolve()


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test with a clear reason when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set MOHILBERT_SHARED or clone ../shared)")
    return path


@pytest.fixture
def repo() -> Path:
    return REPO
