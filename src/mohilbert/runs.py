"""The runs sheet: one row per acquisition, validated before any job starts.

The sheet is a TSV file (``config/runs.tsv``). Each row is checked against the JSON Schema in
``src/mohilbert/schemas/runs.schema.yaml`` (:data:`mohilbert.config.RUNS_SCHEMA_PATH`) (types, allowed values, defaults); then across rows
(duplicate run ids) and against the disk (every named file exists). Every problem raises
:class:`~mohilbert.errors.SheetError` naming the sheet, the row and the column.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import jsonschema
import pandas as pd

from mohilbert.config import nearest, read_yaml
from mohilbert.errors import SheetError
from mohilbert.records import EXPERIMENT_COLUMNS, ROLES, STAGE_COLUMNS


def load_schema(path: str | Path) -> dict:
    """Load a YAML JSON-Schema file."""
    return read_yaml(path)


def _coerce(value: str, spec: dict):
    kind = spec.get("type")
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return value  # left for the schema to reject with a clear message
        return number if math.isfinite(number) else value
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    return value


def load_runs(
    sheet: str | Path,
    schema: str | Path | dict,
    data_root: str | Path = ".",
    *,
    check_files: bool = True,
    allow_outside: bool = False,
    without_files: str = "error",
) -> pd.DataFrame:
    """Read, validate and complete the runs sheet.

    Parameters
    ----------
    sheet
        Path of the TSV sheet. Lines starting with ``#`` are comments.
    schema
        The row schema (path or loaded dict).
    data_root
        Directory against which relative file paths in the sheet are resolved.
    check_files
        Check that every named file exists (a missing file is reported at parse time,
        naming the row and column, before any job starts).
    allow_outside
        Accept files outside ``data_root`` (absolute paths, ``..``, symbolic links that lead
        out). Off by default, so that a sheet cannot make the workflow read arbitrary files
        (``/etc/passwd``); the workflow sets it from ``allow_paths_outside_data_root``.
    without_files
        ``"error"``: a row naming a file that does not exist stops everything (with
        ``check_files``). ``"leave_out"``: such rows are left out and listed in
        ``runs.attrs["left_out"]`` (run → the first missing file), so that one sheet can
        describe data a user may or may not have (the paper's held-out beam); the workflow
        sets it from ``runs_without_files``.

    Returns
    -------
    pandas.DataFrame
        One row per run, indexed by ``run``, defaults filled in, plus columns
        ``<role>_path`` (absolute resolved path or ``None``) for every role.
    """
    if without_files not in ("error", "leave_out"):
        raise ValueError(f"without_files must be 'error' or 'leave_out', not {without_files!r}")
    sheet = Path(sheet)
    if not sheet.exists():
        raise SheetError(f"{sheet}: runs sheet does not exist")
    try:
        frame = pd.read_csv(
            sheet, sep="\t", dtype=str, keep_default_na=False, comment="#", skip_blank_lines=True
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise SheetError(f"{sheet}: cannot read the runs sheet ({exc})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SheetError(
            f"{sheet}: not a tab-separated table ({' '.join(str(exc).split())})"
        ) from None
    if isinstance(schema, (str, Path)):
        schema = load_schema(schema)
    props = schema["properties"]
    frame.columns = [c.strip() for c in frame.columns]
    unknown = [c for c in frame.columns if c not in props]
    if unknown:
        raise SheetError(
            f"{sheet}: unknown column(s) {unknown}{nearest(unknown[0], props)}; known columns: "
            f"{', '.join(props)} (see config/README.md)"
        )
    validator = jsonschema.Draft202012Validator(schema)
    rows = []
    for i, raw in enumerate(frame.to_dict(orient="records")):
        lineno = i + 2  # header is line 1
        row = {k: _coerce(v.strip(), props[k]) for k, v in raw.items() if v.strip() != ""}
        errors = sorted(validator.iter_errors(row), key=lambda e: list(e.path))
        if errors:
            err = errors[0]
            column = (
                err.path[0]
                if err.path
                else (err.message.split("'")[1] if "'" in err.message else "?")
            )
            found = row.get(column, "<empty>") if isinstance(column, str) else "?"
            raise SheetError(
                f"{sheet}: row {lineno} (run {row.get('run', '?')!r}), column {column!r}: "
                f"{found!r} is invalid: {_short(err)}"
            )
        for key, spec in props.items():
            if key not in row and "default" in spec:
                row[key] = spec["default"]
        row.setdefault("field_theta_deg", {"voigt": 90.0}.get(row["geometry"], 0.0))
        _check_row(sheet, lineno, row)
        rows.append(row)
    if not rows:
        raise SheetError(f"{sheet}: the runs sheet has no rows")
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row["run"] in seen:
            raise SheetError(
                f"{sheet}: duplicate run id {row['run']!r} in rows {seen[row['run']]} and "
                f"{i + 2}, column 'run'"
            )
        seen[row["run"]] = i + 2
    _check_experiments(sheet, rows)
    root = Path(data_root)
    strict = check_files and without_files == "error"
    kept, left_out = [], {}
    for i, row in enumerate(rows):
        for role in ROLES:
            row[f"{role}_path"] = _resolve(sheet, i + 2, row, role, root, strict, allow_outside)
        absent = [
            row[f"{role}_path"]
            for role in ROLES
            if check_files and row[f"{role}_path"] and not Path(row[f"{role}_path"]).is_file()
        ]
        if absent:
            left_out[row["run"]] = absent[0]
        else:
            kept.append(row)
    if not kept:
        raise SheetError(
            f"{sheet}: no row's files are under data_root ({root.resolve()}): the first "
            f"missing is {next(iter(left_out.values()))}; point data_root at the data folder"
        )
    runs = pd.DataFrame(kept)
    runs = runs.astype(object).where(runs.notna(), None)
    runs = runs.set_index("run", drop=False)
    runs.attrs["left_out"] = left_out
    return runs


def left_out_note(runs: pd.DataFrame, sheet: str | Path) -> str | None:
    """One line naming the rows :func:`load_runs` left out for want of their files, by folder."""
    left_out = runs.attrs.get("left_out") or {}
    if not left_out:
        return None
    folders: dict[str, int] = {}
    for path in left_out.values():
        folder = Path(path).parent.name
        folders[folder] = folders.get(folder, 0) + 1
    listed = ", ".join(f"{name} ({n})" for name, n in folders.items())
    return (
        f"{Path(sheet).name}: {len(left_out)} run(s) left out, their files are not under "
        f"data_root: {listed}"
    )


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _check_experiments(sheet: Path, rows: list[dict]) -> None:
    """The runs of one experiment (and of one power series) describe one cell in one geometry:
    refuse a disagreement (the first run's values would otherwise be used for all and the
    others ignored)."""
    for key in ("experiment", "series"):
        first: dict[str, tuple[int, dict]] = {}
        for i, row in enumerate(rows):
            group = row.get(key)
            if group is None:
                continue
            if key == "series" and row.get("probe_power_W") is None:
                raise SheetError(
                    f"{sheet}: row {i + 2} (run {row['run']!r}), column 'probe_power_W': empty, "
                    f"but the run is in power series {group!r}, which is fitted with each run's "
                    "power"
                )
            if group not in first:
                first[group] = (i + 2, row)
                continue
            line0, row0 = first[group]
            for col in EXPERIMENT_COLUMNS + (("polarisation",) if key == "series" else ()):
                a, b = row0.get(col), row.get(col)
                if a != b:
                    raise SheetError(
                        f"{sheet}: row {i + 2} (run {row['run']!r}), column {col!r}: {b!r} "
                        f"differs from {a!r} of run {row0['run']!r} (row {line0}) in the same "
                        f"{key} {group!r}; the runs of {_a(key)} share one cell and geometry: "
                        f"make them agree or put the run in {_a(key)} of its own"
                    )


def _short(err: jsonschema.ValidationError) -> str:
    if err.validator == "enum":
        return "allowed: " + ", ".join(map(str, err.validator_value))
    if err.validator == "pattern":
        return f"must match {err.validator_value}"
    return " ".join(err.message.split())[:160]


def _check_row(sheet: Path, lineno: int, row: dict) -> None:
    if row.get("probe_power_W") is not None and row.get("beam_diameter_m") is None:
        raise SheetError(
            f"{sheet}: row {lineno} (run {row['run']!r}), column 'beam_diameter_m': empty, but "
            "probe_power_W is given; the intensity is the power over the beam area"
        )
    if ".." in row["run"] or ".." in row["experiment"]:
        col = "run" if ".." in row["run"] else "experiment"
        raise SheetError(f"{sheet}: row {lineno}, column {col!r}: {row[col]!r} contains '..'")
    geometry, pol = row["geometry"], row["polarisation"]
    if geometry == "faraday" and pol in ("parallel", "perpendicular"):
        raise SheetError(
            f"{sheet}: row {lineno} (run {row['run']!r}), column 'polarisation': {pol!r} is a "
            "Voigt eigen-polarisation; in Faraday geometry use sigma_plus, sigma_minus or linear:<deg>"
        )
    if geometry == "voigt" and pol in ("sigma_plus", "sigma_minus"):
        raise SheetError(
            f"{sheet}: row {lineno} (run {row['run']!r}), column 'polarisation': {pol!r} is a "
            "Faraday eigen-polarisation; in Voigt geometry use parallel, perpendicular or linear:<deg>"
        )
    if row.get("etalon") and "etalon_fsr_MHz" not in row:
        raise SheetError(
            f"{sheet}: row {lineno} (run {row['run']!r}), column 'etalon_fsr_MHz': an etalon "
            "channel is named but its free spectral range is empty"
        )


def _resolve(
    sheet: Path, lineno: int, row, role: str, root: Path, check: bool, allow_outside: bool
) -> str | None:
    channel = row.get(role)
    file_col = f"{role}_file"
    name = row.get(file_col) or None
    used_col = file_col
    if name is None and channel:
        name, used_col = row.get("file") or None, "file"
    if name is None and row.get(file_col) is None and not channel:
        return None
    if name is None:
        raise SheetError(
            f"{sheet}: row {lineno} (run {row['run']!r}), column {file_col!r}: role {role!r} "
            f"names a channel but no file (fill 'file' or '{role}_file')"
        )
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    path = path.resolve()
    if not allow_outside and not path.is_relative_to(root.resolve()):
        raise SheetError(
            f"{sheet}: row {lineno} (run {row['run']!r}), column {used_col!r}: file {name!r} is "
            f"outside data_root ({root.resolve()}); move it under data_root, point data_root "
            "at its folder, or set allow_paths_outside_data_root: true in the config"
        )
    if check and not path.is_file():
        raise SheetError(
            f"{sheet}: row {lineno} (run {row['run']!r}), column {used_col!r}: file {name!r} "
            f"not found (looked at {path})"
        )
    return str(path)


def stage_record(runs: pd.DataFrame, run: str, stage: str, data_root: str | Path) -> dict:
    """What stage ``stage`` reads of ``run``'s sheet row (see :data:`STAGE_COLUMNS`).

    For ``"ingest"`` the roles' ``<role>_path`` values are relative to ``data_root``;
    :func:`with_paths` turns them back into paths in the job.

    Parameters
    ----------
    runs : pandas.DataFrame
        The sheet (:func:`load_runs`).
    run : str
        Run id.
    stage : str
        ``"ingest"``, ``"calibrate"``, ``"fit"`` or ``"hilbert"``.
    data_root : str or pathlib.Path
        Folder the sheet's file paths are relative to.
    """
    rec = run_record(runs, run)
    out = {c: rec.get(c) for c in STAGE_COLUMNS[stage]}
    if stage == "ingest":
        root = Path(data_root).resolve()
        for role in ROLES:
            path = rec.get(f"{role}_path")
            if path:
                out[f"{role}_path"] = os.path.relpath(path, root)
    return out


def with_paths(record: dict, data_root: str | Path) -> dict:
    """An ingest record of :func:`stage_record` with its file paths under ``data_root``."""
    return {
        k: (str(Path(data_root) / v) if k.endswith("_path") and v else v) for k, v in record.items()
    }


def run_record(runs: pd.DataFrame, run: str) -> dict:
    """The sheet row of ``run`` as a plain dict of JSON-able values (for Snakemake params)."""
    row = runs.loc[run].to_dict()
    return {k: (None if (isinstance(v, float) and math.isnan(v)) else v) for k, v in row.items()}


def sheet_warnings(runs: pd.DataFrame, sheet: str = "runs sheet") -> list[str]:
    """Values of a validated sheet that are allowed but probably not meant (a temperature in
    kelvin, a length in mm, a field in gauss), one line per run and value.

    Parameters
    ----------
    runs : pandas.DataFrame
        The sheet as :func:`load_runs` returns it (indexed by run).
    sheet : str
        The sheet's name, for the message.
    """
    from mohilbert.plausibility import implausible

    def value(row, column):
        v = row.get(column)
        return None if v is None or pd.isna(v) else float(v)

    out = []
    for run, row in runs.iterrows():
        for text in implausible(
            value(row, "temperature_C"), value(row, "cell_length_m"), value(row, "field_T")
        ):
            out.append(f"{sheet}, run {run}: {text.replace('length_m', 'cell_length_m')}")
    return out
