"""Atomic and fundamental constants for the alkali D lines.

Values are those of ElecSus v3.0.8 (theory-spec §1), so that the model can reproduce it.
Two *constants sets* exist:

``"mohilbert"`` (default)
    the ElecSus values with one correction: the 41K 4P1/2 hyperfine constant is
    A = 15.245 MHz (Tiecke, *Properties of potassium*), where ElecSus uses the 41K *ground*
    state value 127.0069352 MHz by mistake.
``"elecsus"``
    ElecSus exactly, bug included (for bit-level comparison only).

Units: energies and frequencies in MHz (E/h), masses in kg, wavelengths in m.
"""

from __future__ import annotations

from dataclasses import dataclass

import scipy.constants as sc

#: Bohr magneton over Planck's constant [MHz/G]
MU_B_MHZ_PER_G = sc.physical_constants["Bohr magneton"][0] / sc.h * 1e-6 * 1e-4
#: electron spin g-factor (positive, ElecSus sign convention)
G_S = -sc.physical_constants["electron g factor"][0]
#: orbital g-factor (ElecSus uses exactly 1, no reduced-mass correction)
G_L = 1.0
AMU = sc.physical_constants["atomic mass constant"][0]
K_B = sc.k
C_LIGHT = sc.c
H_PLANCK = sc.h
EPSILON_0 = sc.epsilon_0


@dataclass(frozen=True)
class Isotope:
    """Ground-state data of one isotope."""

    name: str
    element: str
    nuclear_spin: float
    A_ground_MHz: float
    g_I: float
    mass_u: float
    fine_structure_MHz: float

    @property
    def mass_kg(self) -> float:
        return self.mass_u * AMU


@dataclass(frozen=True)
class ExcitedState:
    """Excited-state constants of one isotope on one line."""

    A_MHz: float
    B_MHz: float
    isotope_shift_MHz: float


@dataclass(frozen=True)
class Line:
    """One D line of one element."""

    element: str
    name: str
    wavelength_m: float
    frequency_Hz: float
    gamma_natural_MHz: float  # FWHM / 2pi

    @property
    def j_excited(self) -> float:
        return 0.5 if self.name == "D1" else 1.5

    @property
    def self_broadening_beta(self) -> float:
        return 1.0 if self.name == "D1" else 2**0.5


_FS_K = 391016185.94 - 389286074.580
ISOTOPES: dict[str, Isotope] = {
    "85Rb": Isotope("85Rb", "Rb", 2.5, 1011.910813, -0.00029364, 84.911789732, 7.123e6),
    "87Rb": Isotope("87Rb", "Rb", 1.5, 3417.341305452145, -0.0009951414, 86.909180520, 7.123e6),
    "133Cs": Isotope(
        "133Cs",
        "Cs",
        3.5,
        2298.1579425,
        -0.00039885395,
        132.905451931,
        351725718.50 - 335116048.807,
    ),
    "39K": Isotope("39K", "K", 1.5, 230.8598601, -0.00014193489, 38.96370668, _FS_K),
    "40K": Isotope("40K", "K", 4.0, -285.7308, 0.000176490, 39.96399848, _FS_K),
    "41K": Isotope("41K", "K", 1.5, 127.0069352, -0.00007790600, 40.96182576, _FS_K),
    "23Na": Isotope(
        "23Na",
        "Na",
        1.5,
        885.81306440,
        -0.00080461080,
        22.9897692807,
        508.8487162e6 - 508.3331958e6,
    ),
}

LINES: dict[tuple[str, str], Line] = {
    ("Rb", "D1"): Line("Rb", "D1", 794.978969380e-9, 377107407.299e6, 5.746),
    ("Rb", "D2"): Line("Rb", "D2", 780.2413272e-9, 384230426.6e6, 6.065),
    ("Cs", "D1"): Line("Cs", "D1", 894.59295986e-9, 335116048.807e6, 4.584),
    ("Cs", "D2"): Line("Cs", "D2", 852.34727582e-9, 351725718.50e6, 5.225),
    ("K", "D1"): Line("K", "D1", 770.108353667e-9, 389286074.580e6, 5.956),
    ("K", "D2"): Line("K", "D2", 766.700890602e-9, 391016185.94e6, 6.035),
    ("Na", "D1"): Line("Na", "D1", 589.7558147e-9, 508.3331958e12, 9.765),
    ("Na", "D2"): Line("Na", "D2", 589.1583264e-9, 508.8487162e12, 9.7946),
}

