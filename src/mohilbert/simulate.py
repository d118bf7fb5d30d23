r"""Instrument simulator: the theory model + a lab's instruments → realistic raw scope exports.

One acquisition is one laser scan recorded by an oscilloscope:

* **laser scan** — time → detuning map :math:`\nu(t) = \nu_0 + \Delta\nu\, g(u)` with a smooth
  nonlinear :math:`g(u) = (e^{\kappa u} - 1)/(e^{\kappa} - 1)` plus a small sinusoidal ripple;
  optional turnaround at both ends (the piezo reverses: the scan folds back); the laser power
  ramps linearly with the scan, with a weak baseline fringe from parasitic etalons;
* **photodiodes** — dark offset + gain × power × optical transmission, white noise and 1/f
  noise;
* **scope** — each channel quantised at its vertical scale and bit depth (full screen =
  ``divisions`` × V/div around the offset) and clipped when overdriven;
* **channels** — cell transmission for the chosen input polarisation and geometry; a
  Fabry–Perot etalon (Airy function, FSR and finesse, slowly varying contrast); a zero-field
  reference cell; a dark trace; optionally a balanced polarimeter after the cell (Faraday:
  S2 with linear input; Voigt: S3 with 45° input);
* written as LeCroy one-file-per-channel CSV or a Tektronix MSO multi-channel CSV, plus a
  ground-truth netCDF (true detuning vs time, true transmission per channel, every model and
  instrument parameter).

Everything is seeded (numpy PCG64) and deterministic. A *campaign* is a YAML file listing the
acquisitions; ``mohilbert simulate campaign.yaml --out DIR`` writes all of them and the rows of
the runs sheet.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

from mohilbert.io.netcdf import save_dataset
from mohilbert.io.writers import write_lecroy_csv, write_tek_mso_csv
from mohilbert.theory import Cell, intense_arrays, spectrum_arrays


@dataclass
class ScanModel:
    """Laser frequency sweep during one acquisition."""

    start_MHz: float = -32000.0  #: detuning at the start of the monotonic part [MHz]
    stop_MHz: float = 32000.0  #: detuning at the end of the monotonic part [MHz]
    curvature: float = 0.6  #: κ of g(u); 0 = linear sweep
    ripple_MHz: float = 15.0  #: amplitude of the sinusoidal nonlinearity [MHz]
    ripple_cycles: float = 3.5  #: ripple periods across the scan
    turnaround_fraction: float = 0.03  #: fraction of the record at each end after the turn
    power_ramp: float = 0.15  #: relative laser-power change across the scan
    fringe_amplitude: float = 0.01  #: relative baseline fringe from parasitic etalons (windows)
    fringe_period_MHz: float = 9000.0  #: period of that fringe in laser frequency [MHz]
    fringe_phase_rad: float = 1.0  #: its phase (drifts between acquisitions as the optics warm)


@dataclass
class ChannelModel:
    """Photodiode and scope channel."""

    gain_V: float = 0.5  #: photodiode volts at full (unattenuated) power
    dark_V: float = 0.012  #: dark offset [V]
    white_noise_V: float = 5e-4  #: rms white noise [V]
    flicker_noise_V: float = 3e-4  #: rms 1/f noise [V]
    volts_per_div: float = 0.08  #: scope vertical scale [V/div]
    offset_V: float = 0.25  #: voltage at the screen centre [V]
    divisions: int = 8
    bits: int = 12


@dataclass
class EtalonModel:
    """Fabry–Perot etalon/cavity in transmission."""

    fsr_MHz: float = 750.0
    finesse: float = 8.0
    contrast_variation: float = 0.08  #: relative slow variation of the fringe height
    phase_rad: float = 0.3


@dataclass
class Acquisition:
    """One simulated run."""

    run: str
    experiment: str
    geometry: str  # faraday | voigt | zero_field
    polarisation: str
    cell: dict = field(default_factory=dict)  # Cell fields
    polarimeter: bool = False
    writer: str = "lecroy_csv"  # lecroy_csv | tek_mso_csv
    n_samples: int = 20000
    duration_s: float = 0.02
    seed: int = 0
    scan: dict = field(default_factory=dict)
    etalon: dict = field(default_factory=dict)
    reference_cell: dict = field(default_factory=lambda: {"length_m": 0.075, "temperature_C": 20.0})
    channels: dict = field(default_factory=dict)  # role -> ChannelModel overrides
    #: an intense probe (ProbeModel fields); empty: the weak probe
    probe: dict = field(default_factory=dict)
    series: str = ""  #: the power series the run belongs to (sheet column series)
    nominal: dict = field(default_factory=dict)  #: this run's sheet values over the campaign's


@dataclass
class ProbeModel:
    """The probe light of an intense-probe acquisition (a power series, HIP-ElecSus).

    ``power_W`` is what the lab's power meter says (the sheet's ``probe_power_W``);
    the atoms see ``intensity_scale`` × it (the truth a series fit recovers: losses before
    the cell, a beam larger than stated). The signal photodiode's ``gain_V`` is its volts at
    this power, as the lab set its detection for each power."""

    power_W: float = 1e-6
    beam_diameter_m: float = 1e-3
    beam_profile: str = "flat"  #: flat | gaussian
    intensity_scale: float = 1.0
    transit_scale: float = 1.0
    z_slices: int = 10


ROLES_OUT = ("signal", "etalon", "reference", "dark", "polarimeter")
LECROY_CHANNEL = {
    "signal": "C1",
    "etalon": "C2",
    "reference": "C3",
    "dark": "C4",
    "polarimeter": "C5",
}
TEK_CHANNEL = {
    "signal": "CH1",
    "etalon": "CH2",
    "reference": "CH3",
    "dark": "CH4",
    "polarimeter": "CH5",
}


def _dataclass(cls, values: dict):
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    return cls(**values)


def scan_detuning(u: np.ndarray, scan: ScanModel) -> np.ndarray:
    """Detuning [MHz] for scan coordinate ``u`` (0..1 on the monotonic part)."""
    k = scan.curvature
    g = u if abs(k) < 1e-12 else np.expm1(k * u) / np.expm1(k)
    ripple = scan.ripple_MHz * np.sin(2 * np.pi * scan.ripple_cycles * u)
    return scan.start_MHz + (scan.stop_MHz - scan.start_MHz) * g + ripple


def _flicker(rng: np.random.Generator, n: int, rms: float) -> np.ndarray:
    """1/f (pink) noise with the given rms, by shaping white noise in the Fourier domain."""
    if rms <= 0:
        return np.zeros(n)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[0] = 0.0
    noise = np.fft.irfft(spec, n)
    return noise * (rms / noise.std())


def digitise(volts: np.ndarray, ch: ChannelModel) -> tuple[np.ndarray, float, int]:
    """Quantise to the scope's ADC codes and clip at the screen edges.

    Returns (volts as recorded, quantisation step [V], number of clipped samples).
    """
    span = ch.divisions * ch.volts_per_div
    step = span / 2**ch.bits
    lo, hi = ch.offset_V - span / 2, ch.offset_V + span / 2 - step
    clipped = int(np.count_nonzero((volts < lo) | (volts > hi)))
    codes = np.round((np.clip(volts, lo, hi) - lo) / step)
    return lo + codes * step, step, clipped


def _probe_transmission(detuning: np.ndarray, cell: Cell, acq: Acquisition) -> np.ndarray:
    """The cell's transmission of an intense probe (:func:`mohilbert.theory.intense_arrays`),
    computed on a sorted grid of the scan's detunings and interpolated to every sample."""
    from mohilbert.intense import Probe

    pm = _dataclass(ProbeModel, acq.probe)
    probe = Probe(
        pm.power_W * pm.intensity_scale,
        pm.beam_diameter_m,
        pm.beam_profile,
        transit_scale=pm.transit_scale,
        z_slices=pm.z_slices,
    )
    grid = np.arange(detuning.min() - 10.0, detuning.max() + 10.0, 5.0)
    return np.interp(detuning, grid, intense_arrays(grid, cell, acq.polarisation, probe)["S0"])


