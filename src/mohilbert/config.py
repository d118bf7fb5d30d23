"""The workflow configuration (``config/config.yaml``): unknown keys are errors.

JSON Schema reports an unknown key as a long validation message, and a schema that allows
extra keys reports nothing: a misspelt section (``fitt:``) then silently runs on defaults.
:func:`check_config` walks the schema's ``properties`` and names the first unknown key, where
it is, and the nearest known key.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from mohilbert.errors import SheetError

#: the configuration schema: what the workflow validates ``config/config.yaml`` against and
#: the one home of every default (the workflow's ``Snakefile`` validates against this file)
SCHEMA_PATH = Path(__file__).with_name("schemas") / "config.schema.yaml"
#: the runs sheet's schema (columns, types, units, defaults): the one home of the sheet columns
RUNS_SCHEMA_PATH = Path(__file__).with_name("schemas") / "runs.schema.yaml"
_SCHEMA: dict | None = None


def read_yaml(path: str | Path) -> dict:
    """A YAML file (a schema or a configuration), read safely with libyaml's parser when
    PyYAML has it (the pure-Python one took a tenth of a second per schema at every DAG
    build)."""
    with open(path) as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema_defaults(*section: str) -> dict:
    """The defaults the configuration schema gives the keys of ``section`` (e.g.
    ``schema_defaults("calibrate")``, ``schema_defaults("gates", "fit")``): what a stage
    function uses for a key its ``config`` leaves out, so the library called on its own and
    the workflow agree (one source of defaults, the schema)."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = read_yaml(SCHEMA_PATH)
    node = _SCHEMA
    for name in section:
        node = node["properties"][name]
    return {k: v["default"] for k, v in node["properties"].items() if "default" in v}


def nearest(name: str, known) -> str:
    """' (did you mean 'x'?)' for the closest known name, or '' when none is close."""
    match = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def unknown_keys(config: dict, schema: dict, where: str = "") -> list[tuple[str, str, list[str]]]:
    """Every key of ``config`` the schema does not know: (dotted path, key, known keys).

    Parameters
    ----------
    config : dict
        The (sub-)configuration to check.
    schema : dict
        The matching (sub-)schema (:data:`SCHEMA_PATH`).
    where : str
        Dotted path of ``config`` in the whole configuration (for messages).
    """
    found = []
    props = schema.get("properties")
    if not isinstance(config, dict) or props is None:
        return found
    for key, value in config.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in props:
            found.append((path, str(key), list(props)))
        elif isinstance(value, dict):
            found.extend(unknown_keys(value, props[key], path))
    return found


def unknown_names(config: dict, schema: dict, where: str = "") -> list[tuple[str, str, list]]:
    """Entries of name lists (``fit.free``, ``calibrate.self_fit``, ...) that the schema's
    ``enum`` does not allow and its ``pattern`` (``percent_<isotope>``) does not match:
    (dotted path, name, known names, ``percent_<isotope>`` last where the list takes it).

    Parameters
    ----------
    config : dict
        The (sub-)configuration to check.
    schema : dict
        The matching (sub-)schema (:data:`SCHEMA_PATH`).
    where : str
        Dotted path of ``config`` in the whole configuration (for messages).
    """
    import re

    found = []
    props = schema.get("properties")
    if not isinstance(config, dict) or props is None:
        return found
    for key, value in config.items():
        spec = props.get(key, {})
        path = f"{where}.{key}" if where else str(key)
        if isinstance(value, dict):
            found.extend(unknown_names(value, spec, path))
            continue
        items = spec.get("items", {}) if isinstance(value, list) else {}
        options = items.get("anyOf", [items])
        known = next((o["enum"] for o in options if "enum" in o), None)
        if known is None:
            continue
        patterns = [o["pattern"] for o in options if "pattern" in o]
        for name in value:
            if name not in known and not any(re.match(p, str(name)) for p in patterns):
                found.append(
                    (path, str(name), list(known) + ["percent_<isotope>"] * bool(patterns))
                )
    return found


