"""Every error message the library raises, triggered and read (the way scipy's
``test_bad_args`` tests do): a message that changes or garbles its text fails here, next to
its cause. ``test_every_raise_site_is_read_by_a_test`` keeps the list complete."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import REPO, SCHEMA_PATH, shared_path

from mohilbert.errors import (
    AnalysisError,
    CalibrationError,
    FitError,
    FormatError,
    InputError,
    SheetError,
)

# ---------------------------------------------------------------- physics and API arguments


def _raises(exc, text, func, *args, **kwargs):
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg == text, msg
    return msg


def test_atoms_messages():
    from mohilbert.atoms.constants import excited_state, get_line, isotope_fractions
    from mohilbert.atoms.density import vapour_pressure_Pa

    _raises(
        ValueError,
        "unknown constants set 'nist'; known: ('mohilbert', 'elecsus')",
        excited_state,
        "87Rb",
        "D2",
        "nist",
    )
    with pytest.raises(ValueError, match=r"^unknown element/line 'Rb'/'D3'; known: Rb D1, Rb D2"):
        get_line("Rb", "D3")
    _raises(
        ValueError,
        "unknown element 'Xe'; known: ['Rb', 'Cs', 'K', 'Na']",
        isotope_fractions,
        "Xe",
    )
    _raises(ValueError, "'133Cs' is not an isotope of Rb", isotope_fractions, "Rb", "133Cs:10")
    _raises(
        ValueError,
        "isotope percentage 85Rb=120.0 outside 0..100",
        isotope_fractions,
        "Rb",
        "85Rb:120",
    )
    _raises(
        ValueError,
        "isotope percentages add up to 110.0 > 100",
        isotope_fractions,
        "Rb",
        "85Rb:60,87Rb:50",
    )
    _raises(
        ValueError,
        "isotope percentages add up to 90, not 100",
        isotope_fractions,
        "Rb",
        {"85Rb": 60, "87Rb": 30},
    )
    _raises(
        ValueError, "temperature -300 °C is below absolute zero", vapour_pressure_Pa, "Rb", -300
    )


def test_susceptibility_messages():
    from mohilbert.atoms.susceptibility import susceptibility
    from mohilbert.theory import Cell

    med = Cell(element="Rb", line="D2", length_m=2e-3, temperature_C=80).medium()
    _raises(ValueError, "detuning_MHz must be a non-empty 1-D array", susceptibility, [], med)
    _raises(ValueError, "detuning_MHz contains NaN or inf", susceptibility, [0.0, np.nan], med)
    _raises(
        ValueError,
        "unknown method 'magic'; use 'auto', 'direct' or 'fft'",
        susceptibility,
        [0.0, 1.0],
        med,
        method="magic",
    )
    with pytest.raises(
        ValueError,
        match=r"^FFT grid of \d+ points needed \(step 1e-06 MHz\); use method='direct' for this case$",
    ):
        susceptibility(np.linspace(-5e3, 5e3, 11), med, method="fft", step_MHz=1e-6)
    cold = Cell(
        element="Rb", line="D2", length_m=2e-3, temperature_C=80, doppler_temperature_C=-300
    )
    _raises(
        ValueError,
        "Doppler temperature -300 °C is at or below absolute zero",
        susceptibility,
        [0.0, 1.0],
        cold.medium(),
    )


def test_theory_and_optics_messages():
    from mohilbert.optics.polarisation import jones_vector
    from mohilbert.theory import Cell, get_spectra, spectrum

    base = dict(element="Rb", line="D2", length_m=2e-3, temperature_C=80)
    cases = {
        "conventions must be one of ('textbook', 'elecsus'), got 'x'": {"conventions": "x"},
        "propagation must be one of ('exact', 'elecsus'), got 'x'": {"propagation": "x"},
        "populations must be 'boltzmann' or 'equal'": {"populations": "x"},
        "length_m must be > 0, got 0": {"length_m": 0},
        "field_T is a magnitude (>= 0); reverse the direction with the angles": {"field_T": -1},
    }
    for text, change in cases.items():
        with pytest.raises(ValueError) as info:
            Cell(**{**base, **change})
        assert str(info.value).replace('"', "'") == text.replace('"', "'"), str(info.value)
    sliced = Cell(**base, slices=((0.5, 0.6), (0.4, 0.6)))
    _raises(ValueError, "slice fractions add up to 0.9, not 1", spectrum, [0.0, 1.0], sliced, "x")
    with pytest.raises(ValueError, match=r"^unknown output 'Bogus'; known: S0, S1, S2, S3"):
        get_spectra(
            np.array([0.0, 1.0]), [1, 0, 0], {"Elem": "Rb", "Dline": "D2"}, outputs=["Bogus"]
        )
    _raises(ValueError, "Jones vector 'jones:1' must have two components", jones_vector, "jones:1")
    _raises(
        ValueError,
        "unknown polarisation 'round'; use sigma_plus, sigma_minus, parallel, perpendicular, x, y, "
        "linear:<deg>, jones:<Ex>,<Ey> or a 2-vector",
        jones_vector,
        "round",
    )
    _raises(ValueError, "a Jones vector has 2 components, got 4", jones_vector, [1, 0, 0, 0])
    _raises(ValueError, "the Jones vector is zero", jones_vector, [0, 0])


def test_signal_messages():
    from mohilbert.signal import fft_convolve

    _raises(ValueError, "unknown mode 'wrap'", fft_convolve, np.ones(4), np.ones(2), mode="wrap")


def test_simulate_unknown_writer(tmp_path):
    from mohilbert.simulate import Acquisition, write_acquisition

    acq = Acquisition(
        run="r", experiment="e", geometry="faraday", polarisation="sigma_plus", writer="hdf"
    )
    _raises(
        ValueError,
        "unknown writer 'hdf'; use lecroy_csv or tek_mso_csv",
        write_acquisition,
        acq,
        tmp_path,
    )


def test_cli_messages(tmp_path, capsys):
    from mohilbert.cli import main

    with pytest.raises(SystemExit):
        main(["theory", "--detuning-MHz=0:1", "-o", str(tmp_path / "a.nc")])
    assert "detuning grid '0:1': use START:STOP:N in MHz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["theory", "--detuning-MHz=0:1:1", "-o", str(tmp_path / "a.nc")])
    assert "the detuning grid needs at least 2 points" in capsys.readouterr().err
    assert main(["theory", "--detuning-MHz=0:10:5", "-o", str(tmp_path / "a.txt")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"mohilbert theory: ValueError: {tmp_path / 'a.txt'}: output must end in .nc or .csv"
    )
    args = [
        "theory",
        "--detuning-MHz=0:10:5",
        "-o",
        str(tmp_path / "a.csv"),
        "--outputs",
        "S0,nope",
    ]
    assert main(args) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .startswith(
            "mohilbert theory: ValueError: --outputs: ['nope'] are not 1-D spectra; choose from "
        )
    )


def test_cli_prune_outside_the_workflow(tmp_path, monkeypatch, capsys):
    """The sheet's schema is in the package: prune works from any folder, and a missing
    sheet is named (it needed the checkout's workflow/ folder, which an installed package
    does not have)."""
    from mohilbert.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("runs: config/runs.tsv\n")
    assert main(["prune"]) == 2
    assert capsys.readouterr().err.strip() == (
        "mohilbert prune: SheetError: config/runs.tsv: runs sheet does not exist"
    )


# ----------------------------------------------------------------------------- readers


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_reader_file_messages(tmp_path):
    from mohilbert.io import detect_format, read_scope

    p = tmp_path / "x.csv"
    _raises(InputError, f"{p}: file does not exist", read_scope, p)
    _raises(InputError, f"{tmp_path}: not a regular file", read_scope, tmp_path)
    p.write_bytes(b"")
    _raises(InputError, f"{p}: file is empty (0 bytes)", read_scope, p)
    _raises(InputError, f"{p}: file is empty (0 bytes)", detect_format, p)
    _write(p, "time,CH1\n0,1\n1,2\n")
    _raises(
        FormatError,
        f"{p}: unknown format 'matlab'; known: lecroy_csv, tek_tds_csv, tek_mso_csv, "
        "keysight_csv, rigol_csv, rigol_time_csv, rigol_ultrascope_csv, generic_csv, tek_wfm, "
        "tek_isf, keysight_bin, rigol_wfm, lecroy_trc",
        read_scope,
        p,
        format="matlab",
    )
    _write(p, "hello\nworld\n")
    _raises(
        FormatError,
        f"{p}: unknown format (first line 'hello'); pass the format explicitly or export as CSV "
        "with a header row such as 'time,CH1,CH2'",
        read_scope,
        p,
    )


def test_reader_format_messages(tmp_path):
    from mohilbert.io import read_scope

    p = _write(tmp_path / "x.csv", "a,b\n1,2\n")
    expect = {
        "lecroy_csv": (FormatError, f"{p}: LeCroy CSV without a 'Time,Ampl' title line"),
        "tek_mso_csv": (FormatError, f"{p}: Tektronix MSO CSV without a 'TIME,...' title row"),
        "rigol_ultrascope_csv": (
            FormatError,
            f"{p}: UltraScope CSV without a '\"Time (s)\"' title row",
        ),
        "generic_csv": (FormatError, f"{p}: generic CSV needs a header row like 'time,CH1,CH2'"),
        "tek_isf": (InputError, f"{p}: .isf without a ':CURVE #' data block"),
        "lecroy_trc": (
            InputError,
            f"{p}: LeCroy .trc without a complete WAVEDESC block (truncated?)",
        ),
        "rigol_csv": (
            FormatError,
            f"{p}: cannot be read as rigol_csv (ValueError: 'Start' is not in list)",
        ),
    }
    for fmt, (exc, text) in expect.items():
        _raises(exc, text, read_scope, p, format=fmt)
    q = _write(tmp_path / "m.csv", "TIME,CH1\n0,1\n1e-6,2\n")
    _raises(
        FormatError,
        f"{q}: not a Tektronix MSO CSV (no 'Sample Interval' or 'Record Length' in the preamble)",
        read_scope,
        q,
        format="tek_mso_csv",
    )
    r = _write(tmp_path / "r.csv", "X,CH1,Start,Increment\nSequence,Volt,,\n0,1\n1,2\n")
    _raises(FormatError, f"{r}: Rigol CSV header lacks Start/Increment values", read_scope, r)
    w = tmp_path / "x.wfm"
    w.write_bytes(b"\x0f\x0f:WFM#003" + bytes(200))
    with pytest.raises(FormatError, match=rf"^{re.escape(str(w))}: cannot be read by RigolWFM \("):
        read_scope(w)


def test_reader_table_messages(tmp_path):
    from mohilbert.io import read_scope
    from mohilbert.io._table import numeric_table

    p = _write(tmp_path / "g.csv", "time,CH1\n0,1\n1,\n2,3\n3,4\n")
    _raises(
        InputError,
        f"{p}: 1 data row(s) hold an empty, NaN or infinite sample (first at line 3); mohilbert "
        "does not guess missing samples: re-export or crop the file",
        read_scope,
        p,
    )
    _write(p, "time,CH1\n0,1\n1,2\n2,\n")
    _raises(
        InputError,
        f"{p}: the last data row (line 4) is incomplete: the file looks truncated; export it again",
        read_scope,
        p,
    )
    _write(p, "time,CH1\n")
    _raises(
        InputError, f"{p}: no data rows after the header (line 2 on)", numeric_table, p, 1, [0, 1]
    )
    _write(p, "time,CH1\n,\n,\n")
    _raises(
        InputError, f"{p}: no data rows after the header (line 2 on)", numeric_table, p, 1, [0, 1]
    )


def test_reader_assembly_messages(tmp_path):
    from mohilbert.io.scope import _assemble, _Parsed

    p = tmp_path / "x.csv"
    _raises(InputError, f"{p}: no channel data found", _assemble, p, "generic_csv", _Parsed({}))
    two = _Parsed({"A": np.ones(3), "B": np.ones(4)}, dt=1.0)
    _raises(
        InputError,
        f"{p}: channels have different lengths {{'A': 3, 'B': 4}}",
        _assemble,
        p,
        "generic_csv",
        two,
    )
    _raises(
        InputError,
        f"{p}: only 1 sample(s); nothing to analyse",
        _assemble,
        p,
        "generic_csv",
        _Parsed({"A": np.ones(1)}, dt=1.0),
    )
    _raises(
        InputError,
        f"{p}: channel A has 1 NaN or infinite sample(s)",
        _assemble,
        p,
        "generic_csv",
        _Parsed({"A": np.array([1.0, np.inf])}, dt=1.0),
    )
    _raises(
        InputError,
        f"{p}: the file states no usable sample interval (0.0)",
        _assemble,
        p,
        "generic_csv",
        _Parsed({"A": np.ones(3)}, dt=0.0),
    )


def test_binary_truncation_messages(tmp_path):
    from mohilbert.io import read_scope
    from mohilbert.io.writers import write_tek_isf

    p = write_tek_isf(tmp_path / "x.isf", 0.0, 1e-6, np.zeros(100))
    p.write_bytes(p.read_bytes()[:-50])
    _raises(
        InputError, f"{p}: data block has 151 of 200 bytes: the file is truncated", read_scope, p
    )
    src = shared_path("data", "scope-samples", "lecroy_WP254HD-MS_lecroy_2.trc")
    t = tmp_path / "cut.trc"
    t.write_bytes(src.read_bytes()[:-100])
    with pytest.raises(
        InputError,
        match=rf"^{re.escape(str(t))}: the data block is shorter than the header says \(\d+ of \d+ bytes\): the file is truncated$",
    ):
        read_scope(t)


def test_ingest_messages(tmp_path):
    from mohilbert.io.ingest import ingest_run
    from mohilbert.io.writers import write_tek_mso_csv

    v = np.sin(np.linspace(0, 20, 300))
    multi = write_tek_mso_csv(tmp_path / "m.csv", 0.0, 1e-6, {"CH1": v, "CH2": -v})
    rec = {"run": "r", "signal_path": str(multi)}
    _raises(
        InputError,
        f"run r: {multi} has channels ['CH1', 'CH2']; name the 'signal' channel in the sheet",
        ingest_run,
        rec,
    )
    _raises(
        InputError,
        "run r: no signal file",
        ingest_run,
        {"run": "r", "etalon_path": str(multi), "etalon": "CH1"},
    )
    seq = shared_path("data", "scope-samples", "lecroy_WR64Xi-A_lecroy_3.trc")
    _raises(
        InputError,
        f"run r: {seq} is a sequence-mode capture (20 segments); export one sweep per run",
        ingest_run,
        {"run": "r", "signal_path": str(seq)},
    )


def test_save_dataset_needs_units(tmp_path):
    from mohilbert.io import save_dataset

    ds = xr.Dataset({"a": ("x", np.ones(3))})
    p = tmp_path / "a.nc"
    _raises(ValueError, f"{p}: variables without units/long_name attrs: ['a']", save_dataset, ds, p)


# ------------------------------------------------------------------------------ the sheet


def test_sheet_messages(tmp_path):
    from mohilbert.runs import load_runs

    header = "run\texperiment\tsignal\tsignal_file\tgeometry\tpolarisation\tcell_length_m\ttemperature_C\tfield_T\n"
    p = _write(tmp_path / "runs.tsv", header)
    _raises(
        SheetError,
        f"{p}: the runs sheet has no rows",
        load_runs,
        p,
        SCHEMA_PATH,
        data_root=tmp_path,
    )
    _write(p, header + "r\tx..y\tC1\ta.csv\tfaraday\tsigma_plus\t0.002\t80\t0.6\n")
    (tmp_path / "a.csv").write_text("x")
    _raises(
        SheetError,
        f"{p}: row 2, column 'experiment': 'x..y' contains '..'",
        load_runs,
        p,
        SCHEMA_PATH,
        data_root=tmp_path,
    )
    _write(p, header + "r\te\tC1\tnope.csv\tfaraday\tsigma_plus\t0.002\t80\t0.6\n")
    _raises(
        SheetError,
        f"{p}: row 2 (run 'r'), column 'signal_file': file 'nope.csv' not found (looked at "
        f"{(tmp_path / 'nope.csv').resolve()})",
        load_runs,
        p,
        SCHEMA_PATH,
        data_root=tmp_path,
    )
    row = "r\te\tC1\ta.csv\tfaraday\tsigma_plus\t0.002\t80\t0.6"
    _write(p, header + row + "\n" + row + "\textra\tcells\n")
    with pytest.raises(
        SheetError,
        match=rf"^{re.escape(str(p))}: not a tab-separated table \(Error tokenizing data",
    ):
        load_runs(p, SCHEMA_PATH, data_root=tmp_path)
    d = tmp_path / "dir.tsv"
    d.mkdir()
    with pytest.raises(
        SheetError,
        match=rf"^{re.escape(str(d))}: cannot read the runs sheet \(\[Errno 21\] Is a directory",
    ):
        load_runs(d, SCHEMA_PATH)
    fsr = _write(
        tmp_path / "fsr.tsv",
        header.rstrip("\n")
        + "\tetalon\tetalon_file\n"
        + "r\te\tC1\ta.csv\tfaraday\tsigma_plus\t0.002\t80\t0.6\tC2\ta.csv\n",
    )
    _raises(
        SheetError,
        f"{fsr}: row 2 (run 'r'), column 'etalon_fsr_MHz': an etalon channel is named but its "
        "free spectral range is empty",
        load_runs,
        fsr,
        SCHEMA_PATH,
        data_root=tmp_path,
    )


# ------------------------------------------------------------------ calibration and analysis


@pytest.fixture(scope="module")
def demo_raw():
    from mohilbert.io.ingest import ingest_run
    from mohilbert.runs import load_runs, run_record

    runs = load_runs(REPO / "config" / "runs.tsv", SCHEMA_PATH, data_root=REPO / "data" / "raw")
    rec = run_record(runs, "faraday_sp")
    return ingest_run(rec), rec


def test_calibration_messages(demo_raw):
    from mohilbert.calibration.core import calibrate_run
    from mohilbert.calibration.fringes import detect_fringes, segment_scan

    raw, rec = demo_raw
    _raises(
        CalibrationError,
        "run faraday_sp: no etalon channel; the scan cannot be linearised",
        calibrate_run,
        raw.drop_vars("etalon"),
        rec,
    )
    _raises(
        CalibrationError,
        "run faraday_sp: etalon_fsr_MHz is not set in the runs sheet",
        calibrate_run,
        raw,
        {**rec, "etalon_fsr_MHz": None},
    )
    _raises(
        CalibrationError,
        "run faraday_sp: absolute='reference' but the run has no reference channel",
        calibrate_run,
        raw.drop_vars("reference"),
        rec,
        {"absolute": "reference"},
    )
    with pytest.raises(
        CalibrationError,
        match=r"^run faraday_sp: the calibrated scan spans \d+ MHz, fewer than 10 grid steps of 20000 MHz; lower calibrate.grid_step_MHz$",
    ):
        calibrate_run(raw, rec, {"grid_step_MHz": 20000.0})
    t = np.linspace(0, 1, 4000)
    two = np.exp(-(((t - 0.3) / 0.002) ** 2)) + np.exp(-(((t - 0.7) / 0.002) ** 2))
    two += np.random.default_rng(0).normal(0, 1e-3, t.size)
    _raises(
        CalibrationError,
        "run r: only 2 etalon fringe(s) found; the scan must cover at least 10 free spectral ranges",
        detect_fringes,
        t,
        two,
        "r",
    )
    _raises(
        CalibrationError,
        "run r: too few etalon fringes (2) to linearise the scan",
        segment_scan,
        np.array([0.0, 1.0]),
        "r",
    )
    _raises(
        CalibrationError,
        "run r: no etalon fringes found (the etalon channel is constant at 0.5 V); check that the "
        "etalon photodiode is connected and the laser was scanning",
        detect_fringes,
        t,
        np.full(t.size, 0.5),
        "r",
    )


def _fake_calibrated(run, detuning, transmission):
    n = detuning.size
    return xr.Dataset(
        {
            "transmission": ("detuning", transmission, {"units": "1", "long_name": "T"}),
            "transmission_uncertainty": (
                "detuning",
                np.full(n, 1e-3),
                {"units": "1", "long_name": "s"},
            ),
            "transmission_uncertainty_correlated": (
                "detuning",
                np.zeros(n),
                {"units": "1", "long_name": "c"},
            ),
            "optical_depth": (
                "detuning",
                -np.log(np.clip(transmission, 1e-9, None)),
                {"units": "1", "long_name": "od"},
            ),
        },
        coords={"detuning": ("detuning", detuning, {"units": "MHz", "long_name": "detuning"})},
        attrs={"run": run},
    )


def test_fit_and_analysis_messages(demo_raw):
    from mohilbert.fitting import FitSpectrum, fit_spectra
    from mohilbert.kramers_kronig import index_from_od
    from mohilbert.stages.fit import fit_experiment
    from mohilbert.stages.hilbert import _common_grid
    from mohilbert.theory import Cell

    _, rec = demo_raw
    _raises(FitError, "no calibrated runs to fit", fit_experiment, {}, {})
    x = np.linspace(-1000, 1000, 201)
    bad = _fake_calibrated("faraday_sp", x, np.full(x.size, np.nan))
    _raises(
        FitError,
        "run faraday_sp: fewer than 20 usable points to fit",
        fit_experiment,
        {"faraday_sp": bad},
        {"faraday_sp": rec},
    )
    a, b = (
        _fake_calibrated("a", x, np.ones(x.size)),
        _fake_calibrated("b", x + 5000, np.ones(x.size)),
    )
    _raises(
        AnalysisError,
        "runs ['a', 'b'] do not overlap in detuning (4000..1000 MHz)",
        _common_grid,
        {"a": a, "b": b},
        ["a", "b"],
    )
    cell = Cell(element="Rb", line="D2", length_m=2e-3, temperature_C=80)
    _raises(FitError, "no spectra to fit", fit_spectra, [], cell, ["temperature_C"])
    cases = {
        "spectrum s: detuning and data must be 1-D arrays of one length (>= 3)": FitSpectrum(
            detuning_MHz=x, data=np.ones(5), name="s"
        ),
        "spectrum s: NaN or inf in detuning or data": FitSpectrum(
            detuning_MHz=x, data=np.full(x.size, np.nan), name="s"
        ),
        "spectrum s: sigma must be positive everywhere": FitSpectrum(
            detuning_MHz=x, data=np.ones(x.size), sigma=np.zeros(x.size), name="s"
        ),
    }
    for text, spec in cases.items():
        _raises(FitError, text, fit_spectra, [spec], cell, ["temperature_C"])
    od = np.zeros(x.size)
    _raises(
        AnalysisError,
        "detuning and optical depth must be 1-D arrays of one length (>= 8)",
        index_from_od,
        x[:5],
        od[:5],
        1.0,
    )
    _raises(
        AnalysisError,
        "the Hilbert transform needs a uniform detuning grid; resample first",
        index_from_od,
        x**3,
        od,
        1.0,
    )
    _raises(
        AnalysisError,
        "pad_factor must be >= 2 (zero padding against wrap-around)",
        index_from_od,
        x,
        od,
        1.0,
        pad_factor=1,
    )
    sat = np.zeros(x.size, bool)
    sat[10:13] = True
    _raises(
        AnalysisError,
        "3 saturated or missing point(s) need a model optical depth to be filled",
        index_from_od,
        x,
        od,
        1.0,
        saturated=sat,
    )


# -------------------------------------------------------------------- the list is complete

#: raise sites that no input reaches in a test, each with the reason
UNREACHED = {
    ("calibration/core.py", "fit failed"): "scipy least_squares raising on finite input",
    ("calibration/core.py", "fit did not converge"): "least_squares ending above its start cost",
    ("calibration/fringes.py", "the linearised scan is not monotonic; check the segment"): (
        "a CV-chosen polynomial through monotonic fringe times that is not monotonic"
    ),
    ("fitting.py", "fit failed"): "lmfit raising on finite data (nan_policy='raise' on the model)",
    ("calibration/core.py", "does not match the expected spectrum anywhere in the scan"): (
        "no test input found: random absorption features and wrong elements pass the 0.3 "
        "correlation; the axis-scale gate (test_gates) stops those first"
    ),
}


def _fragments(node: ast.AST) -> list[str]:
    parts = [
        sub.value
        for sub in ast.walk(node)
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
    ]
    frags = [w.strip(" :;,()'\"") for p in parts for w in re.split(r"[{}]", p)]
    return [f for f in frags if len(f) >= 10]


def test_every_raise_site_is_read_by_a_test():
    """Every `raise X("...")` in src/mohilbert has a static piece of its text in some test
    (its first or last 20 characters), or is listed in UNREACHED with a reason."""
    tests = "\n".join(p.read_text() for p in (REPO / "tests").glob("*.py"))
    tests = tests.replace("\\", "").replace('"\n', "").replace("\n", " ")
    tests = re.sub(r'"\s+"', "", tests)  # implicitly joined string literals
    src = REPO / "src" / "mohilbert"
    missing = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            if not node.exc.args:
                continue
            frags = _fragments(node.exc.args[0])
            if not frags or any((rel, f) in UNREACHED for f in frags):
                continue
            if not any(f[:20] in tests or f[-20:] in tests for f in frags):
                missing.append(f"{rel}:{node.lineno}: {frags[0][:60]!r}")
    assert missing == [], "raise sites whose text no test reads:\n" + "\n".join(missing)
