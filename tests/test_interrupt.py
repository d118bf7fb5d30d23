"""Kill the workflow mid-job (SIGTERM, SIGKILL), rerun it, and get the same final results as an
uninterrupted run: no half-written file is ever taken for a finished one."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import xarray as xr
from conftest import demo_workspace, run_snakemake, snakemake_cmd

from mohilbert.io import load_dataset

pytestmark = pytest.mark.slow
RUNS = ("faraday_sp", "faraday_sm", "voigt_par")
TARGETS = [f"results/calibrated/{r}.nc" for r in RUNS]


def _workspace(dest):
    return demo_workspace(dest, RUNS)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    wd = _workspace(tmp_path_factory.mktemp("clean") / "wf")
    res = run_snakemake(wd, *TARGETS, "--cores", "1")
    assert res.returncode == 0, res.stderr[-3000:]
    return wd


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_kill_mid_job_then_rerun(reference, tmp_path, sig):
    wd = _workspace(tmp_path / "wf")
    cmd = snakemake_cmd(*TARGETS, cores="1")
    proc = subprocess.Popen(
        cmd, cwd=wd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    # wait until a calibrate job is running (its log exists but its output does not yet)
    deadline = time.time() + 300
    while time.time() < deadline:
        logs = (
            list((wd / "results" / "logs" / "calibrate").glob("*.log"))
            if (wd / "results" / "logs" / "calibrate").exists()
            else []
        )
        if logs and not all(
            (wd / "results" / "calibrated" / f"{p.stem}.nc").exists() for p in logs
        ):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no calibrate job started within 300 s")
    os.killpg(proc.pid, sig)  # the whole process group: snakemake and its job
    proc.wait(timeout=60)
    finished = (
        sorted(p.name for p in (wd / "results" / "calibrated").glob("*.nc"))
        if (wd / "results" / "calibrated").exists()
        else []
    )
    assert len(finished) < len(RUNS)  # it really was interrupted
    unlock = run_snakemake(wd, "--unlock")
    assert unlock.returncode == 0
    res = run_snakemake(wd, *TARGETS, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    for target in TARGETS:
        xr.testing.assert_equal(load_dataset(wd / target), load_dataset(reference / target))
    assert not list((wd / "results").rglob("*.tmp"))