def simulate_acquisition(
    acq: Acquisition,
) -> tuple[dict[str, np.ndarray], xr.Dataset, float, float]:
    """Simulate one run: recorded volts per role, the ground truth, t0 [s] and dt [s]."""
    rng = np.random.default_rng(acq.seed)
    scan = _dataclass(ScanModel, acq.scan)
    etalon = _dataclass(EtalonModel, acq.etalon)
    n = acq.n_samples
    dt = acq.duration_s / n
    t0 = -acq.duration_s / 2
    s = np.arange(n) / (n - 1)
    a = scan.turnaround_fraction
    u = (s - a) / (1 - 2 * a)
    u = np.where(u < 0, -u, np.where(u > 1, 2 - u, u))  # the sweep folds back at both ends
    detuning = scan_detuning(u, scan)
    power = (1 + scan.power_ramp * (s - 0.5)) * (
        1
        + scan.fringe_amplitude
        * np.sin(2 * np.pi * detuning / scan.fringe_period_MHz + scan.fringe_phase_rad)
    )

    cell = Cell(**acq.cell)
    if acq.geometry == "voigt" and cell.field_theta_deg != 90:
        cell = cell.with_(field_theta_deg=90.0)
    sig = spectrum_arrays(detuning, cell, acq.polarisation)
    truth = {"signal": _probe_transmission(detuning, cell, acq) if acq.probe else sig["S0"]}
    if acq.polarimeter:
        # balanced polarimeter: Faraday rotation shows in S2, Voigt retardance in S3
        truth["polarimeter"] = sig["S2"] if acq.geometry == "faraday" else sig["S3"]
    ref_cell = Cell(element=cell.element, line=cell.line, **acq.reference_cell)
    truth["reference"] = spectrum_arrays(detuning, ref_cell, "x")["S0"]
    coeff = (2 * etalon.finesse / np.pi) ** 2
    contrast = 1 + etalon.contrast_variation * np.sin(2 * np.pi * 0.7 * s + 0.4)
    truth["etalon"] = contrast / (
        1 + coeff * np.sin(np.pi * detuning / etalon.fsr_MHz + etalon.phase_rad) ** 2
    )
    truth["dark"] = np.zeros(n)

    defaults = {
        "signal": {},
        "etalon": {"gain_V": 0.3, "dark_V": 0.006, "volts_per_div": 0.05, "offset_V": 0.17},
        "reference": {"gain_V": 0.35, "dark_V": 0.008, "volts_per_div": 0.06, "offset_V": 0.2},
        "dark": {"volts_per_div": 0.005, "offset_V": 0.012},
        "polarimeter": {"gain_V": 0.5, "dark_V": 0.0, "volts_per_div": 0.15, "offset_V": 0.0},
    }
    recorded, steps, clipped, models = {}, {}, {}, {}
    for role in ROLES_OUT:
        if role not in truth:
            continue
        ch = _dataclass(ChannelModel, {**defaults[role], **acq.channels.get(role, {})})
        models[role] = ch
        optical = 0.0 if role == "dark" else ch.gain_V * power * truth[role]
        volts = ch.dark_V + optical
        volts = volts + rng.normal(0.0, ch.white_noise_V, n) + _flicker(rng, n, ch.flicker_noise_V)
        recorded[role], steps[role], clipped[role] = digitise(volts, ch)

    coords = {
        "time": ("time", t0 + np.arange(n) * dt, {"units": "s", "long_name": "time since trigger"})
    }
    data = {
        "detuning": (
            "time",
            detuning,
            {"units": "MHz", "long_name": "true laser detuning from the line centre"},
        ),
        "power": ("time", power, {"units": "1", "long_name": "relative laser power"}),
    }
    for role, values in truth.items():
        data[f"true_{role}"] = (
            "time",
            values,
            {
                "units": "1",
                "long_name": f"true optical {'S2 or S3' if role == 'polarimeter' else 'transmission'} of the {role} channel",
            },
        )
        data[f"recorded_{role}"] = (
            "time",
            recorded[role],
            {
                "units": "V",
                "long_name": f"recorded {role} channel",
                "quantisation_step_V": steps[role],
                "clipped_samples": clipped[role],
            },
        )
    params = asdict(acq)
    params["cell"] = asdict(cell)
    params["channel_models"] = {r: asdict(m) for r, m in models.items()}
    params["scan_model"] = asdict(scan)
    params["etalon_model"] = asdict(etalon)
    gt = xr.Dataset(
        data,
        coords=coords,
        attrs={
            "title": f"ground truth of simulated run {acq.run}",
            "run": acq.run,
            "parameters_json": json.dumps(params, sort_keys=True, default=str),
            "source": "mohilbert.simulate",
        },
    )
    return recorded, gt, t0, dt


