r"""Transmission of an intense probe: optical pumping, saturation, transit time (theory-spec §16).

The weak-probe model (:mod:`mohilbert.theory`) assumes the light does not change the atoms.
Here the probe of power P and beam diameter D pumps and saturates them:

1. **Atoms** (:mod:`mohilbert.atoms.pumping`): the steady state of every velocity class in
   the probe field, by rate equations (default) or the full Lindblad master equation.
2. **Doppler average.** With one transit rate for all atoms, the steady state depends on the
   velocity only through the atom-frame detuning δ = Δ − kv. The susceptibility is split into
   the weak-probe part, evaluated exactly by the weak-probe line sum (with the transit
   broadening added to the Lorentzian width), and the saturation part, which is sampled on a
   uniform δ grid (step half the coherence width: trapezoidal error e^(−4π) ≈ 3e-6 of that
   part) and convolved with the Maxwell–Boltzmann distribution by FFT. As P → 0 the
   saturation part vanishes ∝ P and the result is the weak-probe model itself. The δ grid
   is a fixed lattice j·h (h from the atoms alone), so every spectrum at the same atomic
   parameters — the runs of a power series, whatever their power, detuning range and line
   shift — shares the solves at equal intensity.
3. **Transit** (:func:`transit_rates_MHz`): atoms cross the beam in τ = (π/4) D / v̄₂D with
   v̄₂D = √(π k_B T / 2m) (Sagle 1996); ``transit="mean"`` uses γ_t = 1/τ,
   ``"distribution"`` averages over the 2-D (Rayleigh) speed distribution, γ_t = v⊥/(πD/4).
4. **Beam**: ``"flat"`` (uniform over D) or ``"gaussian"`` (D the 1/e² diameter), the latter
   of super-Gaussian order m (``beam_order``; I ∝ exp(−2 (r/w)^(2m)), 1 = Gaussian, → flat
   top as m grows). The detector sees ∫ I T(I) dA / P = ∫₀^∞ T(I_peak e^−s) s^(1/m−1) e^−s
   ds / Γ(1/m) with s = 2 (r/w)^(2m): generalised Gauss–Laguerre (:func:`beam_rule`; 8
   nodes: < 1e-5 in T up to I_peak = 3000 I_sat for m = 1).
5. **Propagation**: with ``z_slices`` > 1 the intensity falls along the cell at every
   detuning (Heun steps in z, the susceptibility interpolated cubically in log I between
   nodes at 10^(k/4) W/m², also a fixed lattice).

The probe must be an eigen-polarisation of the medium (σ± along a Faraday field, linear ∥ or
⊥ to a Voigt field): a superposition of two modes does not stay one at high power.

Intensity and Rabi frequency: I = ½cε₀|E|², Ω₀ = Γ √(I / 2I_sat) for a unit-strength
transition, I_sat = πhcΓ/(3λ³) (16.69 W/m² for Rb D2 — the value HIP-ElecSus uses).

``compat="hip-elecsus"`` reproduces HIP-ElecSus's choices (arXiv:2410.19916, its code at
github.com/hpaantee/HIP-ElecSus): ElecSus's atomic constants, equal ground populations, no
self-broadening, no coherence transfer in spontaneous emission, one transit time entering its
master equation as a rate 1/(2τ) of ordinary frequency (π/τ angular, π times ours: the
physics choice here is 1/τ), and propagation slices by Euler steps.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import scipy.fft as sfft
from scipy.linalg import solve_banded
from scipy.special import gamma as gamma_function
from scipy.special import roots_genlaguerre

from mohilbert import caches
from mohilbert.atoms.constants import (
    C_LIGHT,
    ELEMENT_ISOTOPES,
    H_PLANCK,
    ISOTOPES,
    K_B,
    get_line,
    isotope_fractions,
)
from mohilbert.atoms.density import number_density
from mohilbert.atoms.hamiltonian import line_list, populations
from mohilbert.atoms.lineshape import lagrange_interp_rows
from mohilbert.atoms.pumping import (
    RatePrepared,
    coherence_width_MHz,
    lindblad,
    pumping_system,
)
from mohilbert.atoms.susceptibility import MediumParams, lorentz_width, prefactor, susceptibility

BEAM_PROFILES = ("flat", "gaussian")
#: the smallest super-Gaussian order (``Probe.beam_order``): below 1/2 the profile is a cusp
BEAM_ORDER_MIN = 0.5
TRANSIT_MODELS = ("mean", "distribution")
SOLVERS = ("rate", "lindblad")
COMPAT = ("mohilbert", "hip-elecsus")
#: Maxwell–Boltzmann kernel cut at this many Doppler widths (e^-64: nothing left)
_KERNEL_WIDTHS = 8.0


@dataclass(frozen=True)
class Probe:
    """An intense probe beam and the knobs of its model, units in the names.

    Attributes
    ----------
    power_W
        Probe power entering the cell [W].
    beam_diameter_m
        Beam diameter [m]: of the flat top, or the 1/e² intensity diameter of a Gaussian.
    beam_profile
        ``"flat"`` or ``"gaussian"``.
    beam_order
        Super-Gaussian order m of a ``"gaussian"`` beam, I ∝ exp(−2 (r/w)^(2m)) with w = D/2:
        1 is a Gaussian, 2–3 a beam with a flatter top and steeper edges (a clipped or
        expanded beam), m → ∞ the flat top. Ignored for a flat beam. A power series can fit
        it (``beam_order``): how the detected saturation grows with power is set by how much
        of the light sits in the weak wings.
    transit
        ``"mean"`` (one transit time) or ``"distribution"`` (the 2-D speed distribution).
    transit_broadening
        Whether the transit rate also damps the optical coherences (physics: yes). With it
        off, P → 0 is the weak-probe model exactly.
    solver
        ``"rate"`` (rate equations) or ``"lindblad"`` (full master equation, ~40× slower).
    z_slices
        Slices along the cell for the falling intensity (1: optically thin evaluation).
    compat
        ``"mohilbert"`` or ``"hip-elecsus"`` (see the module docstring).
    beam_nodes, transit_nodes
        Quadrature nodes over a Gaussian profile and over the transit-speed distribution.
    transit_scale
        A factor on the transit relaxation rate(s) (1: γ_t = 1/τ). The rate of a real beam is
        uncertain by factors of order π (HIP-ElecSus's convention is π/τ; a beam that is not a
        clean Gaussian or flat top): a power series fits it (``transit_scale``), since optical
        pumping scales with I/γ_t and saturation of a closed line with I alone.
    step_fraction
        Detuning-grid step of the saturation part, as a fraction of the coherence width. A
        quarter: the Doppler sum over a line sampled at half its width is off by ~2e-3 of
        the saturation part, and that error moves with every change of the width
        (temperature, transit rate), enough to make a fit's χ² rough (at a quarter ~4e-6).
    orthogonal_fraction
        Fraction of the probe power in the polarisation orthogonal to the probe's (a wave
        plate or polariser that leaks, or light that is not the laser's), in [0, 1). The
        probe's mode carries (1 − f) of the power; the detector adds the orthogonal light
        incoherently, as a weak probe of the other eigenmode: it does not pump. That holds
        where it is far from its own lines (σ∓ at a σ± line centre in a strong field is GHz
        away) or f P is itself a weak probe. On an optically thick line it is a floor under
        the transmission: 3 % of it turns T = 0.13 into 0.16.
    """

    power_W: float
    beam_diameter_m: float
    beam_profile: str = "flat"
    transit: str = "mean"
    transit_broadening: bool = True
    solver: str = "rate"
    z_slices: int = 1
    compat: str = "mohilbert"
    beam_nodes: int = 8
    transit_nodes: int = 6
    step_fraction: float = 0.25
    transit_scale: float = 1.0
    orthogonal_fraction: float = 0.0
    beam_order: float = 1.0

    def __post_init__(self):
        if not (np.isfinite(self.power_W) and self.power_W >= 0):
            raise ValueError(f"probe power_W must be finite and >= 0, got {self.power_W}")
        if not (np.isfinite(self.beam_diameter_m) and self.beam_diameter_m > 0):
            raise ValueError(f"beam_diameter_m must be > 0, got {self.beam_diameter_m}")
        for name, value, allowed in (
            ("beam_profile", self.beam_profile, BEAM_PROFILES),
            ("transit", self.transit, TRANSIT_MODELS),
            ("solver", self.solver, SOLVERS),
            ("compat", self.compat, COMPAT),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if int(self.z_slices) != self.z_slices or self.z_slices < 1:
            raise ValueError(f"z_slices must be a whole number >= 1, got {self.z_slices}")
        if self.beam_nodes < 1 or self.transit_nodes < 1:
            raise ValueError("beam_nodes and transit_nodes must be >= 1")
        if not (np.isfinite(self.transit_scale) and self.transit_scale > 0):
            raise ValueError(f"transit_scale must be finite and > 0, got {self.transit_scale}")
        if not (np.isfinite(self.orthogonal_fraction) and 0 <= self.orthogonal_fraction < 1):
            raise ValueError(
                f"orthogonal_fraction must be in [0, 1), got {self.orthogonal_fraction}"
            )
        if not (np.isfinite(self.beam_order) and BEAM_ORDER_MIN <= self.beam_order):
            raise ValueError(f"beam_order must be >= {BEAM_ORDER_MIN}, got {self.beam_order}")
        if not 0 < self.step_fraction <= 1:
            raise ValueError(f"step_fraction must be in (0, 1], got {self.step_fraction}")

    @property
    def area_m2(self) -> float:
        """π D² / 4 [m²]."""
        return np.pi * self.beam_diameter_m**2 / 4

    @property
    def peak_intensity_W_m2(self) -> float:
        """P/A for a flat beam, 2P/(π w²) = 8P/(πD²) on the axis of a Gaussian, and
        2^(1/m) P / (π w² Γ(1 + 1/m)) on the axis of a super-Gaussian of order m [W/m²]."""
        if self.beam_profile == "flat":
            return self.power_W / self.area_m2
        m = self.beam_order
        return 2 ** (1 / m) / gamma_function(1 + 1 / m) * self.power_W / self.area_m2


#: the probe's fit parameters (:data:`mohilbert.parameters.PARAMETERS` of kind "probe") and
#: how each acts on a :class:`Probe`: a factor on its power or transit scale, or its value
PROBE_FACTORS = {"intensity_scale": "power_W", "transit_scale": "transit_scale"}
PROBE_VALUES = ("orthogonal_fraction", "beam_order")


def with_probe_parameters(probe: Probe, value_of) -> Probe:
    """``probe`` as a fit's probe parameters make it: its power times ``intensity_scale``,
    its transit scale times ``transit_scale``, ``orthogonal_fraction`` and ``beam_order``
    replaced; a parameter ``value_of`` gives None for is left as it is.

    Parameters
    ----------
    probe : Probe
        The probe as the sheet describes it.
    value_of : callable
        Parameter name → its fitted value (float) or None.
    """
    changes = {}
    for name, field in PROBE_FACTORS.items():
        if (v := value_of(name)) is not None:
            changes[field] = getattr(probe, field) * v
    for name in PROBE_VALUES:
        if (v := value_of(name)) is not None:
            changes[name] = v
    return replace(probe, **changes) if changes else probe


def saturation_intensity_W_m2(element: str, line: str) -> float:
    """I_sat = πhcΓ/(3λ³) [W/m²] of a unit-strength (cycling) transition of the line."""
    ln = get_line(element, line)
    gamma = 2 * np.pi * 1e6 * ln.gamma_natural_MHz
    return np.pi * H_PLANCK * C_LIGHT * gamma / (3 * ln.wavelength_m**3)


def rabi_MHz(intensity_W_m2, element: str, line: str):
    """Ω₀/2π [MHz] of a unit-strength transition at ``intensity_W_m2``: Γ √(I / 2I_sat).

    Parameters
    ----------
    intensity_W_m2 : float or array_like
        Probe intensity [W/m²].
    element : str
        Alkali element.
    line : str
        ``"D1"`` or ``"D2"``.
    """
    ln = get_line(element, line)
    i = np.asarray(intensity_W_m2, dtype=float)
    return ln.gamma_natural_MHz * np.sqrt(i / (2 * saturation_intensity_W_m2(element, line)))


def mean_transit_time_s(beam_diameter_m: float, temperature_C: float, mass_kg: float) -> float:
    """τ = (π/4) D / v̄₂D [s], v̄₂D = √(π k_B T / 2m) the mean 2-D speed (Sagle 1996).

    Parameters
    ----------
    beam_diameter_m : float
        Beam diameter [m].
    temperature_C : float
        Vapour temperature [°C].
    mass_kg : float
        Atomic mass [kg].
    """
    v2d = np.sqrt(np.pi * K_B * (temperature_C + 273.15) / (2 * mass_kg))
    return np.pi / 4 * beam_diameter_m / v2d


def transit_rates_MHz(
    probe: Probe, temperature_C: float, mass_kg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Transit relaxation rates γ_t/2π [MHz] and their weights (sum 1).

    ``"mean"``: one rate 1/(2πτ). ``"distribution"``: Gauss nodes over the Rayleigh
    distribution of the transverse speed, γ_t = v⊥ / (πD/4). HIP-ElecSus compatibility: one
    rate 1/(2τ), or over the distribution v⊥ / (2 · πD/4) (its ``transit_type='integral'``).
    Each times ``probe.transit_scale``.

    Parameters
    ----------
    probe : Probe
        The probe (beam diameter, transit model, compatibility mode).
    temperature_C : float
        Vapour temperature [°C].
    mass_kg : float
        Atomic mass [kg].
    """
    tau = mean_transit_time_s(probe.beam_diameter_m, temperature_C, mass_kg)
    f = probe.transit_scale
    hip = probe.compat == "hip-elecsus"
    if probe.transit == "mean":
        return np.array([f * 1e-6 / (2 * tau if hip else 2 * np.pi * tau)]), np.array([1.0])
    y, w = _rayleigh_rule(probe.transit_nodes)
    v = np.sqrt(K_B * (temperature_C + 273.15) / mass_kg) * y
    return f * 1e-6 * v / (np.pi / 4 * probe.beam_diameter_m) / (2 if hip else 2 * np.pi), w


