r"""The user-facing theory model: a vapour cell + a detuning grid → transmission spectra.

>>> from mohilbert.theory import Cell, spectrum
>>> cell = Cell(element="Rb", line="D2", length_m=2e-3, temperature_C=80, field_T=0.6)
>>> ds = spectrum(np.linspace(-30e3, 30e3, 20001), cell, "sigma_plus")   # xarray.Dataset
>>> ds.S0          # transmission

Conventions (also in the README, "The mohilbert command line and library"):

* detuning [MHz] from the line reference ν0 of the element (the isotope-weighted,
  hyperfine-free centre; Rb D2 384 230 426.6 MHz), increasing with laser frequency;
* the field direction is θ from +k (Faraday θ = 0, Voigt θ = 90°) and φ about k from +x;
* ``conventions="textbook"`` (default): fields ∝ e^{i(kz−ωt)}, (x̂+iŷ)/√2 drives Δm = +1 for
  B along +k, exact line positions, no line cut-off, exact propagation;
* ``conventions="elecsus"``: reproduces ElecSus v3.0.8 (its handedness, i.e. textbook physics
  with B reversed; line positions truncated to whole MHz; its line cut-off, B = 0 → 1e-4 G,
  T + 273.16 in the populations, k(Δ) in the Doppler width, the 41K D1 constant), with exact
  propagation unless ``propagation="elecsus"`` also asks for its approximate oblique-field
  transfer matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import xarray as xr

from mohilbert import __version__
from mohilbert.atoms.constants import get_line
from mohilbert.atoms.susceptibility import MediumParams, susceptibility
from mohilbert.intense import Probe, eigen_probe, field_frame_components, intense_transmission
from mohilbert.optics.polarisation import jones_vector
from mohilbert.optics.propagation import apply, field_direction, propagate, stokes
from mohilbert.plausibility import implausible

CONVENTIONS = ("textbook", "elecsus")
PROPAGATIONS = ("exact", "elecsus")


@dataclass(frozen=True)
class Cell:
    """A vapour cell and its conditions, with units in the names.

    Attributes
    ----------
    element, line
        ``"Rb" | "Cs" | "K" | "Na"`` and ``"D1" | "D2"``.
    length_m
        Cell length [m].
    temperature_C
        Cell temperature [°C]; sets the number density, self-broadening, populations.
    field_T
        Magnetic field magnitude [T].
    field_theta_deg, field_phi_deg
        Field direction: angle from the beam (+k) and azimuth about it from +x [degrees].
    isotope_percent
        ``None``/``"natural"`` or e.g. ``{"85Rb": 99}`` / ``"85Rb:99"`` [percent].
    gamma_buffer_MHz
        Extra Lorentzian FWHM (buffer gas) [MHz].
    shift_MHz
        Shift of every resonance (buffer-gas shift) [MHz].
    doppler_temperature_C
        Temperature for the Doppler width only [°C]; ``None`` uses ``temperature_C``.
    populations
        ``"boltzmann"`` or ``"equal"`` ground-state populations.
    conventions, propagation, constants
        See the module docstring. ``constants`` defaults to the set matching ``conventions``.
    number_density_m3
        Override the vapour-pressure number density [m⁻³].
    slices
        Optional field gradient: a sequence of (length fraction, field [T]) in the order the
        light meets them; the fractions must add up to 1.
    """

    element: str = "Rb"
    line: str = "D2"
    length_m: float = 0.075
    temperature_C: float = 20.0
    field_T: float = 0.0
    field_theta_deg: float = 0.0
    field_phi_deg: float = 0.0
    isotope_percent: object = None
    gamma_buffer_MHz: float = 0.0
    shift_MHz: float = 0.0
    doppler_temperature_C: float | None = None
    populations: str = "boltzmann"
    conventions: str = "textbook"
    propagation: str = "exact"
    constants: str | None = None
    number_density_m3: float | None = None
    slices: tuple | None = None

    def __post_init__(self):
        get_line(self.element, self.line)
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions must be one of {CONVENTIONS}, got {self.conventions!r}")
        if self.propagation not in PROPAGATIONS:
            raise ValueError(f"propagation must be one of {PROPAGATIONS}, got {self.propagation!r}")
        if self.populations not in ("boltzmann", "equal"):
            raise ValueError("populations must be 'boltzmann' or 'equal'")
        if not self.length_m > 0:
            raise ValueError(f"length_m must be > 0, got {self.length_m}")
        if self.field_T < 0:
            raise ValueError("field_T is a magnitude (>= 0); reverse the direction with the angles")

    def medium(self, field_T: float | None = None) -> MediumParams:
        constants = self.constants or ("elecsus" if self.conventions == "elecsus" else "mohilbert")
        return MediumParams(
            element=self.element,
            line=self.line,
            temperature_C=self.temperature_C,
            field_G=1e4 * (self.field_T if field_T is None else field_T),
            isotope_percent=self.isotope_percent,
            gamma_buffer_MHz=self.gamma_buffer_MHz,
            shift_MHz=self.shift_MHz,
            doppler_temperature_C=self.doppler_temperature_C,
            boltzmann=self.populations == "boltzmann",
            elecsus_compat=self.conventions == "elecsus",
            constants=constants,
            number_density_m3=self.number_density_m3,
        )

    def b_hat(self) -> np.ndarray:
        """Field direction used by the physics (textbook; reversed for ElecSus parity)."""
        th, ph = np.deg2rad(self.field_theta_deg), np.deg2rad(self.field_phi_deg)
        if self.conventions == "elecsus":
            # ElecSus: b_ES = (-sinθcosφ, sinθ sinφ, cosθ) with the opposite ε_g sign,
            # which is textbook physics with b = -b_ES
            return np.array([np.sin(th) * np.cos(ph), -np.sin(th) * np.sin(ph), -np.cos(th)])
        return field_direction(th, ph)

    def geometry(self) -> str:
        b = self.b_hat()
        if abs(b[0]) < 1e-9 and abs(b[1]) < 1e-9:
            return "faraday"
        if abs(b[2]) < 1e-9:
            return "voigt"
        return "oblique"

    def with_(self, **changes) -> Cell:
        """A copy with some attributes changed."""
        return replace(self, **changes)

    def with_fitted(self, values: dict[str, float]) -> Cell:
        """A copy with fitted parameter values applied: cell attributes by name, and
        ``percent_<isotope>`` values [percent] as the isotope abundances (the one place the
        fit's abundance names become a cell's ``isotope_percent``)."""
        iso = {k.removeprefix("percent_"): v for k, v in values.items() if k.startswith("percent_")}
        plain = {k: v for k, v in values.items() if not k.startswith("percent_")}
        if iso:
            plain["isotope_percent"] = iso
        return replace(self, **plain)


def _slices(cell: Cell):
    if cell.slices is None:
        return [(1.0, cell.field_T)]
    total = sum(f for f, _ in cell.slices)
    if abs(total - 1) > 1e-9:
        raise ValueError(f"slice fractions add up to {total}, not 1")
    return list(cell.slices)


def spectrum_arrays(
    detuning_MHz: np.ndarray,
    cell: Cell,
    polarisation: object = "x",
    *,
    method: str = "auto",
    fft_step_MHz: float | None = None,
) -> dict[str, np.ndarray]:
    """The theory model on a detuning grid, as numpy arrays (see :func:`spectrum`).

    Parameters
    ----------
    detuning_MHz : numpy.ndarray
        Laser detuning from ν0 [MHz], 1-D.
    cell : Cell
        The cell.
    polarisation : str or array_like
        Input polarisation: a name (``"x"``, ``"sigma_plus"``, ``"linear:45"``, ...) or a
        Jones vector.
    method : str
        Susceptibility evaluation: ``"auto"``, ``"fft"`` or ``"direct"`` line sum.
    fft_step_MHz : float, optional
        Grid step of the FFT line sum [MHz] (default: from the line widths).
    """
    x = np.asarray(detuning_MHz, dtype=np.float64)
    ln = get_line(cell.element, cell.line)
    k = 2 * np.pi / ln.wavelength_m
    b = cell.b_hat()
    e_in = jones_vector(polarisation, np.arctan2(b[1], b[0]))
    i_in = float(np.sum(np.abs(e_in) ** 2))
    e = np.asarray(e_in, dtype=complex) / np.sqrt(i_in)  # one field; each slice makes (N, 2)
    chi_first = names = n = None
    for fraction, field in _slices(cell):
        chi = susceptibility(x, cell.medium(field), method=method, step_MHz=fft_step_MHz)
        kL = k * cell.length_m * fraction
        mode_names, mode_n, t = propagate(chi, b, kL, cell.propagation)
        if chi_first is None:
            chi_first, names, n = chi, mode_names, mode_n
        e = apply(t, e)
    out = stokes(e, 1.0)
    out["E_out"] = e
    out["chi"] = chi_first
    out["mode_names"] = names
    out["n"] = n
    return out


def intense_arrays(
    detuning_MHz: np.ndarray, cell: Cell, polarisation: object, probe: Probe
) -> dict[str, np.ndarray]:
    """The intense-probe model (:mod:`mohilbert.intense`) on a detuning grid, as the same
    arrays as :func:`spectrum_arrays` for the probe's one eigenmode (``n`` has one row), plus
    ``chi_probe`` and ``saturation_parameter``.

    With a :attr:`~mohilbert.intense.Probe.orthogonal_fraction` f, the Stokes parameters are
    the detected sum (1 − f) × the probe's mode at (1 − f) of the power plus f × the other
    eigenmode as a weak probe; ``E_out``, ``n``, ``chi_probe`` and ``saturation_parameter``
    stay those of the probe's mode (the atoms' response to it).

    Parameters
    ----------
    detuning_MHz : numpy.ndarray
        Laser detuning from ν0 [MHz], 1-D.
    cell : Cell
        The cell (one uniform field).
    polarisation : str or array_like
        Input polarisation: an eigen-polarisation of the geometry.
    probe : Probe
        The intense probe (:class:`~mohilbert.intense.Probe`).
    """
    x = np.asarray(detuning_MHz, dtype=np.float64)
    if cell.slices is not None:
        raise ValueError("the intense-probe model takes one uniform field (no slices)")
    b = cell.b_hat()
    e_in = jones_vector(polarisation, np.arctan2(b[1], b[0]))
    f = probe.orthogonal_fraction
    if f > 0:
        main = replace(probe, power_W=(1 - f) * probe.power_W, orthogonal_fraction=0.0)
        out = intense_arrays(x, cell, e_in, main)
        # the orthogonal Jones vector (same norm), a weak probe of the other eigenmode
        other = intense_arrays(
            x, cell, np.array([-np.conj(e_in[1]), np.conj(e_in[0])]), replace(main, power_W=0.0)
        )
        for s in ("S0", "S1", "S2", "S3"):
            out[s] = (1 - f) * out[s] + f * other[s]
        return out
    i_in = float(np.sum(np.abs(e_in) ** 2))
    eps = field_frame_components(e_in, b)
    mode = eigen_probe(eps, cell.geometry(), polarisation, e_in)
    res = intense_transmission(x, cell.medium(), eps, probe, cell.length_m)
    k = 2 * np.pi / get_line(cell.element, cell.line).wavelength_m
    amp = np.sqrt(res["transmission"]) * np.exp(1j * k * cell.length_m * (res["n"].real - 1))
    e = amp[:, None] * (e_in / np.sqrt(i_in))[None, :]
    out = stokes(e, 1.0)
    out["E_out"] = e
    out["chi_probe"] = res["chi"]
    out["mode_names"] = [mode]
    od = -np.log(np.maximum(res["transmission"], 1e-300))
    out["n"] = (res["n"].real + 1j * od / (2 * k * cell.length_m))[None, :]
    out["saturation_parameter"] = res["saturation_parameter"]
    return out


def derived(arr: dict[str, np.ndarray], cell: Cell) -> dict[str, np.ndarray]:
    """Quantities derived from :func:`spectrum_arrays` output (angles in rad, alpha in 1/m).

    ``alpha`` (2k Im n per mode), output ``ellipticity`` ½ asin(S3/S0) and ``azimuth``
    ½ atan2(S2, S1); ``rotation`` (kL/2) Re(n_σ− − n_σ+) in Faraday geometry and
    ``retardance`` kL Re(n_⊥ − n_∥) in Voigt geometry.
    """
    k = 2 * np.pi / get_line(cell.element, cell.line).wavelength_m
    n = arr["n"]
    out = {
        "alpha": 2 * k * n.imag,
        "ellipticity": 0.5 * np.arcsin(np.clip(arr["S3"] / np.maximum(arr["S0"], 1e-300), -1, 1)),
        "azimuth": 0.5 * np.arctan2(arr["S2"], arr["S1"]),
    }
    kL = k * cell.length_m
    geometry = cell.geometry()
    if n.shape[0] < 2:  # one eigenmode (intense probe): no rotation or retardance
        return out
    if geometry == "faraday":
        out["rotation"] = 0.5 * kL * (n[1] - n[0]).real
    elif geometry == "voigt":
        out["retardance"] = kL * (n[1] - n[0]).real
    return out


_UNITLESS = {
    "S0": "transmission (Stokes S0 / input intensity)",
    "S1": "Stokes S1 / input intensity (Ix - Iy)",
    "S2": "Stokes S2 / input intensity (I(+45) - I(-45))",
    "S3": "Stokes S3 / input intensity (I_R - I_L, ElecSus convention)",
    "Ix": "intensity polarised along x / input intensity",
    "Iy": "intensity polarised along y / input intensity",
    "I_P45": "intensity polarised at +45 deg / input intensity",
    "I_M45": "intensity polarised at -45 deg / input intensity",
    "I_L": "intensity in (x + iy)/sqrt2 [sigma_plus vector] / input intensity",
    "I_R": "intensity in (x - iy)/sqrt2 [sigma_minus vector] / input intensity",
}


def spectrum(
    detuning_MHz: np.ndarray,
    cell: Cell,
    polarisation: object = "x",
    *,
    method: str = "auto",
    probe_power_W: float | None = None,
    beam_diameter_m: float | None = None,
    beam_profile: str = "flat",
    probe: Probe | None = None,
) -> xr.Dataset:
    """Theory spectra as an :class:`xarray.Dataset` with units.

    Parameters
    ----------
    detuning_MHz
        Laser detuning from ν0 [MHz].
    cell
        The :class:`Cell`.
    polarisation
        Input polarisation: ``"sigma_plus"``, ``"sigma_minus"``, ``"parallel"``,
        ``"perpendicular"``, ``"x"``, ``"y"``, ``"linear:<deg>"``, ``"jones:<Ex>,<Ey>"`` or a
        Jones vector.
    method
        Susceptibility evaluation (``"auto"``, ``"fft"``, ``"direct"``).
    probe_power_W, beam_diameter_m, beam_profile
        An intense probe of this power [W] and beam diameter [m] (``"flat"`` or
        ``"gaussian"``, D the 1/e² diameter): optical pumping, saturation and transit time
        by :mod:`mohilbert.intense`. ``None`` (default): the weak-probe model.
    probe
        A :class:`mohilbert.intense.Probe` with all the intense-probe options instead.

    Returns
    -------
    xarray.Dataset
        ``S0``–``S3``, ``Ix``, ``Iy``, ``I_P45``, ``I_M45``, ``I_L``, ``I_R`` (normalised to the
        input intensity); ``chi`` (dims component × detuning, Δm = +1, −1, 0); mode indices
        ``n`` and intensity absorption coefficients ``alpha`` [1/m] (dim ``mode``);
        ``rotation`` [rad] (Faraday) or ``retardance`` [rad] (Voigt); ``ellipticity`` and
        ``azimuth`` [rad] of the output; ``E_out`` (dim ``axis`` x/y). Cell parameters in attrs.
        With an intense probe: the same for the probe's one eigenmode (``n`` and ``alpha``
        effective, from the detected power), ``chi_probe`` instead of ``chi``, and
        ``saturation_parameter`` (peak I/I_sat).
    """
    if probe is None and probe_power_W is not None:
        if beam_diameter_m is None:
            raise ValueError("an intense probe needs beam_diameter_m as well as probe_power_W")
        probe = Probe(probe_power_W, beam_diameter_m, beam_profile)
    if probe is not None:
        arr = intense_arrays(detuning_MHz, cell, polarisation, probe)
    else:
        arr = spectrum_arrays(detuning_MHz, cell, polarisation, method=method)
    arr.update(derived(arr, cell))
    x = np.asarray(detuning_MHz, dtype=np.float64)
    coords = {
        "detuning": (
            "detuning",
            x,
            {"units": "MHz", "long_name": "laser detuning from the line centre"},
        ),
        "component": (
            "component",
            ["dm_plus1", "dm_minus1", "dm_0"],
            {"units": "1", "long_name": "transition component (Delta m along B)"},
        ),
        "mode": ("mode", arr["mode_names"], {"units": "1", "long_name": "propagation eigenmode"}),
        "axis": ("axis", ["x", "y"], {"units": "1", "long_name": "transverse field component"}),
    }
    data = {
        name: ("detuning", arr[name], {"units": "1", "long_name": text})
        for name, text in _UNITLESS.items()
    }
    if "chi" in arr:
        data["chi"] = (
            ("component", "detuning"),
            arr["chi"],
            {"units": "1", "long_name": "electric susceptibility per transition component"},
        )
    else:
        data["chi_probe"] = (
            "detuning",
            arr["chi_probe"],
            {"units": "1", "long_name": "susceptibility seen by the probe (beam-averaged)"},
        )
        data["saturation_parameter"] = (
            (),
            arr["saturation_parameter"],
            {"units": "1", "long_name": "peak probe intensity / saturation intensity"},
        )
    data["n"] = (
        ("mode", "detuning"),
        arr["n"],
        {"units": "1", "long_name": "complex refractive index of the mode"},
    )
    data["alpha"] = (
        ("mode", "detuning"),
        arr["alpha"],
        {"units": "1/m", "long_name": "intensity absorption coefficient of the mode"},
    )
    data["E_out"] = (
        ("detuning", "axis"),
        arr["E_out"],
        {"units": "1", "long_name": "output Jones vector (input normalised to 1)"},
    )
    data["ellipticity"] = (
        "detuning",
        arr["ellipticity"],
        {"units": "rad", "long_name": "ellipticity angle of the output"},
    )
    data["azimuth"] = (
        "detuning",
        arr["azimuth"],
        {"units": "rad", "long_name": "polarisation azimuth of the output"},
    )
    if "rotation" in arr:
        data["rotation"] = (
            "detuning",
            arr["rotation"],
            {
                "units": "rad",
                "long_name": "Faraday rotation angle (kL/2) Re(n_sigma_minus - n_sigma_plus)",
            },
        )
    if "retardance" in arr:
        data["retardance"] = (
            "detuning",
            arr["retardance"],
            {"units": "rad", "long_name": "Voigt retardance kL Re(n_perp - n_par)"},
        )
    attrs = {f"cell_{k}": v for k, v in asdict(cell).items() if v is not None}
    attrs["geometry"] = cell.geometry()
    attrs["polarisation"] = (
        polarisation if isinstance(polarisation, str) else str(list(jones_vector(polarisation)))
    )
    attrs["model"] = f"mohilbert {__version__} weak-probe theory ({cell.conventions} conventions)"
    if probe is not None:
        attrs["model"] = f"mohilbert {__version__} intense-probe theory ({probe.solver} solver)"
        attrs.update({f"probe_{k}": v for k, v in asdict(probe).items()})
        attrs["probe_transit_broadening"] = int(probe.transit_broadening)
    return xr.Dataset(data, coords=coords, attrs=attrs)


# ------------------------------------------------------------------------- ElecSus drop-in

#: ElecSus's p_dict defaults (its spectra.p_dict_defaults), the start of every drop-in call
ELECSUS_DEFAULTS = {
    "Elem": "Rb",
    "Dline": "D2",
    "lcell": 75e-3,
    "Bfield": 0.0,
    "T": 20.0,
    "GammaBuf": 0.0,
    "shift": 0.0,
    "Btheta": 0.0,
    "Bphi": 0.0,
    "Constrain": True,
    "DoppTemp": 20.0,
    "rb85frac": 72.17,
    "K40frac": 0.01,
    "K41frac": 6.73,
    "BoltzmannFactor": True,
}
_ES_ALL = (
    "S0",
    "S1",
    "S2",
    "S3",
    "Ix",
    "Iy",
    "I_P45",
    "I_M45",
    "alphaPlus",
    "alphaMinus",
    "alphaZ",
)


#: p_dict keys ElecSus's fitting routines read and get_spectra ignores (accepted, unused)
_ES_FIT_ONLY = ("theta0", "Pol", "E_x", "E_y", "E_phase", "wavevector_dirn")


def cell_from_elecsus(p_dict: dict, *, propagation: str = "exact") -> Cell:
    """A :class:`Cell` in ElecSus conventions from an ElecSus ``p_dict`` (gauss, radians, %).

    An unknown key is an error naming the nearest known one (ElecSus ignores it silently and
    computes with its default: a misspelt ``'Bfeld'`` gives a zero-field spectrum)."""
    from mohilbert.config import nearest

    known = (*ELECSUS_DEFAULTS, *_ES_FIT_ONLY)
    for key in p_dict:
        if key not in known:
            raise ValueError(
                f"p_dict: unknown key {key!r}{nearest(key, known)}; known keys: {', '.join(known)}"
            )
    p = dict(ELECSUS_DEFAULTS)
    p.update(p_dict)
    elem = p["Elem"]
    iso = None
    if elem == "Rb":
        iso = {"85Rb": float(p["rb85frac"])}
    elif elem == "K":
        iso = {"40K": float(p["K40frac"]), "41K": float(p["K41frac"])}
    return Cell(
        element=elem,
        line=p["Dline"],
        length_m=float(p["lcell"]),
        temperature_C=float(p["T"]),
        field_T=float(p["Bfield"]) * 1e-4,
        field_theta_deg=float(np.rad2deg(p["Btheta"])),
        field_phi_deg=float(np.rad2deg(p["Bphi"])),
        isotope_percent=iso,
        gamma_buffer_MHz=float(p["GammaBuf"]),
        shift_MHz=float(p["shift"]),
        doppler_temperature_C=None if p["Constrain"] else float(p["DoppTemp"]),
        populations="boltzmann" if p["BoltzmannFactor"] else "equal",
        conventions="elecsus",
        propagation=propagation,
    )


def get_spectra(
    X, E_in, p_dict: dict, outputs: Sequence[str] | None = None, *, propagation="exact"
):
    """Drop-in replacement for ElecSus ``get_spectra(X, E_in, p_dict, outputs)``.

    Same units (X in MHz, Bfield in gauss, T in °C, angles in radians), same handedness
    and the same output names and order; exact propagation at oblique fields unless
    ``propagation="elecsus"``. ``alphaPlus`` uses ChiMinus (Δm = +1) as in ElecSus.
    Besides its returned outputs, those its ``output_list()`` names are available: ``nPlus``,
    ``nMinus``, ``nZ`` (complex indices), ``phiPlus``, ``phiMinus``, ``phi`` (= ``Phi``, the
    Faraday rotation [rad]), ``TransLeft``, ``TransRight``, ``GIPlus``, ``GIMinus``, ``GIZ``
    (group indices n + ν dn/dν).

    Parameters
    ----------
    X : array_like
        Detuning [MHz], ElecSus's axis.
    E_in : array_like
        Input electric field (Jones vector, ElecSus's convention), or a list of them.
    p_dict : dict
        ElecSus parameters (``Elem``, ``Dline``, ``T`` [°C], ``lcell`` [m], ``Bfield`` [G], ...).
    outputs : sequence of str, optional
        Names of ElecSus outputs to return (default: ElecSus's default list).
    propagation : str, optional
        ``"exact"`` (default) or ``"elecsus"`` (ElecSus's approximation at oblique fields).
    """
    cell = cell_from_elecsus(p_dict, propagation=propagation)
    for text in implausible(cell.temperature_C, cell.length_m, cell.field_T):
        # ElecSus units: T in °C, lcell in m, Bfield in gauss
        warnings.warn(
            f"get_spectra p_dict: {text.replace('temperature_C', 'T').replace('length_m', 'lcell')}",
            UserWarning,
            stacklevel=2,
        )
    x = np.asarray(X, dtype=np.float64)
    arr = spectrum_arrays(x, cell, np.asarray(E_in, dtype=complex).ravel()[:2])
    values = _ElecSusOutputs(arr, cell, x)
    if outputs is None or outputs == "All":
        return tuple(values[k] for k in _ES_ALL)
    try:
        return [values[o] for o in outputs]
    except KeyError as exc:
        raise ValueError(f"unknown output {exc.args[0]!r}; known: {', '.join(values)}") from None


class _ElecSusOutputs(Mapping):
    """ElecSus's outputs of one :func:`spectrum_arrays` call, each computed when first asked
    for (a fit that wants S0 does not pay for the group indices)."""

    def __init__(self, arr: dict, cell: Cell, x: np.ndarray):
        ln = get_line(cell.element, cell.line)
        k, L = 2 * np.pi / ln.wavelength_m, cell.length_m
        nu_MHz = x + ln.frequency_Hz * 1e-6  # absolute laser frequency, as ElecSus's group index
        chi_minus, chi_plus, chi_z = arr["chi"]  # Δm = +1 is ElecSus's ChiMinus

        def group_index(n):
            return n.real + nu_MHz * np.gradient(n.real, x) if x.size > 1 else n.real

        def stokes_key(name):
            return lambda: arr[name]

        self._cache: dict = {}
        self._make = {
            **{key: stokes_key(key) for key in ("S0", "S1", "S2", "S3", "Ix", "Iy")},
            **{key: stokes_key(key) for key in ("I_P45", "I_M45")},
            "Il": stokes_key("I_L"),
            "Ir": stokes_key("I_R"),
            # alphaPlus from ChiMinus (Δm = +1), as ElecSus
            "alphaPlus": lambda: 2 * k * self["nMinus"].imag,
            "alphaMinus": lambda: 2 * k * self["nPlus"].imag,
            "alphaZ": lambda: 2 * k * self["nZ"].imag,
            "ChiPlus": lambda: chi_plus,
            "ChiMinus": lambda: chi_minus,
            "ChiZ": lambda: chi_z,
            "Chi": lambda: [chi_plus, chi_minus, chi_z],
            "E_out": lambda: np.vstack([arr["E_out"].T, np.zeros(x.size)]),
            # listed by ElecSus's output_list() (3.0.8 computes them but does not return them)
            "nPlus": lambda: np.sqrt(1 + chi_plus.astype(complex)),
            "nMinus": lambda: np.sqrt(1 + chi_minus.astype(complex)),
            "nZ": lambda: np.sqrt(1 + chi_z.astype(complex)),
            "phiPlus": lambda: k * self["nPlus"].real * L,
            "phiMinus": lambda: k * self["nMinus"].real * L,
            "phi": lambda: 0.5 * (self["phiMinus"] - self["phiPlus"]),
            "Phi": lambda: self["phi"],
            "TransLeft": lambda: np.exp(-2 * self["nPlus"].imag * k * L),
            "TransRight": lambda: np.exp(-2 * self["nMinus"].imag * k * L),
            # ElecSus's (commented-out) definitions: GIPlus from nMinus, as alphaPlus
            "GIPlus": lambda: group_index(self["nMinus"]),
            "GIMinus": lambda: group_index(self["nPlus"]),
            "GIZ": lambda: group_index(self["nZ"]),
        }

    def __getitem__(self, key: str):
        if key not in self._cache:
            self._cache[key] = self._make[key]()  # KeyError for an unknown name
        return self._cache[key]

    def __iter__(self):
        return iter(self._make)

    def __len__(self) -> int:
        return len(self._make)
