"""Real Snakemake DAG runs of the ingest stage in a temporary directory."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import copy_workflow, run_snakemake, scheduled_jobs

from mohilbert.io import load_dataset
from mohilbert.io.writers import write_lecroy_csv, write_tek_mso_csv

pytestmark = pytest.mark.slow
HEADER = "run\texperiment\tfile\tsignal\tsignal_file\tetalon\tetalon_file\tgeometry\tpolarisation\tcell_length_m\ttemperature_C\tfield_T\tetalon_fsr_MHz"
V = np.random.default_rng(11).normal(1.0, 0.01, 300)


def _row(run, **kw):
    d = dict(
        run=run,
        experiment="e",
        file="",
        signal="C4",
        signal_file=f"C4--{run}.csv",
        etalon="",
        etalon_file="",
        geometry="faraday",
        polarisation="sigma_plus",
        cell_length_m=0.002,
        temperature_C=100,
        field_T=0.6,
        etalon_fsr_MHz="",
    )
    d.update(kw)
    return "\t".join(str(d[k]) for k in HEADER.split("\t"))


def _setup(tmp_path, runs, with_src=False):
    wd = copy_workflow(tmp_path / "wf", with_src=with_src)
    raw = wd / "data" / "raw"
    for r in runs:
        write_lecroy_csv(raw / f"C4--{r}.csv", -1e-3, 1e-5, V * (1 + 0.1 * len(r)))
    write_tek_mso_csv(raw / "multi.csv", -1e-3, 1e-5, {"CH1": V, "CH2": V / 2})
    return wd


def _sheet(wd, rows):
    (wd / "config" / "runs.tsv").write_text("\n".join([HEADER, *rows]) + "\n")
    # these synthetic runs have no etalon: ask for the ingest stage only
    return [f"results/raw/{r.split(chr(9))[0]}.nc" for r in rows]


def _mtimes(wd):
    return {p.name: p.stat().st_mtime_ns for p in (wd / "results" / "raw").glob("*.nc")}


def test_incremental_reanalysis(tmp_path):
    wd = _setup(tmp_path, ["a", "b", "c"], with_src=True)
    env = {"PYTHONPATH": str(wd / "src")}
    rows = [
        _row("a"),
        _row(
            "b", file="multi.csv", signal="CH1", signal_file="", etalon="CH2", etalon_fsr_MHz=1500
        ),
    ]
    targets = _sheet(wd, rows)
    first = run_snakemake(wd, *targets, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert scheduled_jobs(first, "ingest") == 2
    ds = load_dataset(wd / "results" / "raw" / "b.nc")
    np.testing.assert_allclose(ds.etalon.values, V / 2, rtol=1e-7)
    before = _mtimes(wd)

    # nothing changed: nothing runs
    noop = run_snakemake(wd, *targets, env=env)
    assert noop.returncode == 0 and scheduled_jobs(noop, "ingest") == 0, noop.stderr[-2000:]

    # one run added: only its ingest job runs
    targets = _sheet(wd, [*rows, _row("c")])
    second = run_snakemake(wd, *targets, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert scheduled_jobs(second, "ingest") == 1
    after = _mtimes(wd)
    assert after["a.nc"] == before["a.nc"] and after["b.nc"] == before["b.nc"]
    assert "c.nc" in after

    # a library module that ingest runs is edited: every ingest job reruns
    module = wd / "src" / "mohilbert" / "io" / "scope.py"
    module.write_text(module.read_text() + "\n# edited by the incremental test\n")
    third = run_snakemake(wd, *targets, env=env)
    assert third.returncode == 0, third.stderr[-3000:]
    assert scheduled_jobs(third, "ingest") == 3
    assert all(v != after[k] for k, v in _mtimes(wd).items())


def test_bad_run_does_not_stop_the_others(tmp_path):
    wd = _setup(tmp_path, ["good", "bad"])
    raw = wd / "data" / "raw"
    bad = raw / "C4--bad.csv"
    bad.write_text(bad.read_text()[:-2000])  # cut mid-row
    shas = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}
    targets = _sheet(wd, [_row("bad"), _row("good")])
    res = run_snakemake(wd, *targets)
    assert res.returncode != 0
    assert (wd / "results" / "raw" / "good.nc").exists()
    assert not (wd / "results" / "raw" / "bad.nc").exists()
    assert not list((wd / "results" / "raw").glob(".*tmp"))
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("mohilbert: ")]
    assert len(lines) == 1, res.stderr[-3000:]
    assert "ingest bad" in lines[0] and "C4--bad.csv" in lines[0] and "truncated" in lines[0]
    assert shas == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}
    good = load_dataset(wd / "results" / "raw" / "good.nc")
    np.testing.assert_allclose(good.signal.values, V * 1.4, rtol=1e-5)


def test_sheet_error_stops_before_any_job(tmp_path):
    wd = _setup(tmp_path, ["a"])
    _sheet(wd, [_row("a"), _row("a")])
    res = run_snakemake(wd)
    assert res.returncode != 0
    assert "duplicate run id 'a' in rows 2 and 3, column 'run'" in res.stderr
    assert not (wd / "results").exists()


def _edit_sheet(wd, column, change):
    """Apply ``change(run, value) -> value`` to one column of every row of the sheet."""
    path = wd / "config" / "runs.tsv"
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    k = header.index(column)
    out = [lines[0]]
    for ln in lines[1:]:
        cells = ln.split("\t")
        cells[k] = str(change(cells[0], cells[k]))
        out.append("\t".join(cells))
    path.write_text("\n".join(out) + "\n")


def test_narrow_params_rerun_only_what_an_edit_concerns(tmp_path):
    """Issue 16 item 5: each rule gets only the sheet values its step reads. A notes edit or a
    moved checkout reruns nothing; a nominal-temperature edit of one experiment reruns its
    calibrate, fit and hilbert jobs (and the aggregates), not its ingest and not the other
    experiment."""
    import shutil

    from conftest import demo_workspace

    runs = ("faraday_sp", "faraday_sm", "voigt_par", "voigt_perp")
    wd = demo_workspace(tmp_path / "wf", runs=runs)
    targets = [f"results/hilbert/{e}.nc" for e in ("faraday", "voigt")]
    first = run_snakemake(wd, *targets, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]

    _edit_sheet(wd, "notes", lambda run, v: v + " (edited)")
    moved = tmp_path / "moved"
    shutil.move(wd, moved)
    noop = run_snakemake(moved, *targets, "--dry-run")
    assert noop.returncode == 0, noop.stderr[-2000:]
    assert "Nothing to be done" in noop.stdout + noop.stderr, (noop.stdout + noop.stderr)[-3000:]

    _edit_sheet(moved, "temperature_C", lambda run, v: "86.0" if run.startswith("voigt") else v)
    # the default profile keeps rule listings off the console: ask for them here
    dry = run_snakemake(moved, *targets, "--dry-run", "--quiet", "host")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert scheduled_jobs(dry, "ingest") == 0
    assert scheduled_jobs(dry, "calibrate") == 2
    assert scheduled_jobs(dry, "fit") == 1 and scheduled_jobs(dry, "hilbert") == 1
    text = dry.stdout + dry.stderr
    assert "results/calibrated/voigt_par.nc" in text and "results/fits/faraday.nc" not in text