def write_acquisition(acq: Acquisition, out_dir: Path) -> tuple[dict, xr.Dataset]:
    """Simulate and write one run's exports and ground truth; return its runs-sheet row."""
    recorded, gt, t0, dt = simulate_acquisition(acq)
    out_dir.mkdir(parents=True, exist_ok=True)
    row = {
        "run": acq.run,
        "experiment": acq.experiment,
        "geometry": acq.geometry,
        "polarisation": acq.polarisation,
    }
    if acq.writer == "lecroy_csv":
        for role, volts in recorded.items():
            name = f"{LECROY_CHANNEL[role]}--{acq.run}.csv"
            write_lecroy_csv(out_dir / name, t0, dt, volts)
            row[role] = LECROY_CHANNEL[role]
            row[f"{role}_file"] = name
    elif acq.writer == "tek_mso_csv":
        name = f"{acq.run}.csv"
        write_tek_mso_csv(
            out_dir / name, t0, dt, {TEK_CHANNEL[r]: v for r, v in recorded.items()}, model="MSO46"
        )
        row["file"] = name
        for role in recorded:
            row[role] = TEK_CHANNEL[role]
    else:
        raise ValueError(f"unknown writer {acq.writer!r}; use lecroy_csv or tek_mso_csv")
    save_dataset(gt, out_dir / "truth" / f"{acq.run}.nc", step="mohilbert simulate")
    return row, gt


