"""What the stages' files say in their attributes, declared once (pvlib's ``ModelChainResult``,
lmfit's results): one typed record per file kind, with ``from_attrs`` / ``from_dataset`` (the
defaults of files written before an attribute existed, in one place) and ``to_attrs``.

Readers never guess: a stage, a gate, a figure or the report reads a file's numbers through
its record, so an attribute has one name, one unit and one default.

* :class:`CalibratedAttrs` — ``results/calibrated/{run}.nc``: the frequency axis, the noise,
  the dark;
* :class:`FitAttrs` — ``results/fits/{experiment}.nc`` and ``results/series/{series}.nc``;
* :class:`HilbertAttrs` — ``results/hilbert/{experiment}.nc``;
* :class:`AxisUncertainty` — a run's detuning-axis uncertainty, the one model both the fit's
  budget and the Hilbert stage use (:meth:`CalibratedAttrs.axis_uncertainty`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

_NAN = float("nan")


def _units(unit: str) -> dict:
    return {"units": unit}


class _AttrsRecord:
    """``from_attrs`` / ``to_attrs`` of a frozen dataclass whose fields are attribute names."""

    @classmethod
    def from_attrs(cls, attrs: Mapping):
        """The record of a file's attributes; an attribute the file lacks (written before it
        existed) takes the field's declared default."""
        values = {}
        for f in fields(cls):
            if f.name not in attrs:
                continue
            raw = attrs[f.name]
            kind = f.metadata.get("kind", "float")
            values[f.name] = _decode(raw, kind)
        return cls(**values)

    @classmethod
    def from_dataset(cls, ds):
        """:meth:`from_attrs` of a dataset's attributes."""
        return cls.from_attrs(ds.attrs)

    def to_attrs(self) -> dict:
        """The attributes as the file stores them (booleans as 0/1, mappings as JSON)."""
        out = {}
        for f in fields(self):
            out[f.name] = _encode(getattr(self, f.name), f.metadata.get("kind", "float"))
        return out


def _decode(raw, kind: str):
    if kind == "float":
        return float(raw)
    if kind == "int":
        return int(raw)
    if kind == "bool":
        return bool(int(raw))
    if kind == "json":
        return json.loads(raw) if isinstance(raw, str) else raw
    if kind == "list":  # ", "-separated names
        return tuple(s.strip() for s in str(raw).split(",") if s.strip())
    return str(raw)


def _encode(value, kind: str):
    if kind == "bool":
        return int(bool(value))
    if kind == "int":
        return int(value)
    if kind == "json":
        return json.dumps(value)
    if kind == "list":
        return ", ".join(value)
    return value


@dataclass(frozen=True)
class AxisUncertainty:
    """A run's detuning-axis uncertainty, from its calibration and sheet.

    Attributes
    ----------
    scale_term : str
        The budget term of the axis scale: ``"axis_scale"`` (the calibration fitted it) or
        ``"etalon_fsr"`` (the sheet's etalon FSR and its uncertainty).
    scale_relative : float
        Relative standard uncertainty of the axis scale [1].
    offset_MHz : float
        Standard uncertainty of the axis offset [MHz].
    linearisation_rms_MHz : float
        RMS of the etalon fringe residuals about the linearised scan [MHz].
    """

    scale_term: str
    scale_relative: float
    offset_MHz: float
    linearisation_rms_MHz: float

    def sigma_MHz(
        self, detuning_MHz=0.0, shift_MHz: float = 0.0, shift_stderr_MHz: float = 0.0
    ) -> np.ndarray:
        """Standard uncertainty of the detuning [MHz] at ``detuning_MHz`` (an array or a
        number): linearisation, offset, the axis scale stretching the axis about its zero
        (``scale_relative`` × |detuning|), and a fit's per-run shift (its value measures how
        far the axis was off, its standard error how well the fit knows it)."""
        return np.sqrt(
            self.linearisation_rms_MHz**2
            + self.offset_MHz**2
            + shift_stderr_MHz**2
            + shift_MHz**2
            + (self.scale_relative * np.asarray(detuning_MHz, dtype=float)) ** 2
        )


