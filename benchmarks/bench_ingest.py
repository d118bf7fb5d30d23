"""Benchmark: read a 10^6-point, 4-channel oscilloscope CSV (Tektronix MSO layout).

Prints the median wall time of read_scope over 5 reads and the peak resident memory of a fresh
process that only imports mohilbert and reads the file once (baseline after imports given too).
Target (issue 2): <= 1 s on the 2-core reference machine.

    .venv/bin/python benchmarks/bench_ingest.py [n_points]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mohilbert.io import read_scope
from mohilbert.io.writers import write_tek_mso_csv

CHILD = """
import sys
from mohilbert.io import read_scope
def hwm():  # peak resident set of this process [kB] (ru_maxrss is inherited across fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = hwm()
ds = read_scope(sys.argv[1])
print(base, hwm())
"""


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        chans = {f"CH{i}": rng.normal(0, 0.1, n) for i in range(1, 5)}
        write_tek_mso_csv(path, -0.025, 5e-8, chans)
        size_mb = path.stat().st_size / 2**20
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            ds = read_scope(path)
            times.append(time.perf_counter() - t0)
        assert ds.sizes["time"] == n
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
        ).stdout.split()
        base, peak = (int(v) / 1024 for v in out)
    print(f"read_scope: {n} points x 4 channels, Tek MSO CSV of {size_mb:.1f} MB")
    print(
        f"  median {statistics.median(times):.3f} s  (min {min(times):.3f} s, max {max(times):.3f} s)"
    )
    print(
        f"  peak RSS {peak:.0f} MB (after imports {base:.0f} MB; +{peak - base:.0f} MB for the read;"
        f" data itself {5 * n * 8 / 2**20:.0f} MB as float64)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
