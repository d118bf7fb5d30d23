"""What the Snakefile needs of the library: code dependencies and the results folder's files.

Snakemake does not notice edits inside an installed package, so each rule declares the source
files of the library modules its script runs as inputs (:func:`code_files`, derived from the
import graph): editing the Hilbert code reruns exactly the Hilbert jobs and what follows.
:data:`RESULT_DIRS`, :data:`RESULT_PATTERNS` and :data:`CAMPAIGN_FILES` name every file the
rules write, for the damaged-file check (:func:`quarantine_damaged`) and ``mohilbert prune``
(:func:`stale_results`). The rule scripts themselves import :mod:`mohilbert.jobs`, not this
module: an edit here reruns no job.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import time
from pathlib import Path

from mohilbert import caches

#: the pipeline's netCDF outputs, checked before every workflow run
RESULT_DIRS = ("raw", "calibrated", "fits", "hilbert", "series", "line_centre")


def quarantine_damaged(results: str | Path = "results") -> list[str]:
    """Move damaged pipeline files aside so that the workflow rebuilds them.

    Every ``results/<stage>/*.nc`` (:data:`RESULT_DIRS`) gets the cheap superblock check of
    :func:`mohilbert.io.netcdf.quick_file_problem` (a truncated or overwritten file). A
    damaged one is moved (never deleted) to ``results/damaged/<stage>/``; Snakemake then
    finds it missing and rebuilds it (and reruns what is made from it) as soon as a target
    needs it (calibrated and Hilbert files are default targets). Returns one line per file
    moved, for the console.
    """
    from mohilbert.io.netcdf import quick_file_problem

    results = Path(results)
    lines = []
    for stage in RESULT_DIRS:
        folder = results / stage
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.nc")):
            problem = quick_file_problem(path)
            if problem is None:
                continue
            dest = results / "damaged" / stage / path.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                dest = dest.with_name(f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}.nc")
            path.replace(dest)
            lines.append(
                f"mohilbert: {path} is damaged ({problem}); moved it to {dest}: the workflow "
                "rebuilds it when a target needs it"
            )
    return lines


#: every per-run and per-experiment file the workflow writes under results/ (the rules'
#: outputs, logs and benchmarks); test_workflow_demo checks that a full run writes no other
RESULT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("run", "raw/{}.nc"),
    ("run", "calibrated/{}.nc"),
    ("run", "logs/ingest/{}.log"),
    ("run", "logs/calibrate/{}.log"),
    ("run", "benchmarks/ingest/{}.tsv"),
    ("run", "benchmarks/calibrate/{}.tsv"),
    ("experiment", "fits/{}.nc"),
    ("experiment", "hilbert/{}.nc"),
    ("experiment", "figures/experiment/{}.pdf"),
    ("experiment", "figures/experiment/{}.png"),
    ("experiment", "figures/group_index/{}.pdf"),
    ("experiment", "figures/group_index/{}.png"),
    ("experiment", "figures/calibration/{}.png"),
    ("experiment", "logs/fit/{}.log"),
    ("experiment", "logs/hilbert/{}.log"),
    ("experiment", "logs/figures/experiment_{}.log"),
    ("experiment", "logs/figures/group_index_{}.log"),
    ("experiment", "logs/figures/experiment_pdf_{}.log"),
    ("experiment", "benchmarks/fit/{}.tsv"),
    ("experiment", "benchmarks/hilbert/{}.tsv"),
    ("experiment", "benchmarks/figures/experiment_{}.tsv"),
    ("experiment", "benchmarks/figures/group_index_{}.tsv"),
    ("experiment", "benchmarks/figures/experiment_pdf_{}.tsv"),
    ("series", "series/{}.nc"),
    ("series", "figures/power_series/{}_spectra.pdf"),
    ("series", "figures/power_series/{}_spectra.png"),
    ("series", "logs/series/{}.log"),
    ("series", "logs/figures/series_spectra_{}.log"),
    ("series", "benchmarks/series/{}.tsv"),
    ("series", "line_centre/{}.nc"),
    ("series", "logs/line_centre/{}.log"),
    ("series", "benchmarks/line_centre/{}.tsv"),
)
#: files of the whole campaign (not tied to one run or experiment)
CAMPAIGN_FILES = (
    "summary.csv",
    "report.html",
    "logs/report.log",
    "figures/overview.pdf",
    "figures/overview.png",
    "logs/summary.log",
    "logs/figures/overview.log",
    "benchmarks/figures/overview.tsv",
    "series_table.csv",
    "series_line_centre.csv",
    "figures/power_series/line_centre.pdf",
    "figures/power_series/line_centre.png",
    "figures/power_series/spectra_by_beam.pdf",
    "figures/power_series/spectra_by_beam.png",
    "logs/series_tables.log",
    "logs/figures/series_line_centre.log",
)


def result_owner(rel: str) -> tuple[str, str] | None:
    """("run" | "experiment" | "series", id) of a file under results/ (relative path), or
    None."""
    for kind, pattern in RESULT_PATTERNS:
        head, tail = pattern.split("{}")
        if rel.startswith(head) and rel.endswith(tail) and "/" not in rel[len(head) :]:
            return kind, rel[len(head) : len(rel) - len(tail)]
    return None


def stale_results(results: str | Path, runs, experiments, series=()) -> list[Path]:
    """Files under ``results`` that belong to runs or experiments no longer in the sheet
    (sorted). Campaign-wide files, damaged files kept aside and anything unknown are never
    listed.

    Parameters
    ----------
    results : str or pathlib.Path
        The results folder.
    runs : iterable of str
        Run ids in the sheet.
    experiments : iterable of str
        Experiment ids in the sheet.
    series : iterable of str
        Power-series ids in the sheet.
    """
    results = Path(results)
    keep = {"run": set(runs), "experiment": set(experiments), "series": set(series)}
    stale = []
    for path in sorted(results.rglob("*")):
        if not path.is_file():
            continue
        owner = result_owner(path.relative_to(results).as_posix())
        if owner is not None and owner[1] not in keep[owner[0]]:
            stale.append(path)
    return stale


@functools.lru_cache(maxsize=1)
def _package_root() -> Path:
    """The ``mohilbert`` package folder on this interpreter's path (the one jobs import)."""
    spec = importlib.util.find_spec("mohilbert")
    return Path(spec.origin).resolve().parent


def _module_path(name: str) -> Path | None:
    """Source file of module ``name`` without importing it or its parents (None if it is not a
    mohilbert module): ``mohilbert.a.b`` is ``a/b.py`` or ``a/b/__init__.py`` in the package."""
    parts = name.split(".")
    if parts[0] != "mohilbert":
        return None
    base = _package_root().joinpath(*parts[1:])
    for path in (base.with_suffix(".py") if len(parts) > 1 else None, base / "__init__.py"):
        if path is not None and path.is_file():
            return path
    return None


def _mohilbert_imports(path: Path) -> set[str]:
    """Every ``mohilbert`` module ``path`` imports, anywhere in the file (also lazily inside
    functions: they run when that code runs)."""
    path = Path(path)
    return set(_imports_of(str(path), path.stat().st_mtime_ns))


_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.M)
_FROM = re.compile(
    r"^[ \t]*from[ \t]+(mohilbert[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.M
)


@functools.lru_cache(maxsize=512)
def _imports_of(path: str, mtime_ns: int) -> frozenset[str]:
    """:func:`_mohilbert_imports` of one version of a file (scanned once per DAG build).

    A line scan, not a parse (parsing the package's files took most of a no-op rerun): an
    import statement at the start of a line, a parenthesised name list over several lines.
    An import spelt inside a string counts too, which at worst reruns a job too many.
    """
    text = Path(path).read_text()
    found = set()
    for m in _IMPORT.finditer(text):
        for item in m.group(1).split(","):
            name = item.split()[0] if item.split() else ""
            if name.split(".")[0] == "mohilbert":
                found.add(name)
    for m in _FROM.finditer(text):
        module = m.group(1)
        found.add(module)
        names = re.sub(r"#[^\n]*", "", m.group(2)).strip("()").replace("\\", " ")
        for item in names.split(","):
            words = item.split()
            # `from mohilbert import plotting` names a module
            if words and _module_path(f"{module}.{words[0]}") is not None:
                found.add(f"{module}.{words[0]}")
    # a module's parent packages run their __init__ first
    for name in list(found):
        parts = name.split(".")
        found.update(".".join(parts[:k]) for k in range(1, len(parts)))
    return frozenset(found)


def code_files(script: str | Path) -> list[str]:
    """Source files of every library module a rule script runs (absolute paths, sorted).

    Follows the script's ``mohilbert`` imports through the package's import graph (parsed,
    not imported, so building the DAG stays fast), so the list cannot drift from the code:
    adding an import to a library module adds its file to every rule that reaches it. The
    figures' style file counts as code of :mod:`mohilbert.plotting`.
    """
    seen: dict[str, Path] = {}
    todo = sorted(_mohilbert_imports(Path(script)))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_path(name)
        if path is None:
            continue
        seen[name] = path
        todo.extend(sorted(_mohilbert_imports(path) - seen.keys()))
    paths = {str(p) for p in seen.values()}
    if "mohilbert.plotting" in seen:
        paths.add(str(seen["mohilbert.plotting"].with_name("mohilbert.mplstyle")))
    return sorted(paths)


# the process-wide caches above, for mohilbert.caches.clear (benchmarks' cold figures)
caches.register("mohilbert.pipeline._package_root", _package_root)
caches.register("mohilbert.pipeline._imports_of", _imports_of)


def calibrated_left_out(path: str | Path) -> str:
    """Why the run of calibrated file ``path`` was left out of its power series (``""`` when
    it was calibrated; :attr:`mohilbert.products.CalibratedAttrs.left_out`). Read once per
    file version: the workflow asks for every series run while it builds the job graph."""
    p = Path(path)
    return _left_out(str(p), p.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _left_out(path: str, mtime_ns: int) -> str:
    import h5netcdf

    with h5netcdf.File(path, "r") as nc:
        return str(nc.attrs.get("left_out", ""))


caches.register("mohilbert.pipeline._left_out", _left_out)
