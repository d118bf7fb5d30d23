"""The field geometries of the Hilbert analysis: which pair of eigen-modes a geometry has and
how their two indices combine into the magneto-optical quantity (rotation or retardance).

A vocabulary, not a stage: :mod:`mohilbert.stages.hilbert` reads it, the figures label with
it. Faraday and Voigt differ only in this data, so one analysis serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

from mohilbert.kramers_kronig import faraday_rotation_direct, voigt_retardance_direct


@dataclass(frozen=True)
class Geometry:
    """A field geometry of the Hilbert analysis: its pair of eigen-modes and how their two
    indices combine into the magneto-optical quantity.

    Attributes
    ----------
    modes : tuple of str
        The eigen-modes (a, b), in the order the quantity is b − a.
    quantity, label : str
        Variable stem (``rotation`` / ``retardance``) and its words.
    coefficient : float
        Quantity = coefficient · kL · Re(n_b − n_a) [rad]: 1/2 for the Faraday rotation,
        1 for the Voigt retardance.
    dichroism, dichroism_label : str
        Name and words of OD(a) − OD(b).
    direct : callable
        The angle from the polarimeter signal and the two transmissions.
    angle_multiple : int
        The polarimeter measures sin(angle_multiple · angle) √(T_a T_b): 2 (S2, Faraday),
        1 (S3, Voigt).
    """

    modes: tuple[str, str]
    quantity: str
    label: str
    coefficient: float
    dichroism: str
    dichroism_label: str
    direct: object
    angle_multiple: int


GEOMETRIES = {
    "faraday": Geometry(
        ("sigma_plus", "sigma_minus"),
        "rotation",
        "Faraday rotation",
        0.5,  # (kL/2) Re(n_sigma- - n_sigma+)
        "circular_dichroism",
        "circular dichroism OD(sigma+) - OD(sigma-)",
        faraday_rotation_direct,
        2,
    ),
    "voigt": Geometry(
        ("parallel", "perpendicular"),
        "retardance",
        "Voigt retardance",
        1.0,  # kL Re(n_perp - n_par)
        "linear_dichroism",
        "linear dichroism OD(parallel) - OD(perpendicular)",
        voigt_retardance_direct,
        1,
    ),
}


MODE_PAIRS = {
    **{name: geo.modes for name, geo in GEOMETRIES.items()},
    "zero_field": ("isotropic",),  # B = 0: every polarisation sees the same index
}