_EXCITED: dict[tuple[str, str], ExcitedState] = {
    ("85Rb", "D1"): ExcitedState(120.640, 0.0, 21.624),
    ("85Rb", "D2"): ExcitedState(25.038, 26.011, 21.734),
    ("87Rb", "D1"): ExcitedState(406.147, 0.0, -56.077),
    ("87Rb", "D2"): ExcitedState(84.7185, 12.4965, -56.361),
    ("133Cs", "D1"): ExcitedState(291.9201, 0.0, 0.0),
    ("133Cs", "D2"): ExcitedState(50.28827, -0.4934, 0.0),
    ("39K", "D1"): ExcitedState(27.775, 0.0, 15.864),
    ("39K", "D2"): ExcitedState(6.093, 2.786, 15.91),
    ("40K", "D1"): ExcitedState(-34.523, 0.0, -109.773),
    ("40K", "D2"): ExcitedState(-7.585, -3.445, -110.11),
    ("41K", "D1"): ExcitedState(15.245, 0.0, -219.625),
    ("41K", "D2"): ExcitedState(3.363, 3.351, -220.27),
    ("23Na", "D1"): ExcitedState(94.44, 0.0, 0.0),
    ("23Na", "D2"): ExcitedState(18.534, 2.724, 0.0),
}

#: the ElecSus value of the 41K D1 excited-state A (its ground-state A: a bug)
_ELECSUS_OVERRIDES = {("41K", "D1"): ExcitedState(127.0069352, 0.0, -219.625)}

CONSTANTS_SETS = ("mohilbert", "elecsus")

#: isotopes of each element, main isotope first
ELEMENT_ISOTOPES: dict[str, tuple[str, ...]] = {
    "Rb": ("85Rb", "87Rb"),
    "Cs": ("133Cs",),
    "K": ("39K", "40K", "41K"),
    "Na": ("23Na",),
}

#: natural abundances [percent] as ElecSus uses them (rb85frac, K40frac, K41frac defaults)
NATURAL_PERCENT: dict[str, dict[str, float]] = {
    "Rb": {"85Rb": 72.17, "87Rb": 100 - 72.17},
    "Cs": {"133Cs": 100.0},
    "K": {"39K": 100 - 0.01 - 6.73, "40K": 0.01, "41K": 6.73},
    "Na": {"23Na": 100.0},
}


def excited_state(isotope: str, line: str, constants: str = "mohilbert") -> ExcitedState:
    """Excited-state constants for ``isotope`` on ``line`` in a constants set.

    Parameters
    ----------
    isotope : str
        Isotope name, e.g. ``"87Rb"``.
    line : str
        ``"D1"`` or ``"D2"``.
    constants : str
        Constants set: ``"mohilbert"`` (Steck's current values) or ``"elecsus"`` (ElecSus's).
    """
    if constants not in CONSTANTS_SETS:
        raise ValueError(f"unknown constants set {constants!r}; known: {CONSTANTS_SETS}")
    if constants == "elecsus" and (isotope, line) in _ELECSUS_OVERRIDES:
        return _ELECSUS_OVERRIDES[(isotope, line)]
    return _EXCITED[(isotope, line)]


def get_line(element: str, line: str) -> Line:
    """The :class:`Line` for ``element`` (Rb, Cs, K, Na) and ``line`` (D1, D2)."""
    try:
        return LINES[(element, line)]
    except KeyError:
        raise ValueError(
            f"unknown element/line {element!r}/{line!r}; known: "
            + ", ".join(f"{e} {ln}" for e, ln in LINES)
        ) from None


def isotope_fractions(
    element: str, percent: dict[str, float] | str | None = None
) -> dict[str, float]:
    """Isotope fractions (summing to 1) from natural abundance or user percentages.

    ``percent`` is ``None``/``"natural"``, a dict ``{"85Rb": 99.0}`` or a string
    ``"85Rb:99"`` / ``"40K:0.01,41K:6.73"``. Isotopes not given take the rest in the order
    of their natural abundance (the main isotope absorbs the remainder).
    """
    if element not in ELEMENT_ISOTOPES:
        raise ValueError(f"unknown element {element!r}; known: {list(ELEMENT_ISOTOPES)}")
    if percent is None or percent == "natural":
        pct = dict(NATURAL_PERCENT[element])
    else:
        if isinstance(percent, str):
            pct = {}
            for part in percent.split(","):
                name, value = part.split(":")
                pct[name.strip()] = float(value)
        else:
            pct = dict(percent)
        for name in pct:
            if name not in ELEMENT_ISOTOPES[element]:
                raise ValueError(f"{name!r} is not an isotope of {element}")
            if not 0 <= pct[name] <= 100:
                raise ValueError(f"isotope percentage {name}={pct[name]} outside 0..100")
        given = sum(pct.values())
        rest = [i for i in ELEMENT_ISOTOPES[element] if i not in pct]
        if given > 100 + 1e-9:
            raise ValueError(f"isotope percentages add up to {given} > 100")
        if rest:
            main = rest[0]
            for iso in rest:
                pct[iso] = 0.0
            pct[main] = 100.0 - given
        elif abs(given - 100) > 1e-6:
            raise ValueError(f"isotope percentages add up to {given}, not 100")
    return {k: v / 100.0 for k, v in pct.items() if v > 0}
