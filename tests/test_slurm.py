"""The cluster path, for real: a single-node SLURM (munged, slurmctld, slurmd) started on this
machine, two demo runs through ``snakemake --executor slurm``, every job checked to have run
under a SLURM job id, outputs compared with a local run, and the daemons stopped again.

Needs root and Debian's slurm packages (installed by tests/slurm/start-local-slurm.sh through
apt-get when missing). Skipped, with the reason, where that is not possible. Set
MOHILBERT_SKIP_SLURM=1 to skip it on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
import yaml
from conftest import REPO, demo_workspace, run_snakemake

from mohilbert.io import load_dataset

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
SCRIPTS = REPO / "tests" / "slurm"
STATE = "/tmp/mohilbert-slurm"  # short: munge's socket path must stay < 100 characters
RUNS = ("faraday_sp", "faraday_sm")


def _why_not() -> str | None:
    if os.environ.get("MOHILBERT_SKIP_SLURM"):
        return "MOHILBERT_SKIP_SLURM is set"
    if sys.platform != "linux":
        return "SLURM test needs Linux"
    if os.geteuid() != 0:
        return "SLURM test needs root (to start munged/slurmctld/slurmd)"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and apt-get is not available"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install .[slurm])"
    return None


@pytest.fixture(scope="module")
def cluster():
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "SLURM_CI_DIR": STATE}
    start = subprocess.run(
        ["timeout", "-k", "10", "400", "bash", str(SCRIPTS / "start-local-slurm.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if start.returncode != 0:
        subprocess.run(
            ["bash", str(SCRIPTS / "stop-local-slurm.sh")],
            env=env,
            capture_output=True,
            check=False,
        )
        if (
            "apt-get" in start.stdout + start.stderr
            and "Unable to locate" in start.stdout + start.stderr
        ):
            pytest.skip("SLURM packages are not available from apt here")
        pytest.fail(
            "could not start the local SLURM cluster:\n"
            + start.stdout[-3000:]
            + start.stderr[-3000:]
        )
    print(start.stdout.strip().splitlines()[-1])
    yield env
    stop = subprocess.run(
        ["bash", str(SCRIPTS / "stop-local-slurm.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    print(stop.stdout)


def _campaign(dest):
    return demo_workspace(dest, RUNS), [f"results/calibrated/{r}.nc" for r in RUNS]


def test_workflow_on_slurm_matches_local(cluster, tmp_path, capsys):
    wd, targets = _campaign(tmp_path / "slurm")
    profile = yaml.safe_load(
        (REPO / "workflow" / "profiles" / "slurm" / "profile.yaml").read_text()
    )
    profile.update(
        {
            "jobs": 4,
            "latency-wait": 10,
            "slurm-status-command": "squeue",  # no slurmdbd here: sacct cannot answer
            "slurm-init-seconds-before-status-checks": 2,
            # grouped: the ingest + calibrate chains of two runs share one sbatch job
            "group-components": ["per_run=2"],
        }
    )
    profile["default-resources"] = {"slurm_partition": "debug", "mem_mb": 500, "runtime": 10}
    pdir = wd / "ci-profile"
    pdir.mkdir()
    (pdir / "profile.yaml").write_text(yaml.safe_dump(profile))
    cmd = [
        "timeout",
        "-k",
        "30",
        "600",
        sys.executable,
        "-m",
        "snakemake",
        "--workflow-profile",
        str(pdir),
        *targets,
    ]
    res = subprocess.run(cmd, cwd=wd, env=cluster, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    job_ids = {}
    for log in sorted((wd / "results" / "logs").rglob("*.log")):
        m = re.search(r"slurm_job_id=(\d+)", log.read_text())
        assert m, f"{log.relative_to(wd)} did not run under SLURM:\n{log.read_text()}"
        job_ids[str(log.relative_to(wd / "results" / "logs"))] = int(m.group(1))
    assert len(job_ids) == 2 * len(RUNS)  # ingest + calibrate per run
    # grouped (profile group-components): two runs' chains per sbatch job, not one job each
    per_job = {jid: [k for k, v in job_ids.items() if v == jid] for jid in set(job_ids.values())}
    assert len(per_job) == -(-len(RUNS) // 2), per_job
    for logs in per_job.values():
        runs_in_job = {Path(k).stem for k in logs}
        assert len(logs) == 2 * len(runs_in_job) and len(runs_in_job) <= 2, per_job
    with capsys.disabled():  # shown in the CI log
        print(f"\nSLURM job ids of this run: {job_ids}")
    seen = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i %j %T"],
        env=cluster,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for jid in job_ids.values():
        assert re.search(rf"^{jid}\b", seen, re.M) or "COMPLETED" in seen, seen
    # the same outputs as a local run
    local_wd, _ = _campaign(tmp_path / "local")
    local = run_snakemake(local_wd, *targets)
    assert local.returncode == 0, local.stderr[-3000:]
    for target in targets:
        xr.testing.assert_equal(load_dataset(wd / target), load_dataset(local_wd / target))


def test_one_documented_way_to_run_on_slurm():
    """The README and the profile give the same command, and it is the one the SLURM test
    runs (python -m snakemake --workflow-profile <the slurm profile, site values patched>)."""
    command = ".venv/bin/snakemake --workflow-profile workflow/profiles/slurm"
    readme = (REPO / "README.md").read_text()
    profile = (REPO / "workflow" / "profiles" / "slurm" / "profile.yaml").read_text()
    assert command in readme and command in profile.splitlines()[1]
    assert "run.sh demo --workflow-profile" not in readme + profile