def check_config(config: dict, schema: str | Path | dict, source: str = "the configuration"):
    """Raise :class:`~mohilbert.errors.SheetError` for the first unknown key of ``config``.

    Parameters
    ----------
    config : dict
        The loaded configuration (e.g. Snakemake's ``config``).
    schema : str, pathlib.Path or dict
        The configuration's JSON Schema (a YAML file or the loaded dict).
    source : str
        How to name the configuration in the message (e.g. ``config/config.yaml``).
    """
    if not isinstance(schema, dict):
        schema = read_yaml(schema)
    bad = unknown_keys(config, schema)
    if bad:
        path, key, known = bad[0]
        section = path.rpartition(".")[0]
        raise SheetError(
            f"{source}: unknown key {path!r}{nearest(key, known)}; known keys"
            f"{' of ' + repr(section) if section else ''}: {', '.join(known)}"
        )
    names = unknown_names(config, schema)
    if names:
        path, name, known = names[0]
        raise SheetError(
            f"{source}: {path}: unknown parameter {name!r}{nearest(name, known)}; known: "
            f"{', '.join(known)}"
        )


#: where config/README.md holds the generated key reference
REFERENCE_BEGIN = "<!-- BEGIN config keys: generated from src/mohilbert/schemas/config.schema.yaml by `mohilbert config-reference --update config/README.md`; do not edit by hand -->"
REFERENCE_END = "<!-- END config keys -->"


def _allowed(spec: dict) -> str:
    """What values a schema entry allows, in a few words."""
    if "enum" in spec:
        return ", ".join(f"`{v}`" for v in spec["enum"])
    if "oneOf" in spec:
        return " or ".join(_allowed(s) for s in spec["oneOf"])
    if "const" in spec:
        return f"`{spec['const']}`"
    kind = spec.get("type", "")
    if kind == "array":
        items = spec.get("items", {})
        names = items.get("enum") or next(
            (s["enum"] for s in items.get("anyOf", []) if "enum" in s), None
        )
        extra = [s["pattern"] for s in items.get("anyOf", []) if "pattern" in s]
        if names:
            text = "list of " + ", ".join(f"`{n}`" for n in names)
            return text + (" or `percent_<isotope>`" if extra else "")
        n = spec.get("minItems")
        return f"list of {n} {items.get('type', 'value')}s" if n else "list"
    bounds = []
    for key, sym in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤")):
        if key in spec:
            bounds.append(f"{sym} {spec[key]:g}")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    return " ".join([kind, ", ".join(bounds)]).strip()


def _default(spec: dict) -> str:
    if "default" not in spec or spec["default"] == {}:
        return "–"
    value = spec["default"]
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def key_reference(schema: str | Path | dict) -> str:
    """Every key of the configuration as a Markdown table (key, default, allowed, meaning),
    generated from the schema so that the manual cannot drift from what is validated.

    Parameters
    ----------
    schema : str, pathlib.Path or dict
        :data:`SCHEMA_PATH` (a path or the loaded dict).

    Returns
    -------
    str
        The table, between :data:`REFERENCE_BEGIN` and :data:`REFERENCE_END`.
    """
    if not isinstance(schema, dict):
        schema = read_yaml(schema)
    rows = ["| key | default | allowed | meaning |", "|---|---|---|---|"]

    def walk(props: dict, where: str) -> None:
        for key, spec in props.items():
            path = f"{where}.{key}" if where else key
            if spec.get("type") == "object" and "properties" in spec:
                if spec.get("description"):
                    text = " ".join(str(spec["description"]).split())
                    rows.append(f"| `{path}.*` | | | {text} |")
                walk(spec["properties"], path)
                continue
            text = " ".join(str(spec.get("description", "")).split()).replace("|", "\\|")
            rows.append(f"| `{path}` | {_default(spec)} | {_allowed(spec)} | {text} |")

    walk(schema["properties"], "")
    return "\n".join([REFERENCE_BEGIN, *rows, REFERENCE_END])


def update_reference(readme: str | Path, schema: str | Path | dict) -> bool:
    """Replace the generated key reference in ``readme``; True if the file changed."""
    path = Path(readme)
    text = path.read_text()
    start, end = text.find(REFERENCE_BEGIN), text.find(REFERENCE_END)
    if start < 0 or end < start:
        raise ValueError(
            f"{path}: no '<!-- BEGIN config keys' … '{REFERENCE_END}' lines to replace; "
            "add the two lines where the table belongs"
        )
    new = text[:start] + key_reference(schema) + text[end + len(REFERENCE_END) :]
    if new != text:
        path.write_text(new)
    return new != text
