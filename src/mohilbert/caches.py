"""Every process-wide cache the computations fill, in one registry.

The physics layer keeps work between calls: atomic structure and line lists per field
(:mod:`mohilbert.atoms.hamiltonian`), line-shape kernels (:mod:`mohilbert.atoms.susceptibility`),
the Hilbert kernel (:mod:`mohilbert.kramers_kronig`), quadrature rules and the saturation
solves on the δ-lattice (:mod:`mohilbert.intense`). A fit or a scan gains from them; a
benchmark's "cold" (first-use) figure must not. Each module registers its caches here where it
defines them, so that :func:`clear` empties all of them and :func:`sizes` says what is held;
``tests/test_caches.py`` fails when a module-level cache is added without registering it.

This module imports nothing of mohilbert: every layer may register here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: name -> (clear, size): two callables per cache
_REGISTRY: dict[str, tuple[Callable[[], None], Callable[[], int]]] = {}


def register(name: str, cache: Any) -> Any:
    """Register ``cache`` under ``name`` (``"<module>.<object>"``) and return it unchanged.

    Parameters
    ----------
    name
        Where the cache lives, e.g. ``"mohilbert.intense._LATTICES"``.
    cache
        A :func:`functools.lru_cache` wrapper (``cache_clear``, ``cache_info``) or a mapping
        (``clear``, ``len``).

    Returns
    -------
    The ``cache`` itself, so that it can wrap a definition::

        _TABLE = caches.register("mohilbert.x._TABLE", {})
    """
    if hasattr(cache, "cache_clear") and hasattr(cache, "cache_info"):
        _REGISTRY[name] = (cache.cache_clear, lambda: cache.cache_info().currsize)
    elif hasattr(cache, "clear") and hasattr(cache, "__len__"):
        _REGISTRY[name] = (cache.clear, lambda: len(cache))
    else:
        raise TypeError(f"{name}: a cache must be an lru_cache wrapper or a mapping")
    return cache


#: compiled kernels by "<module>.<function>" (:func:`compiled`)
_KERNELS: dict[str, Any] = {}


def compiled(func: Callable, parallel: bool = False) -> Callable:
    """``func`` compiled to machine code by numba (``njit``), made on first use and kept.

    The kernels of the physics layer (loops per detuning that the interpreter would run one
    element at a time) are plain Python functions compiled here: numba is imported only by a
    process that needs one, and its machine code is cached on disk beside the module (the
    first process compiles, ~1 s; the next load it). Cleared with the other caches.

    Parameters
    ----------
    func
        A module-level function numba can compile in nopython mode.
    parallel
        Its ``numba.prange`` loops run on numba's threads: as many as the process may use
        (``NUMBA_NUM_THREADS``; a workflow job sets it to the cores Snakemake gave the rule,
        :func:`mohilbert.jobs.rule_step`). Each iteration must be independent: the results
        do not depend on the number of threads. A process with one thread compiles the plain
        loop instead (half the compile time: ~3 s for the two kernels against ~7 s), cached
        under its own name (numba's cache does not tell the two apart by their flags).
    """
    key = f"{func.__module__}.{func.__qualname__}"
    if key not in _KERNELS:
        import numba

        # a kernel module's ``prange = range`` (plain Python) becomes numba's parallel range
        func.__globals__["prange"] = numba.prange
        parallel = parallel and numba.config.NUMBA_NUM_THREADS > 1
        if not parallel:
            func = _serial_copy(func)
        _KERNELS[key] = numba.njit(cache=True, nogil=True, parallel=parallel)(func)
    return _KERNELS[key]


def _serial_copy(func: Callable) -> Callable:
    """``func`` under the name ``<name>_serial``: its compiled code is cached apart from the
    parallel one's (numba names its cache files by the function's qualified name)."""
    import types

    name = f"{func.__name__}_serial"
    copy = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__)
    copy.__qualname__ = name
    return copy


register("mohilbert.caches._KERNELS", _KERNELS)


def names() -> list[str]:
    """The registered caches, sorted."""
    return sorted(_REGISTRY)


def sizes() -> dict[str, int]:
    """Entries held by each registered cache."""
    return {name: size() for name, (_, size) in sorted(_REGISTRY.items())}


def clear() -> None:
    """Empty every registered cache: the next call pays its whole set-up, as in a new process."""
    for clear_one, _ in _REGISTRY.values():
        clear_one()
