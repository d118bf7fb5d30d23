"""Benchmark: mohilbert side by side with ElecSus 3.0.8 in one run (issue 17), as ratios.

Rb natural D2, 2 mm, 80 °C, 0.6 T. Every case is timed interleaved (ElecSus, then mohilbert
default, then mohilbert's ElecSus drop-in ``get_spectra``), one BLAS thread each, median of
``REPEAT``; mohilbert "cold": every mohilbert cache cleared before each call (``_timing.cold``:
as a first call in a new process; a fit of B reuses them within one fit). ElecSus runs from ../shared/peers in its own venv (.venv-peers, created on
first use); without ../shared only mohilbert's times are printed.

Goals: ElecSus mode >= 10x at 20 001 and 200 001 points and >= 50x on the fit; default
model >= 25x Faraday/Voigt at 20 001, >= 20x at 2 001, >= 400x at theta = 45 deg.

    .venv/bin/python benchmarks/bench_vs_elecsus.py [--no-fit] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = "1"

import _timing  # noqa: E402
import numpy as np  # noqa: E402
from _peers import ElecSus, elecsus_missing  # noqa: E402

from mohilbert.fitting import FitSpectrum, fit_spectra  # noqa: E402
from mohilbert.theory import Cell, get_spectra, spectrum_arrays  # noqa: E402

P_DICT = {"Elem": "Rb", "Dline": "D2", "T": 80.0, "lcell": 2e-3, "Bfield": 6000.0}
CASES = [
    # label, points, theta [rad], mohilbert input polarisation, ElecSus E_in, goal x default
    ("Faraday", 20001, 0.0, "x", [1, 0, 0], 25),
    ("Voigt", 20001, np.pi / 2, "linear:45", [2**-0.5, 2**-0.5, 0], 25),
    ("theta = 45 deg", 20001, np.pi / 4, "linear:45", [2**-0.5, 2**-0.5, 0], 400),
    ("Faraday", 2001, 0.0, "x", [1, 0, 0], 20),
    ("Faraday", 200001, 0.0, "x", [1, 0, 0], None),
]
SPAN = (-25000.0, 25000.0)


def cold(fn):
    """Wall time [s] of one first-use call (every mohilbert cache cleared: _timing.cold)."""
    return _timing.cold(fn)[0]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--no-fit", action="store_true")
    args = ap.parse_args()
    why = elecsus_missing()
    peer = None if why else ElecSus()
    if why:
        print(why)
    print(
        f"Rb nat. D2, 2 mm, 80 degC, 0.6 T; median of {args.repeat}, interleaved, one BLAS "
        "thread; mohilbert cold"
    )
    print(_timing.statement())
    print(
        f"{'case':22s} {'ElecSus':>9s} {'default':>9s} {'ratio':>7s} {'goal':>5s}"
        f" {'get_spectra':>11s} {'ratio':>7s} {'goal':>5s}"
    )
    for label, n, theta, pol, e_in, goal in CASES:
        x = np.linspace(*SPAN, n)
        cell = Cell(length_m=2e-3, temperature_C=80, field_T=0.6, field_theta_deg=np.degrees(theta))
        p = {**P_DICT, "Btheta": theta}
        spectrum_arrays(x, cell, pol)  # imports, first-call costs
        get_spectra(x, e_in, p, outputs=["S0", "S1", "S2", "S3"])
        t_es, t_de, t_gs = [], [], []
        for _ in range(args.repeat):
            if peer:
                t_es.append(peer.spectrum((*SPAN, n), e_in, p))
            t_de.append(cold(lambda: spectrum_arrays(x, cell, pol)))  # noqa: B023
            t_gs.append(cold(lambda: get_spectra(x, e_in, p, outputs=["S0", "S1", "S2", "S3"])))  # noqa: B023
        es, de, gs = median(t_es), median(t_de), median(t_gs)
        goal_gs = 10 if n >= 20001 and theta == 0 else None
        print(
            f"{label + f', {n} pts':22s} {es:8.4f}s {de:8.4f}s {es / de:6.1f}x {goal or '':>5}"
            f" {gs:10.4f}s {es / gs:6.1f}x {goal_gs or '':>5}"
        )
    if args.no_fit:
        return
    xf = np.linspace(-20000, 20000, 5000)
    cell = Cell(length_m=2e-3, temperature_C=80, field_T=0.6)
    y = get_spectra(xf, [1, 0, 0], P_DICT, outputs=["S0"])[0]
    y = y + np.random.default_rng(0).normal(0, 2e-3, xf.size)
    start = {**P_DICT, "T": 75.0, "Bfield": 5900.0}  # the same start for both programs
    free = {"T": True, "Bfield": True}
    es = peer.fit((-20000, 20000, 5000), y, [1, [0, 0]], start, free) if peer else None
    t_es = es["seconds"] if es else float("nan")
    spec = [FitSpectrum(xf, y, "S0", "x", sigma=np.full(xf.size, 2e-3))]
    found = {}

    def fit(conventions):
        found[conventions] = fit_spectra(
            spec,
            cell.with_(temperature_C=75, field_T=0.59, conventions=conventions),
            ["temperature_C", "field_T"],
        )

    t_de = cold(lambda: fit("textbook"))
    t_gs = cold(lambda: fit("elecsus"))
    print(
        f"{'fit T, B, 5000 pts':22s} {t_es:8.2f}s {t_de:8.3f}s {t_es / t_de:6.0f}x {'':>5}"
        f" {t_gs:10.3f}s {t_es / t_gs:6.0f}x {50:>5}"
    )
    print("  fits from T = 75 degC, B = 0.59 T to data made at 80 degC, 0.6 T (ElecSus mode):")
    if es:
        print(
            f"  ElecSus: T = {es['values']['T']:.3f} degC, B = {es['values']['Bfield'] / 1e4:.5f} T"
            f" ({es['nfev']} evaluations)"
        )
    for conv, r in found.items():
        print(
            f"  mohilbert ({conv}): T = {r.values['temperature_C']:.3f} degC, "
            f"B = {r.values['field_T']:.5f} T ({r.nfev} evaluations)"
        )
    if peer:
        peer.close()


if __name__ == "__main__":
    main()
