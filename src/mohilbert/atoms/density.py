r"""Alkali vapour pressure and number density.

Vapour pressure after Alcock, Itkin and Horrigan, Canadian Metallurgical Quarterly 23, 309
(1984), as coded in ElecSus (theory-spec §5), in atmospheres:

.. math::

    \log_{10} p = A - B/T \;(\text{solid}), \qquad
    \log_{10} p = A' - B'/T - C' \log_{10} T \;(\text{liquid}),

with T in kelvin, and the ideal-gas number density :math:`N = p / (k_B T)` [m⁻³].
"""

from __future__ import annotations

import numpy as np

from mohilbert.atoms.constants import K_B

# element: (solid A, solid B, melting point [K], liquid A, liquid B, liquid C)
_ALCOCK = {
    "Rb": (4.857, 4215.0, 312.46, 8.316, 4275.0, 1.3102),
    "K": (4.961, 4646.0, 336.8, 8.233, 4693.0, 1.2403),
    "Cs": (4.711, 3999.0, 301.65, 8.232, 4062.0, 1.3359),
    "Na": (5.298, 5603.0, 370.95, 8.400, 5634.0, 1.1748),
}


def vapour_pressure_Pa(element: str, temperature_C: float) -> float:
    """Saturated vapour pressure [Pa] of ``element`` at ``temperature_C`` [°C]."""
    a, b, tm, a2, b2, c2 = _ALCOCK[element]
    t = temperature_C + 273.15
    if t <= 0:
        raise ValueError(f"temperature {temperature_C} °C is below absolute zero")
    log_p = a - b / t if t < tm else a2 - b2 / t - c2 * np.log10(t)
    return 101325.0 * 10.0**log_p


def number_density(element: str, temperature_C: float) -> float:
    """Number density N [m⁻³] of saturated ``element`` vapour at ``temperature_C`` [°C]."""
    return vapour_pressure_Pa(element, temperature_C) / (K_B * (temperature_C + 273.15))
