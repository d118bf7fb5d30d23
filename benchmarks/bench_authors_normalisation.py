"""Benchmark (issue 19): our calibrated spectra of the paper's runs against the authors' hand
processing, and each run's dark level beside the scope range it was recorded at.

For every calibrated run of the paper target (``<results>/calibrated/<run>.nc``) this finds
the eight line minima and the seven transmission maxima between them, in our spectrum and in
the authors' (``paper_figures/data/<beam>/poly7/<power>.npz``: their crop, cavity polynomial, dark
and 7th-order normalisation). Minima and maxima do not depend on either frequency axis, so
their difference (ours − authors', in % of transmission) is the difference of the two
normalisations alone. Beside it, from the raw exports: the dark trace's mean [mV], the
signal's mean [mV] and its smallest sample step [µV], which follows the scope's vertical
range. The authors subtract the lowest power's dark from every power; we subtract each
run's own, recorded with the same scope settings: where the scope's zero moved with its
settings, the two differ at a line minimum by about (1 − T) × (dark difference) / signal.

    .venv/bin/python benchmarks/bench_authors_normalisation.py RESULTS_DIR [--series T81]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paper import DATA, REPO

from mohilbert.io.netcdf import load_dataset
from mohilbert.io.scope import followed_link_file, read_scope

LINES = 8


def extrema(x_MHz: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transmission at the ``LINES`` deepest minima (in order of frequency) and at the
    maxima between neighbouring ones, after a 60 MHz running mean."""
    step = float(np.median(np.diff(x_MHz)))
    smooth = uniform_filter1d(t, max(1, round(60 / step)))
    idx, _ = find_peaks(-smooth, distance=max(1, round(400 / step)), prominence=0.003)
    if idx.size < LINES:
        return np.array([]), np.array([])
    idx = np.sort(idx[np.argsort(smooth[idx])[:LINES]])
    tops = [a + int(np.argmax(smooth[a:b])) for a, b in zip(idx[:-1], idx[1:], strict=True)]
    return smooth[idx], smooth[np.array(tops)]


def raw_levels(path: Path) -> tuple[float, float]:
    """Mean [mV] and smallest sample step [µV] of one raw export."""
    ds = read_scope(path)
    v = ds[next(iter(ds.data_vars))].values
    steps = np.diff(np.unique(v))
    return 1e3 * float(v.mean()), 1e6 * float(steps[steps > 0].min())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="results folder of a paper-target run")
    ap.add_argument("--series", default="", help="only runs whose name starts with this")
    args = ap.parse_args()
    sheet = pd.read_csv(REPO / "config" / "hip-paper" / "runs.tsv", sep="\t", comment="#")
    rows = []
    for _, row in sheet.iterrows():
        run = row["run"]
        cal_path = Path(args.results) / "calibrated" / f"{run}.nc"
        if not run.startswith(args.series) or not cal_path.exists():
            continue
        folder = DATA / Path(row["signal_file"]).parts[0]
        power = Path(row["signal_file"]).stem.split("--")[1]
        cal = load_dataset(cal_path)
        ok = np.isfinite(cal["transmission"].values)
        ours = extrema(cal["detuning"].values[ok], cal["transmission"].values[ok])
        with np.load(followed_link_file(folder / "poly7" / f"{power}.npz")) as f:
            order = np.argsort(f["x"])
            theirs = extrema(f["x"][order], f["y"][order])
        dark_mV, _ = raw_levels(DATA / row["dark_file"])
        signal_mV, quantum_uV = raw_levels(DATA / row["signal_file"])
        rec = {
            "run": run,
            "P_W": row["probe_power_W"],
            "dark_mV": dark_mV,
            "signal_mV": signal_mV,
            "quantum_uV": quantum_uV,
        }
        if ours[0].size and theirs[0].size:
            d_min = 100 * (ours[0] - theirs[0])
            d_max = 100 * (ours[1] - theirs[1])
            rec.update(
                min_closed_side=float(np.mean(d_min[:4])),
                min_open_side=float(np.mean(d_min[4:])),
                max_rms=float(np.sqrt(np.mean(d_max**2))),
                max_worst=float(d_max[np.argmax(np.abs(d_max))]),
            )
        rows.append(rec)
    table = pd.DataFrame(rows)
    table = table.assign(temp=table["run"].str.split("_").str[0]).sort_values(["temp", "P_W"])
    table = table.drop(columns="temp")
    print(
        "ours - authors' transmission [%]: mean over the four closed-side (6-11 GHz) and the "
        "four open-side minima; RMS and largest over the seven maxima between lines"
    )
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
