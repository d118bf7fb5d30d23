"""How the benchmarks time a library call: cold (first use) or warm (caches reused), one helper.

- :func:`cold` empties every process-wide cache the computation fills (the registry
  :mod:`mohilbert.caches`: atomic structure and line lists, line-shape and Hilbert kernels,
  quadrature rules, the intense-probe saturation lattices) before *each* timed call, so the
  figure is what a first call in a new process pays (imports aside).
- :func:`warm` makes one untimed call that fills the caches, then times repeats that reuse
  them: what a fit or a scan pays per evaluation after its first.

Every benchmark that times library calls prints :func:`statement` so its output says which
kind each figure is. ``tests/test_caches.py`` checks that :func:`cold` leaves no registered
cache filled when the timed call starts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from mohilbert import caches


def statement() -> str:
    """One paragraph for a benchmark's output: what 'cold' and 'warm' mean there."""
    return (
        "cold: every process-wide cache cleared before each timed call ("
        + ", ".join(name.removeprefix("mohilbert.") for name in caches.names())
        + "); warm: the same caches kept, filled by one untimed call first. "
        "Objects a call builds for itself (a ProbeResponse, a fit's spectra) are never reused "
        "across calls."
    )


def cold(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median wall time [s] of ``repeat`` first-use calls of ``fn``, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        caches.clear()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def warm(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median wall time [s] of ``repeat`` calls of ``fn`` after one untimed call that fills
    the caches, and the last result."""
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out
