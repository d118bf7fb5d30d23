"""The workflow configuration: unknown keys anywhere are errors naming the nearest known key."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO

from mohilbert.config import check_config, nearest, unknown_keys
from mohilbert.errors import SheetError

SCHEMA = REPO / "src" / "mohilbert" / "schemas" / "config.schema.yaml"


def _config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_shipped_config_is_clean():
    assert unknown_keys(_config(), yaml.safe_load(SCHEMA.read_text())) == []
    check_config(_config(), SCHEMA)


def test_misspelt_section():
    cfg = _config()
    cfg["fitt"] = cfg.pop("fit")
    with pytest.raises(SheetError) as info:
        check_config(cfg, SCHEMA, "config/config.yaml")
    msg = str(info.value)
    assert msg.startswith(
        "config/config.yaml: unknown key 'fitt' (did you mean 'fit'?); known keys: runs, data_root"
    )


def test_misspelt_nested_key():
    cfg = _config()
    cfg["calibrate"]["od_treshold"] = 0.02
    with pytest.raises(SheetError) as info:
        check_config(cfg, SCHEMA, "config/config.yaml")
    assert str(info.value).startswith(
        "config/config.yaml: unknown key 'calibrate.od_treshold' (did you mean 'od_threshold'?); "
        "known keys of 'calibrate': grid_step_MHz, segment"
    )


def test_nothing_close():
    assert nearest("zzz", ["fit", "hilbert"]) == ""
    cfg = _config()
    cfg["hilbert"]["qqq"] = 1
    with pytest.raises(SheetError, match=r"unknown key 'hilbert.qqq'; known keys of 'hilbert'"):
        check_config(cfg, SCHEMA)


def test_config_readme_reference_is_the_schema_generated_one():
    """config/README.md's key table is the one generated from the schema (regenerate with
    `mohilbert config-reference --update config/README.md`)."""
    from mohilbert.config import REFERENCE_BEGIN, REFERENCE_END, key_reference

    text = (REPO / "config" / "README.md").read_text()
    block = text[text.index(REFERENCE_BEGIN) : text.index(REFERENCE_END) + len(REFERENCE_END)]
    assert block == key_reference(SCHEMA)
    for key in ("calibrate.segment", "calibrate.self_fit", "fit.free", "hilbert.saturated_runs"):
        assert f"| `{key}` |" in block


def test_every_config_key_has_a_description():
    from mohilbert.config import key_reference

    rows = key_reference(SCHEMA).splitlines()[3:-1]
    assert rows and all(not r.endswith("|  |") for r in rows), [
        r for r in rows if r.endswith("|  |")
    ]


def test_schema_parameter_names_are_the_fit_layers():
    """The names the schema allows in fit.free / calibrate.self_fit are what fitting.py fits."""
    import yaml

    from mohilbert.parameters import CELL_PARAMETERS, PROBE_PARAMETERS

    with open(SCHEMA) as fh:
        props = yaml.safe_load(fh)["properties"]
    enum = lambda spec: next(o["enum"] for o in spec["items"]["anyOf"] if "enum" in o)  # noqa: E731
    for section in ("fit", "series"):
        for key in ("free", "per_run"):
            assert enum(props[section]["properties"][key]) == [*CELL_PARAMETERS, *PROBE_PARAMETERS]
    assert enum(props["calibrate"]["properties"]["self_fit"]) == list(CELL_PARAMETERS)
    per_setting = props["series"]["properties"]["per_detection_setting"]["items"]["enum"]
    assert per_setting == list(PROBE_PARAMETERS)


def test_a_misspelt_fit_parameter_names_the_nearest():
    from mohilbert.config import check_config
    from mohilbert.errors import SheetError

    schema = SCHEMA
    with pytest.raises(SheetError) as err:
        check_config({"fit": {"free": ["temprature_C"]}}, schema, "config/config.yaml")
    assert str(err.value) == (
        "config/config.yaml: fit.free: unknown parameter 'temprature_C' (did you mean "
        "'temperature_C'?); known: temperature_C, field_T, field_theta_deg, field_phi_deg, "
        "gamma_buffer_MHz, shift_MHz, length_m, doppler_temperature_C, intensity_scale, "
        "transit_scale, orthogonal_fraction, beam_order, percent_<isotope>"
    )
    check_config({"calibrate": {"self_fit": ["percent_85Rb", "field_T"]}}, schema)
    # a list of probe parameters only: named in our words, not the schema validator's
    with pytest.raises(SheetError) as err:
        check_config({"series": {"per_detection_setting": ["temperature_C"]}}, schema, "c.yaml")
    assert str(err.value) == (
        "c.yaml: series.per_detection_setting: unknown parameter 'temperature_C'; known: "
        "intensity_scale, transit_scale, orthogonal_fraction, beam_order"
    )


def test_citation_file_is_valid_cff_and_matches_the_package():
    import tomllib

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license", "preferred-citation"):
        assert cff.get(key), key
    assert cff["version"] == project["version"] and cff["license"] == project["license"]
    ids = [i["value"] for i in cff["preferred-citation"]["identifiers"]]
    assert ids == ["arXiv:2403.00950"]
    for ref in cff["references"]:
        assert ref["type"] and ref["title"] and ref["authors"] and ref["year"]


def test_library_defaults_are_the_schemas():
    """Issue 16 item 7: one source of defaults. The library's stage defaults are read from the
    configuration schema, which is one file: the workflow validates against the package's
    file (the Snakefile validates against it). A library user calling a stage
    function without the workflow gets the defaults the workflow validates with, and the
    shipped config.yaml sets nothing else but three keys of the demo's power series."""
    from mohilbert import gates
    from mohilbert.config import SCHEMA_PATH
    from mohilbert.stages import fit, hilbert, series

    assert SCHEMA.resolve() == SCHEMA_PATH.resolve()
    assert not (REPO / "workflow" / "schemas" / "config.schema.yaml").exists()  # no second copy
    from mohilbert.calibration.core import DEFAULTS as CALIBRATE

    props = yaml.safe_load(SCHEMA.read_text())["properties"]

    def defaults(section):
        return {k: v["default"] for k, v in props[section]["properties"].items() if "default" in v}

    assert CALIBRATE == defaults("calibrate")
    assert fit.DEFAULTS == defaults("fit") and hilbert.DEFAULTS == defaults("hilbert")
    assert series.DEFAULTS == defaults("series")
    for stage, values in gates.DEFAULTS.items():
        gate = props["gates"]["properties"][stage]["properties"]
        assert values == {k: v["default"] for k, v in gate.items()}, stage
    shipped = _config()
    # the bundled demo's power series, where its config departs from the defaults on purpose
    # (each line's comment says why): each power's weak-probe fit to show its drift (the
    # default, auto, fits the intense-probe model at the sheet's power: ~60 s more), its
    # 10 000-sample records fitted at 600 points, its saturated runs' Hilbert transforms
    # linearised to show them (the default refuses)
    demo = {
        ("fit", "model"): "weak_probe",
        ("series", "max_points_per_run"): 600,
        ("hilbert", "saturated_runs"): "linearise",
    }
    for section in ("calibrate", "fit", "series", "hilbert", "ingest"):
        for key, value in (shipped.get(section) or {}).items():
            assert value == demo.get((section, key), defaults(section)[key]), f"{section}.{key}"
    for (section, key), value in demo.items():
        assert shipped[section][key] == value != defaults(section)[key]
    # a configuration given with --configfile is layered on the shipped one (Snakemake merges
    # them key by key): one that has such a section sets the key itself, or the demo's value
    # leaks into it (the paper's series fits ran at the demo's 600 points per run)
    for layered in sorted((REPO / "config").glob("*/config.yaml")):
        own = yaml.safe_load(layered.read_text())
        for section, key in demo:
            if section in own:
                assert key in own[section], f"{layered.relative_to(REPO)}: {section}.{key}"
