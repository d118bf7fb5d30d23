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


def nearest(name: str, known) -> str:
    """' (did you mean 'x'?)' for the closest known name, or '' when none is close."""
    match = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def unknown_keys(config: dict, schema: dict, where: str = "") -> list[tuple[str, str, list[str]]]:
    """Every key of ``config`` the schema does not know: (dotted path, key, known keys)."""
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
        with open(schema) as fh:
            schema = yaml.safe_load(fh)
    bad = unknown_keys(config, schema)
    if bad:
        path, key, known = bad[0]
        section = path.rpartition(".")[0]
        raise SheetError(
            f"{source}: unknown key {path!r}{nearest(key, known)}; known keys"
            f"{' of ' + repr(section) if section else ''}: {', '.join(known)}"
        )
