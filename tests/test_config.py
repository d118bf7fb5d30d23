"""The workflow configuration: unknown keys anywhere are errors naming the nearest known key."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO

from mohilbert.config import check_config, nearest, unknown_keys
from mohilbert.errors import SheetError

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


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