@dataclass(frozen=True)
class CalibratedAttrs(_AttrsRecord):
    """The calibration's numbers of one run (attributes of ``results/calibrated/{run}.nc``)
    that later stages read. Units in the names; defaults: files written before the
    attribute existed."""

    linearisation_rms_MHz: float = 0.0
    axis_sign: int = field(default=1, metadata={"kind": "int"})
    axis_offset_MHz: float = 0.0
    axis_offset_stderr_MHz: float = 0.0
    axis_scale: float = 1.0
    axis_scale_stderr: float = 0.0
    axis_scale_fitted: bool = field(default=False, metadata={"kind": "bool"})
    absolute_method: str = field(default="", metadata={"kind": "str"})
    absolute_fit_redchi_noise: float = 0.0
    absolute_fit_redchi_total: float = _NAN
    absolute_model: str = field(default="weak-probe theory", metadata={"kind": "str"})
    probe_power_W: float = _NAN
    scan_fraction_kept: float = 1.0
    scan_lines_covered: float = _NAN
    calibration_segment_cuts: str = field(default="", metadata={"kind": "str"})
    correlated_noise_relative: float = 0.0
    correlated_noise_length_MHz: float = 10.0
    #: the fraction of the correlated noise's variance correlated over GHz, and that length
    correlated_noise_slow_fraction: float = 0.0
    correlated_noise_slow_length_MHz: float = 0.0
    etalon_fsr_sheet_MHz: float = _NAN
    etalon_fsr_uncertainty_MHz: float = 0.0
    etalon_fsr_fitted_MHz: float = _NAN
    etalon_fsr_fitted_uncertainty_MHz: float = _NAN
    reference_temperature_C: float = _NAN
    dark_file: str = field(default="", metadata={"kind": "str"})
    #: the dark level subtracted [V], its stated standard uncertainty [V], the dark trace's
    #: vertical resolution [V] (its scope setting; NaN without a trace)
    dark_level_V: float = 0.0
    dark_uncertainty_V: float = 0.0
    dark_adc_step_V: float = _NAN
    #: when the dark and the signal traces were recorded (the scope's time stamps, ISO 8601;
    #: "" without them)
    dark_trigger_time: str = field(default="", metadata={"kind": "str"})
    signal_trigger_time: str = field(default="", metadata={"kind": "str"})
    baseline: str = field(default="", metadata={"kind": "str"})
    #: why a run of a power series could not be calibrated (its file then holds no spectrum:
    #: the series, its line-centre analysis and figures go on without it); "" when calibrated
    left_out: str = field(default="", metadata={"kind": "str"})

    def axis_uncertainty(self) -> AxisUncertainty:
        """The run's :class:`AxisUncertainty`: the fitted axis scale's standard error where
        the calibration fitted it, else the sheet's etalon FSR uncertainty."""
        if self.axis_scale_fitted:
            term, rel = "axis_scale", self.axis_scale_stderr / self.axis_scale
        else:
            fsr = self.etalon_fsr_sheet_MHz
            ok = math.isfinite(fsr) and fsr > 0
            term, rel = "etalon_fsr", (self.etalon_fsr_uncertainty_MHz / fsr if ok else 0.0)
        return AxisUncertainty(
            term,
            float(rel),
            float(np.nan_to_num(self.axis_offset_stderr_MHz)),
            float(np.nan_to_num(self.linearisation_rms_MHz)),
        )


def split_left_out(calibrated: Mapping) -> tuple[dict, dict[str, str]]:
    """The calibrated datasets of a power series that hold a spectrum, and the one-line
    reason of each run left out (:attr:`CalibratedAttrs.left_out`), both keyed by run."""
    usable, left = {}, {}
    for run, ds in calibrated.items():
        reason = CalibratedAttrs.from_attrs(ds.attrs).left_out
        if reason:
            left[run] = reason
        else:
            usable[run] = ds
    return usable, left


@dataclass(frozen=True)
class FitAttrs(_AttrsRecord):
    """A joint fit's attributes (``results/fits/{experiment}.nc``, ``results/series/{series}.nc``)
    that later stages read."""

    experiment: str = field(default="", metadata={"kind": "str"})
    runs: tuple[str, ...] = field(default=(), metadata={"kind": "list"})
    redchi: float = _NAN
    budget_terms_json: dict = field(default_factory=dict, metadata={"kind": "json"})
    nominal_json: dict = field(default_factory=dict, metadata={"kind": "json"})
    etalon_fsr_json: dict = field(default_factory=dict, metadata={"kind": "json"})
    ties_json: dict = field(default_factory=dict, metadata={"kind": "json"})
    per_detection_setting: tuple[str, ...] = field(default=(), metadata={"kind": "list"})
    z_slices: int = field(default=1, metadata={"kind": "int"})
    weak_probe_limit_saturation: float = _NAN


@dataclass(frozen=True)
class HilbertAttrs(_AttrsRecord):
    """A Hilbert analysis' attributes (``results/hilbert/{experiment}.nc``) that later stages
    read."""

    experiment: str = field(default="", metadata={"kind": "str"})
    geometry: str = field(default="", metadata={"kind": "str"})
    cell_length_m: float = 0.0
    metrics_json: dict = field(default_factory=dict, metadata={"kind": "json"})
    saturated_runs: dict = field(default_factory=dict, metadata={"kind": "json"})
