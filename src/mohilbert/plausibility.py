"""Values a physicist probably did not mean (a temperature in kelvin, a length in mm, a field
in gauss): warnings with the likely cause, for the CLI, the ElecSus drop-in and the runs sheet.

Kept free of numerical imports: the workflow checks its sheet with it while building the DAG.
"""

from __future__ import annotations


def implausible(
    temperature_C: float | None = None, length_m: float | None = None, field_T: float | None = None
) -> list[str]:
    """Values a physicist probably did not mean, each with its likely cause.

    The model computes any number it is given; these are the typos it would silently turn into
    a spectrum: a temperature in kelvin, a length in millimetres, a field in gauss or mT.

    Parameters
    ----------
    temperature_C : float, optional
        Cell temperature [°C].
    length_m : float, optional
        Cell length [m].
    field_T : float, optional
        Magnetic field [T].

    Returns
    -------
    list of str
        One sentence per suspicious value (empty when all look physical).
    """
    out = []
    if temperature_C is not None:
        if temperature_C > 273.15 - 50 and 0 < temperature_C - 273.15 < 250:
            out.append(
                f"temperature_C = {temperature_C:g} °C looks like a temperature in kelvin "
                f"({temperature_C - 273.15:.2f} °C); vapour cells run at about 20–200 °C"
            )
        elif temperature_C > 250:
            out.append(
                f"temperature_C = {temperature_C:g} °C is hotter than vapour cells are run "
                "(about 20–200 °C): the vapour would be opaque over the whole line"
            )
        elif temperature_C < 0:
            out.append(
                f"temperature_C = {temperature_C:g} °C is below freezing: the vapour density is "
                "negligible (was a sign or a unit lost?)"
            )
    if length_m is not None and length_m > 0.5:
        out.append(
            f"length_m = {length_m:g} m is longer than vapour cells are made (≲ 0.3 m): "
            f"was it in millimetres ({length_m / 1000:g} m) or centimetres ({length_m / 100:g} m)?"
        )
    if field_T is not None and field_T > 3:
        out.append(
            f"field_T = {field_T:g} T is stronger than vapour-cell magnets (≲ 2 T): was it in "
            f"mT ({field_T / 1000:g} T) or gauss ({field_T / 1e4:g} T)?"
        )
    return out
