"""Every process-wide cache is in the registry (mohilbert.caches), and a benchmark's cold
timing starts with all of them empty (issue 40: the intense-probe lattices were left filled,
and the "cold" figure was 8x too good)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import MutableMapping, MutableSequence, MutableSet

import numpy as np
from conftest import REPO

import mohilbert
from mohilbert import caches


def _modules():
    out = []
    for info in pkgutil.walk_packages(mohilbert.__path__, "mohilbert."):
        out.append(importlib.import_module(info.name))
    return out


def _containers(modules):
    """Module-level mutable containers: (module.name, object)."""
    found = {}
    for mod in modules:
        for name, obj in vars(mod).items():
            if isinstance(obj, MutableMapping | MutableSequence | MutableSet) and not (
                name.startswith("__")
            ):
                found[f"{mod.__name__}.{name}"] = obj
    return found


def _compute():
    """Theory, intense probe (flat and Gaussian beam) and the Hilbert transform: the calls
    the benchmarks time."""
    from mohilbert.intense import Probe
    from mohilbert.kramers_kronig import index_from_od
    from mohilbert.theory import Cell, intense_arrays, spectrum_arrays

    x = np.linspace(5500, 18000, 300)
    cell = Cell(length_m=2e-3, temperature_C=62.0, field_T=0.6, isotope_percent={"87Rb": 100})
    spectrum_arrays(x, cell, "sigma_plus")
    intense_arrays(x, cell, "sigma_plus", Probe(1e-6, 0.5e-3))
    intense_arrays(x, cell, "sigma_plus", Probe(1e-6, 0.5e-3, "gaussian", z_slices=2))
    od = np.exp(-(((x - 9000) / 300) ** 2))
    index_from_od(x, od, 2 * np.pi / 780e-9 * 2e-3)


def test_every_cache_is_registered_and_cleared():
    modules = _modules()
    lru = {
        f"{mod.__name__}.{name}"
        for mod in modules
        for name, obj in vars(mod).items()
        if hasattr(obj, "cache_clear")
        and hasattr(obj, "cache_info")
        and getattr(obj, "__module__", None) == mod.__name__
    }
    missing = lru - set(caches.names())
    assert not missing, f"lru caches not registered in mohilbert.caches: {sorted(missing)}"
    containers = _containers(modules)
    before = {k: len(v) for k, v in containers.items()}
    _compute()
    grown = {k for k, v in containers.items() if len(v) > before[k]}
    unregistered = grown - set(caches.names())
    assert not unregistered, f"module-level caches filled but not registered: {unregistered}"
    sizes = caches.sizes()
    assert sizes["mohilbert.intense._LATTICES"] > 0  # the computation filled them
    assert sizes["mohilbert.atoms.hamiltonian.line_list"] > 0
    caches.clear()
    assert all(v == 0 for v in caches.sizes().values()), caches.sizes()
    assert all(len(containers[k]) <= before[k] for k in grown)


def test_cold_timing_starts_with_every_cache_empty():
    """The benchmarks' cold path: when the timed call starts, no registered cache holds
    anything, however often it was called before (the old bench_intense 'cold' cleared the
    atomic-structure caches only, and the lattices of the first repeat served the rest)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import _timing
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    seen = []

    def call():
        seen.append(sum(caches.sizes().values()))
        _compute()

    _timing.cold(call, repeat=3)
    assert seen == [0, 0, 0]
    seen.clear()
    _timing.warm(call, repeat=2)
    assert seen[0] >= 0 and all(s > 0 for s in seen[1:])  # warm reuses them
    assert "mohilbert.intense._LATTICES".removeprefix("mohilbert.") in _timing.statement()


def test_register_refuses_what_is_not_a_cache():
    import pytest

    with pytest.raises(TypeError) as err:
        caches.register("mohilbert.x.y", 3)
    assert str(err.value) == "mohilbert.x.y: a cache must be an lru_cache wrapper or a mapping"
    assert "mohilbert.x.y" not in caches.names()