@lru_cache(maxsize=64)
def beam_rule(n: int, order: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes s and weights w with Σ w f(s) ≈ ∫₀^∞ f(s) s^(1/m−1) e^(−s) ds / Γ(1/m): the
    power-weighted average over a super-Gaussian beam of order m = ``order`` of a function
    of the local intensity I_peak e^(−s) (generalised Gauss–Laguerre, exact for polynomials
    in s of degree 2n − 1; m = 1 is the Gaussian's Gauss–Laguerre rule). The weights sum
    to 1.

    Parameters
    ----------
    n : int
        Number of nodes.
    order : float
        Super-Gaussian order m (>= :data:`BEAM_ORDER_MIN`).
    """
    if order == 1.0:  # the Gaussian: numpy's rule as it is (its weights sum to 1)
        return np.polynomial.laguerre.laggauss(n)
    s, w = roots_genlaguerre(n, 1.0 / order - 1.0)
    return s, w / w.sum()


@lru_cache(maxsize=16)
def _rayleigh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes and weights for ∫₀^∞ y e^(−y²/2) f(y) dy (the Rayleigh speed distribution in
    units of √(k_B T/m)): exact for polynomials in y of degree 2n − 1 (discretised Stieltjes
    procedure + Golub–Welsch)."""
    y = np.linspace(0.0, 14.0, 20001)
    mu = y * np.exp(-(y**2) / 2) * (y[1] - y[0])
    mu /= mu.sum()
    a, b = np.zeros(n), np.zeros(n)
    p_prev, p = np.zeros_like(y), np.ones_like(y)
    norm_prev = 1.0
    for k in range(n):
        norm = mu @ (p * p)
        a[k] = mu @ (y * p * p) / norm
        b[k] = norm / norm_prev if k else 0.0
        p_prev, p = p, (y - a[k]) * p - (b[k] * p_prev if k else 0.0)
        norm_prev = norm
    jac = np.diag(a) + np.diag(np.sqrt(b[1:]), 1) + np.diag(np.sqrt(b[1:]), -1)
    nodes, vec = np.linalg.eigh(jac)
    return nodes, vec[0] ** 2


def field_frame_components(jones: np.ndarray, b_hat: np.ndarray) -> np.ndarray:
    """Spherical components (ε₊₁, ε₀, ε₋₁) of a lab Jones vector along the field ``b_hat``.

    ε_q = ê_q* · ε̂ with ê_±1 = ∓(x̂′ ± iŷ′)/√2, ê₀ = b̂ (Condon–Shortley, as the dipole
    amplitudes); for b̂ = +k the Jones vector (1, i)/√2 is pure ε₊₁.
    """
    e3 = np.array([jones[0], jones[1], 0.0], dtype=complex)
    e3 = e3 / np.linalg.norm(e3)
    b = np.asarray(b_hat, float) / np.linalg.norm(b_hat)
    helper = np.array([1.0, 0.0, 0.0]) if abs(b[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    xp = helper - b * (helper @ b)
    xp /= np.linalg.norm(xp)
    yp = np.cross(b, xp)
    e_plus = -(xp + 1j * yp) / np.sqrt(2)
    e_minus = (xp - 1j * yp) / np.sqrt(2)
    eps = np.array([np.vdot(e_plus, e3), np.vdot(b, e3), np.vdot(e_minus, e3)])
    eps[np.abs(eps) < 1e-12] = 0  # rounding: keeps the master equation's sparsity exact
    return eps / np.linalg.norm(eps)


def eigen_probe(eps: np.ndarray, geometry: str, polarisation, jones: np.ndarray) -> str:
    """Name of the eigenmode the probe is in (the weak-probe model's mode names), or a
    ValueError saying why it is not one.

    Parameters
    ----------
    eps : numpy.ndarray
        Probe components along the field (:func:`field_frame_components`).
    geometry : str
        The cell's geometry (``"faraday"``, ``"voigt"``, ...).
    polarisation : str or array_like
        The input polarisation as given (for messages).
    jones : numpy.ndarray
        Its Jones vector in the lab frame.
    """
    w = np.abs(eps) ** 2
    if geometry == "faraday":
        if w[0] > 1 - 1e-9 or w[2] > 1 - 1e-9:
            e = np.asarray(jones, complex) / np.linalg.norm(jones)
            plus = abs(np.vdot(np.array([1, 1j]) / np.sqrt(2), e)) ** 2 > 0.5
            return "sigma_plus" if plus else "sigma_minus"
    elif geometry == "voigt":
        if w[1] > 1 - 1e-9:
            return "parallel"
        if w[1] < 1e-9:
            return "perpendicular"
    else:
        raise ValueError(
            "the intense-probe model needs the field along (Faraday) or across (Voigt) the beam; "
            f"got an oblique field ({geometry})"
        )
    want = "sigma_plus or sigma_minus" if geometry == "faraday" else "parallel or perpendicular"
    raise ValueError(
        f"an intense probe must be an eigen-polarisation of the {geometry} medium ({want}); "
        f"{polarisation!r} is a superposition of two modes, which does not stay one at high power"
    )


@dataclass(frozen=True)
class _Isotope:
    name: str
    fraction: float
    system: object
    doppler_MHz: float  # k u / 2π


class ProbeResponse:
    """The probe's susceptibility χ(Δ; I) on a detuning grid, for any intensity (cached).

    Parameters
    ----------
    detuning_MHz
        Laser detuning from ν0 [MHz], 1-D.
    medium
        :class:`~mohilbert.atoms.susceptibility.MediumParams` of the cell.
    eps_q
        Probe components along the field (:func:`field_frame_components`).
    probe
        The :class:`Probe` (its power is not used here: intensities are arguments).
    """

    def __init__(self, detuning_MHz, medium: MediumParams, eps_q, probe: Probe):
        x = np.asarray(detuning_MHz, dtype=np.float64)
        if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
            raise ValueError("detuning_MHz must be a finite, non-empty 1-D array")
        if probe.compat == "hip-elecsus":
            medium = replace(medium, boltzmann=False, self_broadening=False, constants="elecsus")
        self.x, self.medium, self.probe = x, medium, probe
        self.eps = np.asarray(eps_q, dtype=complex)
        ln = get_line(medium.element, medium.line)
        self.line = ln
        density = medium.number_density_m3
        if density is None:
            density = number_density(medium.element, medium.temperature_C)
        self.density = density
        gamma_l = lorentz_width(medium, density) / (2 * np.pi * 1e6)  # FWHM [MHz]
        self.dephasing_MHz = 0.5 * (gamma_l - ln.gamma_natural_MHz)
        t_pop = medium.temperature_C + 273.15 if medium.boltzmann else None
        t_dopp = (
            medium.temperature_C
            if medium.doppler_temperature_C is None
            else medium.doppler_temperature_C
        )
        self.isotopes = []
        for name, frac in isotope_fractions(medium.element, medium.isotope_percent).items():
            if frac <= 0 or name not in ELEMENT_ISOTOPES[medium.element]:
                continue
            ll = line_list(name, medium.line, float(medium.field_G), medium.constants)
            system = pumping_system(
                name,
                medium.line,
                medium.field_G,
                self.eps,
                populations(ll, t_pop),
                ln.gamma_natural_MHz,
                medium.constants,
            )
            u = np.sqrt(2 * K_B * (t_dopp + 273.15) / ISOTOPES[name].mass_kg)
            self.isotopes.append(_Isotope(name, frac, system, u / ln.wavelength_m * 1e-6))
        # transit: one rate for all atoms, at the speed of the most abundant isotope (85Rb and
        # 87Rb differ by 1.2 %; a sheet's "85Rb:1" lists the minor one first)
        main = max(self.isotopes, key=lambda iso: iso.fraction)
        mass = ISOTOPES[main.name].mass_kg
        self.transit_MHz, self.transit_weight = transit_rates_MHz(probe, medium.temperature_C, mass)
        self.scale = prefactor(medium.element, medium.line, density) / (2 * np.pi * 1e6)
        self._linear = None
        self._cache: dict[float, np.ndarray] = {}

    # -- the weak-probe part ----------------------------------------------------------------
    def linear(self) -> np.ndarray:
        """χ of the probe in the weak limit (with transit broadening), shape (nΔ,)."""
        if self._linear is None:
            w = np.abs(self.eps) ** 2  # rows of susceptibility(): Δm = +1, −1, 0
            weights = np.array([w[0], w[2], w[1]])
            perpendicular = w[1] < 1e-9 and min(w[0], w[2]) > 1e-9  # Voigt ⊥
            total = np.zeros(self.x.size, dtype=complex)
            for rate, weight in zip(self.transit_MHz, self.transit_weight, strict=True):
                extra = 2 * rate if self.probe.transit_broadening else 0.0
                med = replace(self.medium, gamma_buffer_MHz=self.medium.gamma_buffer_MHz + extra)
                chi = susceptibility(self.x, med)
                total += weight * (weights @ chi)
                if perpendicular:
                    # the ⊥ mode of a Voigt medium: n² = ε⊥ − ε_g²/ε⊥ (second order in χ;
                    # kept at its weak-probe value)
                    eps_g = 0.5 * (chi[1] - chi[0])
                    total -= weight * eps_g**2 / (1 + 0.5 * (chi[0] + chi[1]))
            self._linear = total
        return self._linear

    # -- the saturation part ----------------------------------------------------------------
    @property
    def x_lines(self) -> np.ndarray:
        """The detunings measured from the shifted lines, Δ − ν_shift [MHz]: the shift
        (``MediumParams.shift_MHz``) moves the whole response, its saturation part too."""
        return self.x - self.medium.shift_MHz

    def _solves_key(self, iso: _Isotope, rate: float) -> _Atoms:
        """What an isotope's saturation on the δ lattice depends on (not the detunings)."""
        m, p = self.medium, self.probe
        return _Atoms(
            iso.name,
            m.line,
            float(m.field_G),
            self.eps.tobytes(),
            m.constants,
            float(m.temperature_C) if m.boltzmann else None,
            float(rate),
            float(self.dephasing_MHz),
            p.transit_broadening,
            p.solver,
            p.compat,
            float(p.step_fraction),
        )

    def saturation(self, intensity_W_m2: float) -> np.ndarray:
        """χ − χ_linear of the probe at one intensity [W/m²], shape (nΔ,)."""
        return self.saturations([intensity_W_m2])[0]

    def saturations(self, intensities_W_m2: np.ndarray) -> np.ndarray:
        """:meth:`saturation` at several intensities [W/m²], shape (n, nΔ): the lattice's
        Doppler-averaged solves of every intensity interpolated onto the detunings at once
        (the same numbers, one interpolation instead of one per intensity)."""
        keys = [float(i) for i in np.asarray(intensities_W_m2, dtype=float)]
        todo = [k for k in dict.fromkeys(keys) if k not in self._cache]
        rabis = [float(rabi_MHz(k, self.medium.element, self.medium.line)) for k in todo]
        live = [j for j, r in enumerate(rabis) if r > 0]
        out = np.zeros((len(live), self.x.size), dtype=complex)
        if live:
            x = self.x_lines
            for iso in self.isotopes:
                for rate, weight in zip(self.transit_MHz, self.transit_weight, strict=True):
                    lattice, pos = self._lattice_of(iso, rate, x)
                    convs = [lattice.doppler_averaged(rabis[j], iso.doppler_MHz) for j in live]
                    out += weight * iso.fraction * lagrange_interp_rows(convs, pos)
            out *= self.scale
        for k in todo:
            self._cache[k] = np.zeros(self.x.size, dtype=complex)
        for row, j in zip(out, live, strict=True):
            self._cache[todo[j]] = row
        return np.stack([self._cache[k] for k in keys])

    def _lattice_of(self, iso: _Isotope, rate: float, x: np.ndarray):
        """The shared lattice of one isotope and transit rate covering ``x`` [MHz], and the
        fractional lattice positions of ``x``."""
        gamma_c = coherence_width_MHz(
            iso.system, rate, self.dephasing_MHz, self.probe.transit_broadening
        )
        h = self.probe.step_fraction * gamma_c
        reach = _KERNEL_WIDTHS * iso.doppler_MHz + 3 * h
        j0 = int(np.floor((x.min() - reach) / h))
        j1 = int(np.ceil((x.max() + reach) / h))
        lattice = _lattice(self._solves_key(iso, rate), h, j0, j1, iso.system)
        return lattice, x / h - lattice.j0

    def chi(self, intensity_W_m2: float) -> np.ndarray:
        """χ of the probe at one intensity [W/m²], shape (nΔ,)."""
        return self.linear() + self.saturation(intensity_W_m2)


def _convolve_same(
    signal: np.ndarray, kernel: np.ndarray, kernel_fft: np.ndarray | None = None
) -> np.ndarray:
    """Linear convolution of ``signal`` with an odd-length centred ``kernel``, same length
    (``kernel_fft``: the kernel's FFT at :func:`_convolution_size`, when it is at hand)."""
    size = _convolution_size(signal.size, kernel.size)
    if kernel_fft is None:
        kernel_fft = sfft.fft(kernel, size)
    full = sfft.ifft(sfft.fft(signal, size) * kernel_fft)
    half = kernel.size // 2
    return full[half : half + signal.size]


def _convolution_size(n_signal: int, n_kernel: int) -> int:
    """FFT length of :func:`_convolve_same`: a fast length ≥ the linear convolution's."""
    return sfft.next_fast_len(n_signal + n_kernel - 1)


class _Atoms(NamedTuple):
    """What the saturation solves of one isotope and transit rate depend on."""

    isotope: str
    line: str
    field_G: float
    eps_bytes: bytes
    constants: str
    population_temperature_C: float | None
    rate: float
    dephasing: float
    transit_broadening: bool
    solver: str
    compat: str
    step_fraction: float


#: the loops of the compiled kernels that may run on several threads (numba.prange once
#: compiled by mohilbert.caches.compiled; plain range in Python)
prange = range
#: δ-lattice spans are rounded out to this many points (≈ 1.5 GHz), so that runs whose
#: detuning ranges differ by a few hundred MHz share one lattice
_LATTICE_BLOCK = 1024
#: lattices kept (an isotope and transit rate at one set of atomic parameters each)
_LATTICES_KEPT = 16
_LATTICES: OrderedDict[_Atoms, _Lattice] = caches.register(
    "mohilbert.intense._LATTICES", OrderedDict()
)


class _Lattice:
    """Saturation solves of one isotope and transit rate on the atom-frame detuning lattice
    δ_j = j h, shared by every :class:`ProbeResponse` with the same atoms.

    The steady state of an atom depends on the detuning only through its own δ, so the runs
    of a power series (which differ in power, detuning range and line shift) share their
    solves at equal intensity; :class:`_LogTable`'s intensity nodes are on a fixed lattice too.
    """

    def __init__(self, key: _Atoms, h: float, j0: int, j1: int, system):
        self.key, self.h, self.j0, self.j1, self.system = key, h, j0, j1, system
        self.delta = h * np.arange(j0, j1 + 1)
        self.prepared = None
        if key.solver == "rate":  # the intensity-independent part once
            self.prepared = RatePrepared(
                self.delta, system, key.rate, key.dephasing, key.transit_broadening
            )
        self.solved: dict[float, np.ndarray] = {}
        self.averaged: dict[tuple[float, float], np.ndarray] = {}
        self.kernels: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def covers(self, h: float, j0: int, j1: int) -> bool:
        return h == self.h and self.j0 <= j0 and j1 <= self.j1

    def doppler_averaged(self, rabi_MHz: float, doppler_MHz: float) -> np.ndarray:
        """The saturation part at Ω₀/2π = ``rabi_MHz`` convolved with the Maxwell–Boltzmann
        distribution of width ``doppler_MHz`` (k u / 2π), on the lattice's laser detunings
        (valid from ``_KERNEL_WIDTHS`` Doppler widths inside its ends)."""
        key = (rabi_MHz, doppler_MHz)
        if key not in self.averaged:
            kernel, kernel_fft = self._kernel(doppler_MHz)
            self.averaged[key] = _convolve_same(self.saturation(rabi_MHz), kernel, kernel_fft)
        return self.averaged[key]

    def _kernel(self, doppler_MHz: float) -> tuple[np.ndarray, np.ndarray]:
        """The Maxwell–Boltzmann kernel of width ``doppler_MHz`` on the lattice step and its
        FFT (made once per width: every intensity of the lattice is convolved with it)."""
        if doppler_MHz not in self.kernels:
            h = self.h
            m = int(np.ceil(_KERNEL_WIDTHS * doppler_MHz / h))
            off = h * np.arange(-m, m + 1)
            kernel = np.exp(-((off / doppler_MHz) ** 2)) * (h / (np.sqrt(np.pi) * doppler_MHz))
            size = _convolution_size(self.delta.size, kernel.size)
            self.kernels = {doppler_MHz: (kernel, sfft.fft(kernel, size))}  # the latest only
        return self.kernels[doppler_MHz]

    def saturation(self, rabi_MHz: float) -> np.ndarray:
        """The saturation part on the lattice δ_j at Ω₀/2π = ``rabi_MHz``."""
        if rabi_MHz not in self.solved:
            self.solved[rabi_MHz] = self._solve(rabi_MHz, np.ones(self.delta.size, bool))
        return self.solved[rabi_MHz]

    def _solve(self, rabi_MHz: float, rows: np.ndarray) -> np.ndarray:
        """The saturation part at Ω₀/2π = ``rabi_MHz``, solved at the lattice points ``rows``
        (a boolean mask; elsewhere first order, or zero for the master equation)."""
        if self.prepared is not None:
            return self.prepared.solve(rabi_MHz, rows=None if rows.all() else rows)[0]
        key = self.key
        sat = np.zeros(self.delta.size, dtype=complex)
        sat[rows] = lindblad(
            self.delta[rows],
            self.system,
            rabi_MHz,
            key.rate,
            key.dephasing,
            transit_broadening=key.transit_broadening,
            coherence_transfer=key.compat != "hip-elecsus",
        )[0]
        return sat

    def adopt(self, old: _Lattice) -> None:
        """Take over the solves of a narrower lattice of the same atoms and step, solving only
        the points it lacks: each point's steady state depends on its own δ alone, so a
        lattice widened for a run with a wider scan keeps the work done for the others."""
        offset = old.j0 - self.j0
        inner = slice(offset, offset + old.delta.size)
        rows = np.ones(self.delta.size, bool)
        rows[inner] = False
        for rabi, sat_old in old.solved.items():
            sat = self._solve(rabi, rows)
            sat[inner] = sat_old
            self.solved[rabi] = sat


def _lattice(key: _Atoms, h: float, j0: int, j1: int, system) -> _Lattice:
    """The shared :class:`_Lattice` of ``key`` covering j0 … j1 (widened when it does not)."""
    old = _LATTICES.pop(key, None)
    if old is not None and old.covers(h, j0, j1):
        _LATTICES[key] = old
        return old
    lo = (j0 // _LATTICE_BLOCK) * _LATTICE_BLOCK
    hi = -((-j1) // _LATTICE_BLOCK) * _LATTICE_BLOCK
    if old is not None and old.h == h:
        lo, hi = min(lo, old.j0), max(hi, old.j1)
    _LATTICES[key] = new = _Lattice(key, h, lo, hi, system)
    if old is not None and old.h == h:
        new.adopt(old)
    while len(_LATTICES) > _LATTICES_KEPT:
        _LATTICES.popitem(last=False)
    return new


def _index(chi):
    return np.sqrt(1 + chi.astype(complex, copy=False))


def _not_a_knot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficients (4, n − 1, m) of the cubic spline through ``y`` (n, m) at the n ≥ 4 nodes
    ``x`` with not-a-knot ends: ``scipy.interpolate.CubicSpline(x, y).c``, the same
    operations without its input checks and polynomial object (a run's table is made at
    every step of a fit; tests compare the two)."""
    dx = np.diff(x)
    dxr = dx[:, None]
    slope = np.diff(y, axis=0) / dxr
    n = x.size
    band = np.zeros((3, n))
    b = np.empty(y.shape, dtype=y.dtype)
    band[1, 1:-1] = 2 * (dx[:-1] + dx[1:])
    band[0, 2:] = dx[:-1]
    band[-1, :-2] = dx[1:]
    b[1:-1] = 3 * (dxr[1:] * slope[:-1] + dxr[:-1] * slope[1:])
    d = x[2] - x[0]
    band[1, 0], band[0, 1] = dx[1], d
    b[0] = ((dxr[0] + 2 * d) * dxr[1] * slope[0] + dxr[0] ** 2 * slope[1]) / d
    d = x[-1] - x[-3]
    band[1, -1], band[-1, -2] = dx[-2], d
    b[-1] = (dxr[-1] ** 2 * slope[-2] + (2 * d + dxr[-1]) * dxr[-2] * slope[-1]) / d
    # a real matrix: the real and imaginary parts solved as real columns side by side
    rhs = b.view(float) if np.iscomplexobj(b) else b
    s = solve_banded((1, 1), band, rhs, overwrite_ab=True, overwrite_b=True, check_finite=False)
    s = np.ascontiguousarray(s).view(y.dtype) if np.iscomplexobj(b) else s
    t = (s[:-1] + s[1:] - 2 * slope) / dxr
    return np.stack((t / dxr, (slope - s[:-1]) / dxr - t, s[:-1], y[:-1]))


#: intensity nodes of :class:`_LogTable` per decade. On the 0.5 mm / 62 °C paper series at
#: its fitted optimum (8.5 decades of intensity, up to ~300 I_sat), against 24 per decade:
#: 12 → 1.2e-7 in transmission at most, 6 → 4.3e-6, 4 → 1.7e-5 (0.01 of the data's σ per
#: point), 3 → 4.2e-5. Each node is a lattice solve of the saturated atoms
TABLE_NODES_PER_DECADE = 4


class _LogTable:
    """χ(Δ; I) for intensities that differ per detuning: cubic in log I between table points,
    ∝ I (saturation part) below the table."""

    def __init__(
        self,
        response: ProbeResponse,
        i_lo: float,
        i_hi: float,
        per_decade: int = TABLE_NODES_PER_DECADE,
    ):
        # nodes on the fixed lattice 10^(k / per_decade) W/m², at least 4, spanning i_lo … i_hi:
        # the runs of a series then solve the same intensities (see _Lattice)
        k0 = int(np.floor(np.log10(i_lo) * per_decade + 1e-9))
        k1 = max(int(np.ceil(np.log10(i_hi) * per_decade - 1e-9)), k0 + 3)
        self.logi = np.arange(k0, k1 + 1) * (np.log(10.0) / per_decade)
        sat = response.saturations(np.exp(self.logi))
        #: (4, n_tab − 1, nΔ): Σ c_k t^(3−k) per segment
        self.c = _not_a_knot(self.logi, sat)
        self.lo = self.logi[0]
        self.hi = self.logi[-1]
        self.sat_lo = sat[0]
        self._n_seg = self.c.shape[1]
        self._cols = np.arange(self.c.shape[2])
        self._linear = response.linear()

    def chi(self, intensity: np.ndarray) -> np.ndarray:
        """χ at one intensity per detuning: ``intensity`` of shape (nΔ,) or (m, nΔ) [W/m²]
        (what :func:`_slices` evaluates inside its loop, written as whole-array operations:
        the reference the compiled steps are tested against)."""
        logi = np.log(np.maximum(intensity, 1e-300))
        inside = np.minimum(np.maximum(logi, self.lo), self.hi)
        seg = np.searchsorted(self.logi, inside) - 1
        np.minimum(np.maximum(seg, 0, out=seg), self._n_seg - 1, out=seg)
        t = inside - self.logi[seg]
        c, cols = self.c, self._cols
        sat = ((c[0, seg, cols] * t + c[1, seg, cols]) * t + c[2, seg, cols]) * t + c[3, seg, cols]
        below = logi < self.lo
        if below.any():
            sat = np.where(below, self.sat_lo * np.exp(logi - self.lo), sat)
        return self._linear + sat


def _slices(coef, logi, sat_lo, linear, inten_in, k, dz, z_slices, heun, alpha, phase, chi):
    """The probe through the cell in ``z_slices`` steps, at each beam node (row of
    ``inten_in`` [W/m²]) and detuning: χ from the log-intensity table (:meth:`_LogTable.chi`:
    cubic segments ``coef`` (4, n_seg, nΔ) on the nodes ``logi``, ∝ I below them), the
    intensity falling by exp(−α dz) per step (Heun's predictor–corrector on α, or Euler's
    step as HIP-ElecSus); accumulates α dz into ``alpha``, n' dz into ``phase`` and the mean
    χ into ``chi`` (arrays of ``inten_in``'s shape); the intensity is carried as its
    logarithm, which the table takes (no exp and log per step). Compiled by
    :func:`mohilbert.caches.compiled`: one pass per element instead of ~40 whole-array
    operations per step, blocks of detunings on numba's threads."""
    n_nodes, nx = inten_in.shape
    n_seg = coef.shape[1]
    lo, hi = logi[0], logi[n_seg]
    step = logi[1] - lo
    two_k = 2.0 * k
    stages = 2 if heun else 1
    # blocks of detunings on numba's threads (prange), each with its own work arrays
    n_blocks = max(1, min(64, nx // 64))
    for blk in prange(n_blocks):
        log_i = np.empty(n_nodes)
        a1 = np.empty(n_nodes)
        a_st = np.empty(n_nodes)
        nr_st = np.empty(n_nodes)
        c_st = np.empty(n_nodes, dtype=np.complex128)
        # detunings outer: a detuning's table column stays in the cache
        for j in range(blk * nx // n_blocks, (blk + 1) * nx // n_blocks):
            # the intensity is followed as its logarithm: I e^(−α dz) is log I − α dz
            for i in range(n_nodes):
                log_i[i] = np.log(max(inten_in[i, j], 1e-300))
                alpha[i, j] = 0.0
                phase[i, j] = 0.0
                chi[i, j] = 0.0
            for _ in range(z_slices):
                for stage in range(stages):
                    # the beam nodes are independent: one pass over them per step keeps the
                    # processor busy while each node's chain of steps waits on its last one
                    for i in range(n_nodes):
                        li = log_i[i] if stage == 0 else log_i[i] - a1[i] * dz
                        if li < lo:
                            sat = sat_lo[j] * np.exp(li - lo)
                        else:
                            inside = min(li, hi)
                            # numpy.searchsorted(logi, inside) − 1, clipped to the segments
                            seg = min(max(int((inside - lo) / step), 0), n_seg - 1)
                            while seg > 0 and logi[seg] >= inside:
                                seg -= 1
                            while seg < n_seg - 1 and logi[seg + 1] < inside:
                                seg += 1
                            t = inside - logi[seg]
                            sat = (
                                (coef[0, seg, j] * t + coef[1, seg, j]) * t + coef[2, seg, j]
                            ) * t
                            sat += coef[3, seg, j]
                        c = linear[j] + sat
                        if c.real * c.real + c.imag * c.imag < 1e-8:
                            # √(1 + χ) by its series where |χ| < 1e-4 (a vapour's χ is ~1e-5):
                            # the next term, 7χ⁵/256, is below 1e-21
                            c2 = c * c
                            n = 1.0 + 0.5 * c - 0.125 * c2 + (0.0625 * c - 0.0390625 * c2) * c2
                        else:
                            n = np.sqrt(1.0 + c)
                        if stage == 0:
                            a1[i] = two_k * n.imag
                            a_st[i] = a1[i]
                            nr_st[i] = n.real
                            c_st[i] = c
                        else:
                            a_st[i] += two_k * n.imag
                            nr_st[i] += n.real
                            c_st[i] += c
                for i in range(n_nodes):
                    a = a_st[i] / stages
                    log_i[i] -= a * dz
                    alpha[i, j] += a * dz
                    phase[i, j] += nr_st[i] / stages * dz
                    chi[i, j] += c_st[i] / stages / z_slices


def _table(response: ProbeResponse, i_lo: float, i_hi: float, k: float, length_m: float):
    """A :class:`_LogTable` from what the light can fall to along the cell up to ``i_hi``; below
    1e-6 I_sat the saturation part is linear in I (its relative size there is < 1e-4)."""
    od_max = float(np.max(2 * k * _index(response.linear()).imag * length_m))
    floor = 1e-6 * saturation_intensity_W_m2(response.medium.element, response.medium.line)
    lo = max(i_lo * np.exp(-od_max - 1), min(floor, i_hi * 1e-3))
    return _LogTable(response, lo, i_hi)


def _propagate(response: ProbeResponse, intensity_in, k: float, length_m: float, table=None):
    """Transmission and mean index through the cell at one input intensity (per detuning), or
    at several at once (``intensity_in`` 1-D, > 0, with a ``table``: rows of the results)."""
    probe = response.probe
    if np.ndim(intensity_in) == 0 and (probe.z_slices == 1 or intensity_in <= 0):
        chi = response.chi(intensity_in)
        n = _index(chi)
        return np.exp(-2 * k * n.imag * length_m), n, chi
    dz = length_m / probe.z_slices
    if table is None:
        table = _table(response, intensity_in, intensity_in, k, length_m)
    rows = np.atleast_2d(np.asarray(intensity_in, dtype=float).reshape(-1, 1))
    inten = np.ascontiguousarray(np.broadcast_to(rows, (rows.shape[0], response.x.size)))
    alpha_sum = np.empty(inten.shape)
    phase = np.empty(inten.shape)
    chi_mean = np.empty(inten.shape, dtype=complex)
    caches.compiled(_slices, parallel=True)(
        table.c,
        table.logi,
        table.sat_lo,
        np.ascontiguousarray(table._linear, dtype=complex),
        inten,
        float(k),
        float(dz),
        int(probe.z_slices),
        probe.compat != "hip-elecsus",  # Euler steps, as HIP's propagated_transmission
        alpha_sum,
        phase,
        chi_mean,
    )
    if np.ndim(intensity_in) == 0:
        alpha_sum, phase, chi_mean = alpha_sum[0], phase[0], chi_mean[0]
    n_mean = phase / length_m + 1j * alpha_sum / (2 * k * length_m)
    return np.exp(-alpha_sum), n_mean, chi_mean


def intense_transmission(
    detuning_MHz, medium: MediumParams, eps_q, probe: Probe, length_m: float
) -> dict[str, np.ndarray]:
    """Power transmission of the probe and its beam-averaged index.

    Parameters
    ----------
    detuning_MHz : array_like
        Laser detuning from ν0 [MHz], 1-D.
    medium : MediumParams
        The cell's atoms (:class:`~mohilbert.atoms.susceptibility.MediumParams`).
    eps_q : array_like
        Probe components along the field (:func:`field_frame_components`).
    probe : Probe
        The intense probe.
    length_m : float
        Cell length [m].

    Returns
    -------
    dict
        ``transmission`` (detected power / input power), ``n`` (complex index averaged over the
        beam power and the cell length), ``chi`` (the same for χ), ``saturation_parameter``
        (peak I / I_sat, a float) and ``response`` (the :class:`ProbeResponse`, for reuse).
    """
    response = ProbeResponse(detuning_MHz, medium, eps_q, probe)
    k = 2 * np.pi / response.line.wavelength_m
    i_peak = probe.peak_intensity_W_m2
    if probe.beam_profile == "flat":
        t, n, chi = _propagate(response, i_peak, k, length_m)
    else:
        # ∫ T(I) I dA / P = ∫₀^∞ T(I_peak e^−t) t^(1/m−1) e^−t dt / Γ(1/m), t = 2(r/w)^(2m):
        # generalised Gauss–Laguerre, smooth in t where Gauss–Legendre in u = I/I_peak
        # misses the saturation knee near u = I_sat/I_peak
        t_nodes, w = beam_rule(probe.beam_nodes, probe.beam_order)
        u = np.exp(-t_nodes)
        table = None
        if probe.z_slices > 1 and i_peak > 0:  # one table for all nodes
            table = _table(response, u.min() * i_peak, u.max() * i_peak, k, length_m)
        t = np.zeros(response.x.size)
        n = np.zeros(response.x.size, dtype=complex)
        chi = np.zeros(response.x.size, dtype=complex)
        if table is not None:  # all nodes through the cell at once
            nodes = zip(*_propagate(response, u * i_peak, k, length_m, table), strict=True)
        else:
            nodes = (_propagate(response, ui * i_peak, k, length_m) for ui in u)
        for wi, (ti, ni, ci) in zip(w, nodes, strict=True):
            t += wi * ti
            n += wi * ni
            chi += wi * ci
    return {
        "transmission": t,
        "n": n,
        "chi": chi,
        "saturation_parameter": i_peak / saturation_intensity_W_m2(medium.element, medium.line),
        "response": response,
    }


# the process-wide caches above, for mohilbert.caches.clear (benchmarks' cold figures)
caches.register("mohilbert.intense._rayleigh_rule", _rayleigh_rule)
caches.register("mohilbert.intense.beam_rule", beam_rule)
