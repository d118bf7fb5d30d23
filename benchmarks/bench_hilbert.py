"""Benchmark: Hilbert transform of a 10^6-point optical-depth spectrum with uncertainty.

Target (issue 6): <= 0.2 s on the 2-core machine. Prints the time for FFT lengths of 2, 4 and 8
record lengths, with 1 and 2 FFT threads, including the uncertainty propagation. The transform
is the linear convolution with the discrete Hilbert kernel, exact (no wrap-around) already at
x2, the default; larger factors only cost time.

    .venv/bin/python benchmarks/bench_hilbert.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _timing

from mohilbert.kramers_kronig import index_from_od


def main(n: int = 1_000_000) -> None:
    x = np.linspace(-30000, 30000, n)
    od = 2.0 * np.exp(-(((x - 3000) / 300) ** 2)) + 1.0 * np.exp(-(((x + 8000) / 400) ** 2))
    sigma = np.full(n, 0.01)
    kl = 2 * np.pi / 780.24e-9 * 2e-3
    print(_timing.statement())
    print(f"index_from_od on {n} points (transform + uncertainty), median of 5:")
    for pad in (2, 4, 8):
        for workers in (1, 2):
            call = lambda p=pad, w=workers: index_from_od(  # noqa: E731
                x, od, kl, od_sigma=sigma, pad_factor=p, workers=w
            )
            t_cold, _ = _timing.cold(call, 5)
            t_warm, _ = _timing.warm(call, 5)
            print(
                f"  pad x{pad}, {workers} FFT thread(s): cold {t_cold:.3f} s, warm {t_warm:.3f} s"
            )


if __name__ == "__main__":
    main()
