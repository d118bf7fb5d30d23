"""Faults round two (issue 14): damaged intermediates are found and rebuilt, a full disk is
one clear line with nothing left behind, orphaned jobs stop, stale results can be pruned."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import REPO, demo_workspace, run_snakemake

from mohilbert.errors import DamagedFileError
from mohilbert.io import load_dataset, save_dataset
from mohilbert.io.netcdf import quick_file_problem

FARADAY = ("faraday_sp", "faraday_sm", "faraday_pol")


def _small_dataset(n=2000):
    x = np.linspace(0, 1, n)
    return xr.Dataset(
        {"a": ("x", np.sin(40 * x), {"units": "1", "long_name": "a"})},
        coords={"x": ("x", x, {"units": "s", "long_name": "time"})},
    )


# ----------------------------------------------------------------- damaged files (item 1)


def test_load_dataset_names_damaged_files(tmp_path):
    good = save_dataset(_small_dataset(), tmp_path / "good.nc")
    payload = good.read_bytes()
    (tmp_path / "half.nc").write_bytes(payload[: len(payload) // 2])
    (tmp_path / "garbage.nc").write_bytes(b"not a netcdf file\n" * 50)
    _small_dataset().to_netcdf(tmp_path / "foreign.nc", engine="h5netcdf")
    rebuild = (
        "; rerun the workflow (bash run.sh demo): it moves damaged files to results/damaged/ "
        "and rebuilds them"
    )
    expect = {
        "half.nc": f"(truncated file: {len(payload) // 2} of {len(payload)} bytes)",
        "garbage.nc": "(not a netCDF-4/HDF5 file: the file was overwritten or is not a mohilbert output)",
        "foreign.nc": "(not written by mohilbert (no mohilbert_version attribute))",
    }
    for name, why in expect.items():
        with pytest.raises(DamagedFileError) as info:
            load_dataset(tmp_path / name)
        assert str(info.value) == f"{tmp_path / name} is damaged {why}{rebuild}"
    assert quick_file_problem(good) is None
    assert quick_file_problem(tmp_path / "foreign.nc") is None  # found by load_dataset instead


@pytest.fixture(scope="module")
def faraday_done(tmp_path_factory):
    """The faraday experiment's calibration and fit, run once."""
    wd = demo_workspace(tmp_path_factory.mktemp("damaged") / "wf", runs=FARADAY)
    targets = ["results/fits/faraday.nc"]
    res = run_snakemake(wd, *targets)
    assert res.returncode == 0, res.stderr[-3000:]
    return wd, targets


def test_damaged_intermediates_are_rebuilt(faraday_done, tmp_path):
    """A half-truncated calibrated file and a raw file overwritten with garbage: the next run
    moves both aside (nothing deleted), says so in one line each, rebuilds them and what was
    made from them, and ends with the same numbers."""
    wd, targets = faraday_done
    keep = tmp_path / "keep"
    for rel in ("results/calibrated/faraday_sm.nc", "results/raw/faraday_sp.nc", targets[0]):
        (keep / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(wd / rel, keep / rel)
    cal = wd / "results/calibrated/faraday_sm.nc"
    cal.write_bytes(cal.read_bytes()[: cal.stat().st_size // 2])
    (wd / "results/raw/faraday_sp.nc").write_bytes(b"\x00garbage" * 1000)
    res = run_snakemake(
        wd, *targets, "results/raw/faraday_sp.nc", "results/calibrated/faraday_sm.nc"
    )
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("mohilbert: results/")]
    assert len(lines) == 2, res.stderr[-3000:]
    assert lines[0].startswith(
        "mohilbert: results/raw/faraday_sp.nc is damaged (not a netCDF-4/HDF5 file"
    ), lines
    assert lines[0].endswith(
        "moved it to results/damaged/raw/faraday_sp.nc: the workflow rebuilds it when a target "
        "needs it"
    ), lines
    assert lines[1].startswith(
        "mohilbert: results/calibrated/faraday_sm.nc is damaged (truncated file: "
    )
    assert (wd / "results/damaged/calibrated/faraday_sm.nc").stat().st_size > 0
    assert "Traceback" not in res.stderr and "OSError" not in res.stderr
    for rel in ("results/calibrated/faraday_sm.nc", "results/raw/faraday_sp.nc", targets[0]):
        a, b = load_dataset(wd / rel), load_dataset(keep / rel)
        a.attrs.pop("history"), b.attrs.pop("history")
        xr.testing.assert_allclose(a, b)


def test_foreign_intermediate_is_one_line(faraday_done, tmp_path):
    """A readable netCDF that mohilbert did not write (e.g. copied in by hand): the consumer
    stops with one line naming the file and the fix, not a traceback (the calibrate script
    read its input outside the error handler)."""
    src, _ = faraday_done
    wd = tmp_path / "wf"
    shutil.copytree(src, wd, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    _small_dataset().to_netcdf(wd / "results/raw/faraday_pol.nc", engine="h5netcdf")
    res = run_snakemake(wd, "results/calibrated/faraday_pol.nc")
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("mohilbert: calibrate")]
    assert len(lines) == 1, res.stderr[-3000:]
    assert lines[0].endswith(
        "DamagedFileError: results/raw/faraday_pol.nc is damaged (not written by mohilbert "
        "(no mohilbert_version attribute)); rerun the workflow (bash run.sh demo): it moves "
        "damaged files to results/damaged/ and rebuilds them"
    ), lines
    assert "Traceback" not in res.stderr


# ----------------------------------------------------------------------- full disk (item 2)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A small tmpfs mount (needs root); yields a function that mounts it at a path."""
    mounted = []

    def mount(path: Path, size: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder: Path, leave_bytes: int) -> None:
    """Fill the file system of ``folder`` up to ``leave_bytes`` free."""
    st = shutil.disk_usage(folder)
    with open(folder / "filler", "wb") as fh:
        fh.write(b"\0" * max(0, st.free - leave_bytes))


def test_full_disk_cli(small_tmpfs, tmp_path):
    """`mohilbert ingest x.csv -o <full disk>/x.nc`: one line, exit 1 (it crashed with
    SIGSEGV, exit 139), no temporary file, the previous good output unchanged."""
    disk = small_tmpfs(tmp_path / "disk", "2m")
    src = REPO / "data/raw/demo/C1--faraday_sp.csv"
    cmd = [sys.executable, "-m", "mohilbert.cli", "ingest", str(src), "-o", str(disk / "x.nc")]
    first = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    before = (disk / "x.nc").read_bytes()
    _fill(disk, 4096)
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert res.stderr.strip().splitlines() == [
        f"mohilbert ingest: OutputError: no space left on device while writing {disk / 'x.nc'} "
        "(0.0 MB free); free some space (or move results/ to a larger disk) and run again: the "
        "previous version of the file, if any, is unchanged"
    ]
    assert (disk / "x.nc").read_bytes() == before
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "x.nc"]


def test_full_disk_workflow(small_tmpfs, tmp_path):
    """results/ on a small tmpfs that fills up before calibrate writes: the job stops with one
    line naming the file, no temporary is left, the raw stage's file is intact, and the run
    finishes once space is freed."""
    wd = demo_workspace(tmp_path / "wf", runs=("faraday_sp",))
    results = small_tmpfs(wd / "results", "3m")
    res = run_snakemake(wd, "results/raw/faraday_sp.nc")
    assert res.returncode == 0, res.stderr[-3000:]
    raw_before = (results / "raw/faraday_sp.nc").read_bytes()
    _fill(results, 64 * 1024)
    res = run_snakemake(wd, "results/calibrated/faraday_sp.nc")
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("mohilbert: calibrate")]
    assert len(lines) == 1, res.stderr[-3000:]
    assert (
        "OutputError: no space left on device while writing results/calibrated/faraday_sp.nc"
        in lines[0]
    )
    assert "Segmentation" not in res.stderr and "__dealloc__" not in res.stderr
    assert not list(results.rglob("*.tmp"))
    assert not (results / "calibrated/faraday_sp.nc").exists()
    assert (results / "raw/faraday_sp.nc").read_bytes() == raw_before
    (results / "filler").unlink()
    res = run_snakemake(wd, "results/calibrated/faraday_sp.nc")
    assert res.returncode == 0, res.stderr[-3000:]


