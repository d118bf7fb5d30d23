"""The typed records between the stages (issue 16 item 2): Run, Experiment, FitValues."""

import numpy as np
import pytest
import xarray as xr

from mohilbert.errors import SheetError
from mohilbert.records import Experiment, FitValues, Run, parameter_parts

ROW = {
    "run": "a",
    "experiment": "e",
    "geometry": "faraday",
    "polarisation": "sigma_plus",
    "element": "Rb",
    "line": "D2",
    "cell_length_m": 0.002,
    "temperature_C": 62.0,
    "field_T": 0.6,
    "isotope_percent": "87Rb:100",
    "probe_power_W": 3.2e-6,
    "beam_diameter_m": 5e-4,
    "beam_profile": "flat",
    "etalon_fsr_MHz": None,
}


def test_run_from_a_stage_record_builds_its_cell_and_probe():
    run = Run.coerce(ROW)
    assert Run.coerce(run) is run
    assert run.etalon_fsr_MHz is None and run.geometry == "faraday"
    cell = run.cell()
    assert (cell.length_m, cell.temperature_C, cell.field_T, cell.field_theta_deg) == (
        0.002,
        62.0,
        0.6,
        0.0,
    )
    assert cell.isotope_percent == "87Rb:100"
    probe = run.probe()
    assert (probe.power_W, probe.beam_diameter_m, probe.beam_profile) == (3.2e-6, 5e-4, "flat")
    assert Run("b", cell_length_m=0.01, temperature_C=20.0).probe() is None
    # a Voigt run without a field direction is across the beam; zero_field has no field
    assert (
        Run("v", geometry="voigt", cell_length_m=0.01, temperature_C=20.0).cell().field_theta_deg
        == 90
    )
    z = Run("z", geometry="zero_field", field_T=0.6, cell_length_m=0.01, temperature_C=20.0)
    assert z.cell().field_T == 0.0


def test_run_refuses_an_unknown_column_and_sets_ingest_columns_aside():
    full_row = {**ROW, "notes": "x", "signal": "C4", "signal_file": "a.csv", "format": "auto"}
    assert Run.coerce(full_row) == Run.coerce(ROW)
    with pytest.raises(SheetError) as err:
        Run.coerce({**ROW, "temprature_C": 60.0})
    assert str(err.value).startswith("run a: unknown column(s) 'temprature_C' in its stage record")
    with pytest.raises(SheetError, match="a stage record has no 'run' id"):
        Run.coerce({"temperature_C": 60.0})
    with pytest.raises(SheetError, match="run a: cell_length_m and temperature_C are needed"):
        Run("a").cell()


def test_experiment_refuses_runs_of_two_cells():
    exp = Experiment.of({"b": {**ROW, "run": "b"}, "a": ROW})
    assert exp.names == ["a", "b"] and exp.first.run == "a" and exp["b"].run == "b"
    assert exp.label == "experiment e" and Experiment.coerce(exp) is exp
    with pytest.raises(KeyError):
        exp["c"]
    with pytest.raises(SheetError) as err:
        Experiment.of({"a": ROW, "b": {**ROW, "run": "b", "cell_length_m": 0.075}})
    assert str(err.value) == (
        "experiment e: run b has cell_length_m = 0.075 but run a has 0.002; the runs of one "
        "experiment share one cell and geometry"
    )
    with pytest.raises(SheetError, match="an experiment needs at least one run"):
        Experiment.of({})


def test_fit_values_read_structure_not_names():
    names = ["temperature_C", "shift_MHz__a", "shift_MHz__b"]
    old = xr.Dataset({"value": ("parameter", [61.0, 1.5, -2.0])}, coords={"parameter": names})
    new = old.assign_coords(
        parameter_quantity=("parameter", ["temperature_C", "shift_MHz", "shift_MHz"]),
        parameter_run=("parameter", ["", "a", "b"]),
    )
    for fit in (old, new):
        v = FitValues.of(fit)
        assert v.shared == {"temperature_C": 61.0}
        assert v.per_run == {"shift_MHz": {"a": 1.5, "b": -2.0}}
        assert v.of_run("shift_MHz", "b") == -2.0 and v.of_run("shift_MHz", "c") == 0.0
        assert parameter_parts(fit)[1] == ("shift_MHz", "a")
    # a run whose id contains "__" is read from the coordinates, not split
    odd = new.assign_coords(parameter_run=("parameter", ["", "x__y", "b"]))
    assert FitValues.of(odd).per_run["shift_MHz"] == {"x__y": 1.5, "b": -2.0}


def test_fit_result_writes_the_parameter_structure():
    from mohilbert.fitting import FitSpectrum, fit_spectra
    from mohilbert.theory import Cell, spectrum_arrays

    cell = Cell(length_m=0.002, temperature_C=80.0, field_T=0.1, isotope_percent="87Rb:100")
    x = np.linspace(-6000, 6000, 400)
    spectra = []
    for k, name in enumerate(("r1", "r2")):
        t = spectrum_arrays(x, cell.with_(shift_MHz=5.0 * k), "sigma_plus")["S0"]
        spectra.append(
            FitSpectrum(x, t, polarisation="sigma_plus", sigma=np.full(x.size, 1e-3), name=name)
        )
    res = fit_spectra(
        spectra, cell, {"temperature_C": None, "shift_MHz": (-50, 50)}, per_spectrum=("shift_MHz",)
    )
    ds = res.to_dataset()
    v = FitValues.of(ds)
    assert set(v.per_run["shift_MHz"]) == {"r1", "r2"}
    assert v.per_run["shift_MHz"]["r2"] - v.per_run["shift_MHz"]["r1"] == pytest.approx(
        5.0, abs=0.05
    )
    assert ds["parameter_run"].attrs["units"] == "1" and ds["parameter_quantity"].attrs["long_name"]


def test_every_sheet_column_is_a_run_field_or_an_ingest_column():
    """A column added to the sheet schema or to a stage's slice must be added to Run too (or
    Run.coerce refuses the stage's record at run time)."""
    from dataclasses import fields

    from conftest import SCHEMA_PATH

    from mohilbert.records import INGEST_COLUMNS, STAGE_COLUMNS
    from mohilbert.runs import load_schema

    known = {f.name for f in fields(Run)} | INGEST_COLUMNS
    assert set(load_schema(SCHEMA_PATH)["properties"]) <= known
    for stage, columns in STAGE_COLUMNS.items():
        if stage != "ingest":
            assert set(columns) <= {f.name for f in fields(Run)}, stage


def test_run_defaults_are_the_sheet_schemas():
    """A default is declared once: where the runs schema gives a column a default and the
    record a value of its own, they are the same (a record made without the sheet loader
    then calibrates like a sheet row with the cell left empty)."""
    from dataclasses import MISSING, fields

    from mohilbert.config import RUNS_SCHEMA_PATH
    from mohilbert.records import Run
    from mohilbert.runs import load_schema

    props = load_schema(RUNS_SCHEMA_PATH)["properties"]
    own = {f.name: f.default for f in fields(Run) if f.default not in (None, MISSING)}
    assert {"reference_length_m", "reference_temperature_C", "beam_profile"} <= set(own)
    for name, value in own.items():
        if "default" in props.get(name, {}):
            assert value == props[name]["default"], name
