"""The typed records between the calibration's steps (:mod:`mohilbert.calibration.core`):
the absolute-axis fit, the linearised scan, the dark level, the absolute axis and the
baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mohilbert.theory import Cell


@dataclass
class AxisFit:
    """Result of the absolute-axis fit: values, standard errors, reduced chi-square."""

    values: dict[str, float]
    stderr: dict[str, float]
    redchi: float


@dataclass
class Scan:
    """The linearised laser scan: the samples kept (a regular stretch between etalon fringes)
    and their relative frequency [MHz]."""

    keep: np.ndarray  # mask over the raw record
    t: np.ndarray  # time of the kept samples [s]
    f: np.ndarray  # relative frequency of the kept samples [MHz]
    fringes: object  # detect_fringes result
    segment: object  # segment_scan result
    fringe_times: np.ndarray  # [s]
    lin: object  # linearise result
    n_record: int


@dataclass
class Dark:
    """The dark level [V] subtracted from the signal and reference, and where it came from."""

    level_V: float
    source: str
    uncertainty_V: float
    #: the dark trace's file ("" when the level is not from a trace)
    file: str = ""
    #: the dark trace's vertical resolution [V] (:func:`mohilbert.signal.adc_step_V`): the
    #: scope's vertical setting it was recorded at; NaN without a trace or for a flat one
    adc_step_V: float = float("nan")
    #: when the dark trace was recorded (the scope's time stamp, ISO 8601; "" without one)
    recorded: str = ""


@dataclass
class Absolute:
    """The absolute detuning axis and the fit that pinned it (reference cell or the signal's
    own theory)."""

    mode: str  # reference | self
    nu: np.ndarray  # absolute detuning of the kept samples [MHz]
    fit: AxisFit
    fitted: dict  # the fitted physical parameters
    cell: Cell  # the signal's cell (fitted parameters in the self-calibration)
    pol: object
    fit_cell: Cell
    channel: np.ndarray  # the channel fitted (reference or signal), dark subtracted [V]
    channel_noise: float
    sign: int
    score: float
    axis_degree: int
    fit_scale: bool
    #: the theory the axis was fitted with
    model: str = "weak-probe theory"


@dataclass
class Baseline:
    """The light level without atoms [V] at every kept sample, its standard error, its
    correlated error shapes, and the off-resonant mask it was fitted through."""

    level: np.ndarray
    sigma: np.ndarray
    modes: dict
    description: str
    mask: np.ndarray
    model_t: np.ndarray  # theory transmission at the kept samples (the mask's source)