def load_campaign(path: str | Path) -> tuple[list[Acquisition], dict]:
    """Read a campaign YAML: ``defaults`` merged into each entry of ``runs``."""
    spec = yaml.safe_load(Path(path).read_text())
    defaults = spec.get("defaults", {})
    acquisitions = []
    for entry in spec["runs"]:
        merged = json.loads(json.dumps(defaults))
        for key, value in entry.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            else:
                merged[key] = value
        acquisitions.append(_dataclass(Acquisition, merged))
    return acquisitions, spec


SHEET_COLUMNS = [
    "run",
    "experiment",
    "file",
    "signal",
    "signal_file",
    "etalon",
    "etalon_file",
    "reference",
    "reference_file",
    "dark",
    "dark_file",
    "polarimeter",
    "polarimeter_file",
    "geometry",
    "polarisation",
    "element",
    "line",
    "cell_length_m",
    "temperature_C",
    "field_T",
    "etalon_fsr_MHz",
    "reference_length_m",
    "reference_temperature_C",
    "notes",
]
#: the columns of a campaign with a power series (after SHEET_COLUMNS)
SERIES_COLUMNS = ("series", "isotope_percent", "probe_power_W", "beam_diameter_m", "beam_profile")


def write_campaign(path: str | Path, out_dir: str | Path, sheet_prefix: str = "") -> list[dict]:
    """Simulate every run of a campaign into ``out_dir``; return the runs-sheet rows.

    ``sheet_prefix`` is prepended to file names in the rows (their path relative to the
    workflow's data root).

    Parameters
    ----------
    path : str or pathlib.Path
        The campaign description (YAML).
    out_dir : str or pathlib.Path
        Folder for the raw exports and the sheet.
    sheet_prefix : str
        Prefix of the sheet's file paths (relative to the workflow's data_root).
    """
    acquisitions, spec = load_campaign(path)
    out_dir = Path(out_dir)
    rows = []
    for acq in acquisitions:
        row, _ = write_acquisition(acq, out_dir)
        cell = Cell(**acq.cell)
        etalon = _dataclass(EtalonModel, acq.etalon)
        for key in ("file", *[f"{r}_file" for r in ROLES_OUT]):
            if key in row:
                row[key] = sheet_prefix + row[key]
        nominal = {**spec.get("nominal", {}), **acq.nominal}
        row.update(
            element=cell.element,
            line=cell.line,
            cell_length_m=cell.length_m,
            temperature_C=nominal.get("temperature_C", cell.temperature_C),
            field_T=nominal.get("field_T", cell.field_T),
            etalon_fsr_MHz=etalon.fsr_MHz,
            reference_length_m=acq.reference_cell.get("length_m", 0.075),
            reference_temperature_C=acq.reference_cell.get("temperature_C", 20.0),
            notes=f"simulated ({acq.writer}), seed {acq.seed}",
        )
        if acq.probe:
            row.update(_series_cells(acq, cell))
        rows.append(row)
    return rows


def _series_cells(acq: Acquisition, cell: Cell) -> dict:
    """A power-series run's sheet cells (:data:`SERIES_COLUMNS`): what the lab wrote down."""
    pm = _dataclass(ProbeModel, acq.probe)
    isotopes = cell.isotope_percent or {}
    if isinstance(isotopes, str):
        isotopes = dict(part.split(":") for part in isotopes.split(",") if part != "natural")
    return {
        "series": acq.series,
        "isotope_percent": ",".join(f"{k}:{float(v):g}" for k, v in isotopes.items()) or "natural",
        "probe_power_W": f"{pm.power_W:.4g}",
        "beam_diameter_m": f"{pm.beam_diameter_m:g}",
        "beam_profile": pm.beam_profile,
    }


def campaign_sheet_text(rows: list[dict]) -> str:
    """A campaign's runs sheet (:func:`sheet_text`): with :data:`SERIES_COLUMNS` when any
    of its runs belongs to a power series (what ``mohilbert simulate --sheet`` writes)."""
    return sheet_text(rows, SERIES_COLUMNS if any(r.get("series") for r in rows) else ())


def sheet_text(rows: list[dict], extra_columns: tuple[str, ...] = ()) -> str:
    """Rows as TSV text with the standard column order (empty cells for missing roles),
    plus ``extra_columns`` at the end."""
    columns = [*SHEET_COLUMNS, *extra_columns]
    for row in rows:
        lost = sorted(set(row) - set(columns))
        if lost:
            raise ValueError(
                f"sheet_text: run {row.get('run')!r} has values for {lost}, which are not "
                "sheet columns here; add them to SHEET_COLUMNS or extra_columns"
            )
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(str(row.get(c, "")) for c in columns))
    return "\n".join(lines) + "\n"
