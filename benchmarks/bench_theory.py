"""Benchmark: theory spectra and fits (issue 3 targets, ElecSus figures for comparison).

Rb D2 natural abundance, 0.6 T, 2 mm, 80 °C, 20 001 points over ±25 GHz:
  targets <= 18 ms (Faraday, Voigt), <= 25 ms (theta = 45 deg, exact propagation);
  ElecSus 3.0.8 on this machine: 185 ms / 179 ms / 5.3 s.
Fit of T and B to a 5000-point S0 spectrum: target <= 1.2 s (ElecSus 24.9 s, 192 evaluations).
Also prints the accuracy of the FFT line-sum path against the direct sum.

    .venv/bin/python benchmarks/bench_theory.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _timing

from mohilbert.atoms.susceptibility import susceptibility
from mohilbert.fitting import FitSpectrum, fit_spectra
from mohilbert.theory import Cell, spectrum_arrays


def timed(fn, repeat: int) -> tuple[float, float]:
    """Warm median and best [s] (caches filled by one untimed call, as a fit or a scan has
    them), and the cold figure of one first-use call."""
    med, _ = _timing.warm(fn, repeat)
    return med, _timing.cold(fn)[0]


def main() -> None:
    x = np.linspace(-25000, 25000, 20001)
    cell = Cell(length_m=2e-3, temperature_C=80, field_T=0.6)
    cases = [
        ("Faraday, sigma_plus", cell, "sigma_plus", 18),
        ("Voigt, 45 deg input", cell.with_(field_theta_deg=90), "linear:45", 18),
        ("theta = 45 deg, exact", cell.with_(field_theta_deg=45), "linear:45", 25),
    ]
    print(_timing.statement())
    print("theory spectrum, Rb D2 nat., 0.6 T, 2 mm, 80 degC, 20001 points (warm: median of 30)")
    for label, c, pol, target in cases:
        med, first = timed(lambda c=c, pol=pol: spectrum_arrays(x, c, pol), 30)
        print(
            f"  {label:24s} warm {med * 1e3:6.1f} ms (cold {first * 1e3:5.1f} ms; target {target} ms)"
        )
    p = cell.medium()
    direct = susceptibility(x, p, method="direct")
    fast = susceptibility(x, p, method="fft")
    print(
        f"  FFT vs direct line sum: max |d chi| / max |chi| = {np.abs(fast - direct).max() / np.abs(direct).max():.1e}"
    )
    med, _ = timed(lambda: susceptibility(x, p, method="direct"), 3)
    print(f"  (direct line sum alone: {med * 1e3:.0f} ms)")

    xf = np.linspace(-20000, 20000, 5000)
    y = spectrum_arrays(xf, cell, "x")["S0"] + np.random.default_rng(0).normal(0, 2e-3, xf.size)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        r = fit_spectra(
            [FitSpectrum(xf, y, "S0", "x", sigma=np.full(xf.size, 2e-3))],
            cell.with_(temperature_C=70, field_T=0.55),
            ["temperature_C", "field_T"],
        )
        runs.append(time.perf_counter() - t0)
    print(
        f"fit of T and B to a 5000-point S0 spectrum: {statistics.median(runs):.2f} s median "
        f"({r.nfev} evaluations; T = {r.values['temperature_C']:.3f} +- {r.stderr['temperature_C']:.3f} degC,"
        f" B = {r.values['field_T']:.5f} +- {r.stderr['field_T']:.5f} T; target 1.2 s)"
    )


if __name__ == "__main__":
    main()