# ------------------------------------------------------------------ process hygiene (item 8)


def _processes_in(wd: Path) -> list[str]:
    """Command lines of live processes whose working directory is ``wd``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(proc / "cwd").resolve() == wd.resolve():
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if cmd.strip():
                    found.append(cmd)
        except OSError:
            continue
    return found


def test_jobs_stop_when_snakemake_is_killed(faraday_done, tmp_path):
    """kill -9 of Snakemake mid-fit: the fit job notices, stops and writes nothing (it ran on
    as an orphan and wrote its output later)."""
    import os
    import signal
    import time

    from conftest import snakemake_cmd

    src, _ = faraday_done
    wd = tmp_path / "wf"
    shutil.copytree(src, wd, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    (wd / "results/fits/faraday.nc").unlink()
    log = wd / "results/logs/fit/faraday.log"
    log.unlink()
    proc = subprocess.Popen(
        snakemake_cmd("results/fits/faraday.nc"),
        cwd=wd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (log.exists() and "start" in log.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "fit never started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15
        while _processes_in(wd) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_in(wd) == []
        time.sleep(8)  # longer than the fit takes: an orphan would have written by now
        assert not (wd / "results/fits/faraday.nc").exists()
        assert not list((wd / "results").rglob("*.tmp"))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_prune_removes_results_of_rows_no_longer_in_the_sheet(faraday_done, tmp_path):
    src, _ = faraday_done
    wd = tmp_path / "wf"
    shutil.copytree(src, wd, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    sheet = wd / "config/runs.tsv"
    lines = sheet.read_text().splitlines()
    sheet.write_text("\n".join(ln for ln in lines if not ln.startswith("faraday_pol\t")) + "\n")
    owned = sorted(
        p.relative_to(wd).as_posix() for p in (wd / "results").rglob("*faraday_pol*") if p.is_file()
    )
    assert "results/calibrated/faraday_pol.nc" in owned and "results/raw/faraday_pol.nc" in owned
    cmd = [sys.executable, "-m", "mohilbert.cli", "prune"]
    dry = subprocess.run([*cmd, "--dry-run"], cwd=wd, capture_output=True, text=True, check=False)
    assert dry.returncode == 0, dry.stderr
    assert [ln.split(" ", 2)[2] for ln in dry.stdout.splitlines()[:-1]] == owned
    assert (wd / "results/raw/faraday_pol.nc").exists()
    res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert (
        res.stdout.splitlines()[-1]
        == f"{len(owned)} file(s) of runs or experiments not in config/runs.tsv"
    )
    assert not list((wd / "results").rglob("*faraday_pol*"))
    assert (wd / "results/calibrated/faraday_sp.nc").exists()
    assert (wd / "results/fits/faraday.nc").exists()
