"""The fit parameters: one registry of their names, units, bounds and kinds (lmfit's spirit).

Every fit in mohilbert (the joint experiment fit, the power-series fit, the calibration's
self-fit, the ElecSus drop-in) names its parameters from :data:`PARAMETERS`; the
configuration schema's enums are tested against it (``tests/test_config.py``). A parameter
fitted once per run is written ``<name>__<run>`` in a fit file
(:func:`mohilbert.records.parameter_parts`); an isotope abundance is ``percent_<isotope>``
(e.g. ``percent_87Rb``).

Kinds
-----
``cell``
    A property of the cell or the field, read by :class:`mohilbert.theory.Cell`.
``probe``
    A knob of the intense-probe model (:class:`mohilbert.intense.Probe`): factors on the
    sheet's probe power and on the transit relaxation rate, the power in the other
    polarisation.
``jones``
    The input polarisation of a run with a free Jones vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Parameter:
    """One fit parameter.

    Attributes
    ----------
    name : str
        Its name in configurations, fit files and tables (unit in the name where it has one).
    unit : str
        CF/UDUNITS unit of its value and uncertainties (``"1"``: dimensionless).
    kind : str
        ``"cell"``, ``"probe"`` or ``"jones"`` (module docstring).
    bounds : tuple of float
        Default (lower, upper) bound of a fit: wide, physical, inclusive.
    step : float
        Forward-difference step of an intense-probe fit's Jacobian [its unit]
        (:meth:`mohilbert.fitting._JointModel.jacobian`): the transmission changes over it
        by ~1e-5–1e-4, while the model's own discretisation (saturation lattice,
        log-intensity table) moves it by ~1e-3 of that (``tests/test_intense.py``), and
        its curvature over one step is of the same order.
    domain : tuple of float
        Where the value means something (a field magnitude is ≥ 0): a step along the fit's
        covariance is clipped to it, and a fit that ends on a bound that is also a limit of
        the domain (no buffer gas, no light in the other mode) has found the physics' edge,
        not lost its way (:func:`mohilbert.gates.bound_warnings`).
    translation : bool
        The model depends on it only through Δ − value (a line shift moves the whole
        response, its saturation part too): the Jacobian's column is −dM/dΔ of the model
        already computed, no model evaluation.
    """

    name: str
    unit: str
    kind: str
    bounds: tuple[float, float]
    step: float
    domain: tuple[float, float] = (-np.inf, np.inf)
    translation: bool = False


PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("temperature_C", "degC", "cell", (-50.0, 400.0), 0.01),
        Parameter("field_T", "T", "cell", (0.0, 5.0), 1e-5, (0.0, np.inf)),
        Parameter("field_theta_deg", "degree", "cell", (0.0, 180.0), 0.01),
        Parameter("field_phi_deg", "degree", "cell", (-360.0, 360.0), 0.01),
        Parameter("gamma_buffer_MHz", "MHz", "cell", (0.0, 1e4), 0.01, (0.0, np.inf)),
        Parameter("shift_MHz", "MHz", "cell", (-1e4, 1e4), 0.05, translation=True),
        Parameter("length_m", "m", "cell", (1e-6, 1.0), 1e-7, (1e-9, np.inf)),
        Parameter("doppler_temperature_C", "degC", "cell", (-270.0, 400.0), 0.01),
        Parameter("intensity_scale", "1", "probe", (1e-3, 1e3), 1e-3),
        Parameter("transit_scale", "1", "probe", (1e-2, 1e2), 1e-3),
        # beyond 1/2 the probe would be mostly the other mode
        Parameter("orthogonal_fraction", "1", "probe", (0.0, 0.5), 1e-4, (0.0, 1.0)),
        # super-Gaussian order of the beam: 1/2 a cusp, 1 a Gaussian, beyond ~20 a flat top
        Parameter("beam_order", "1", "probe", (0.5, 20.0), 1e-3, (0.5, np.inf)),
        Parameter("jones_x", "1", "jones", (0.0, 10.0), 1e-4),
        Parameter("jones_y", "1", "jones", (0.0, 10.0), 1e-4),
        Parameter("jones_phase_rad", "rad", "jones", (-np.pi, np.pi), 1e-4),
    )
}

#: an isotope's abundance ``percent_<isotope>`` [%]
ISOTOPE_PREFIX = "percent_"
ISOTOPE_BOUNDS = (0.0, 100.0)
#: an isotope abundance's forward-difference step [%] (:attr:`Parameter.step`)
ISOTOPE_STEP = 0.01


def _of_kind(kind: str) -> tuple[str, ...]:
    return tuple(n for n, p in PARAMETERS.items() if p.kind == kind)


#: the parameters of a :class:`~mohilbert.theory.Cell` a fit may free (besides the isotopes')
CELL_PARAMETERS = _of_kind("cell")
#: the parameters that act on an intense :class:`~mohilbert.intense.Probe`
PROBE_PARAMETERS = _of_kind("probe")
#: a free input polarisation's Jones vector
JONES_PARAMETERS = _of_kind("jones")
#: name → unit of every named parameter
UNITS = {n: p.unit for n, p in PARAMETERS.items()}
#: name → default fit bounds of every named parameter
DEFAULT_BOUNDS = {n: p.bounds for n, p in PARAMETERS.items()}


def unit(quantity: str) -> str:
    """Unit of a fitted quantity (a parameter's name without its run): ``%`` for an isotope's
    abundance, ``"1"`` for a name the registry does not know."""
    if quantity in PARAMETERS:
        return PARAMETERS[quantity].unit
    return "%" if quantity.startswith(ISOTOPE_PREFIX) else "1"


def domain(quantity: str) -> tuple[float, float]:
    """Where a quantity's value means something (an abundance in 0…100 %)."""
    if quantity.startswith(ISOTOPE_PREFIX):
        return ISOTOPE_BOUNDS
    p = PARAMETERS.get(quantity)
    return p.domain if p is not None else (-np.inf, np.inf)


def is_translation(quantity: str) -> bool:
    """Whether the model depends on ``quantity`` (a parameter's name without its run) only
    through Δ − value (:attr:`Parameter.translation`)."""
    p = PARAMETERS.get(quantity)
    return p is not None and p.translation


def difference_step(quantity: str) -> float:
    """Forward-difference step of a quantity (a parameter's name without its run) in an
    intense-probe fit's Jacobian [its unit] (:attr:`Parameter.step`)."""
    if quantity.startswith(ISOTOPE_PREFIX):
        return ISOTOPE_STEP
    return PARAMETERS[quantity].step
