"""Named input polarisations as Jones vectors (E_x, E_y) in the lab frame (k along +z).

Textbook convention (fields ∝ e^{i(kz − ωt)}): ``sigma_plus`` = (x̂ + iŷ)/√2 drives Δm = +1
transitions when the field points along +k. The names are Jones vectors, whatever the
physics convention: in ``conventions="elecsus"`` the same vector (1, i)/√2 drives Δm = −1
(ElecSus's "left", which sees ChiPlus).
"""

from __future__ import annotations

import numpy as np

JONES = {
    "sigma_plus": np.array([1, 1j]) / np.sqrt(2),
    "sigma_minus": np.array([1, -1j]) / np.sqrt(2),
    "x": np.array([1, 0], dtype=complex),
    "horizontal": np.array([1, 0], dtype=complex),
    "y": np.array([0, 1], dtype=complex),
    "vertical": np.array([0, 1], dtype=complex),
}


def jones_vector(polarisation, field_phi_rad: float = 0.0) -> np.ndarray:
    """Jones vector for a name, ``linear:<deg>``, ``jones:<Ex>,<Ey>`` or a 2-sequence.

    ``parallel`` / ``perpendicular`` are linear along / across the transverse projection of
    the field, whose azimuth about k is ``field_phi_rad``.
    """
    if isinstance(polarisation, str):
        name = polarisation.strip()
        if name in JONES:
            return JONES[name].astype(complex)
        if name == "parallel":
            return np.array([np.cos(field_phi_rad), np.sin(field_phi_rad)], dtype=complex)
        if name == "perpendicular":
            return np.array([-np.sin(field_phi_rad), np.cos(field_phi_rad)], dtype=complex)
        if name.startswith("linear:"):
            ang = np.deg2rad(float(name.split(":", 1)[1]))
            return np.array([np.cos(ang), np.sin(ang)], dtype=complex)
        if name.startswith("jones:"):
            parts = name.split(":", 1)[1].split(",")
            if len(parts) != 2:
                raise ValueError(f"Jones vector {name!r} must have two components")
            vec = np.array([complex(p.strip().replace(" ", "")) for p in parts])
        else:
            raise ValueError(
                f"unknown polarisation {polarisation!r}; use sigma_plus, sigma_minus, parallel, "
                "perpendicular, x, y, linear:<deg>, jones:<Ex>,<Ey> or a 2-vector"
            )
    else:
        vec = np.asarray(polarisation, dtype=complex).ravel()
        if vec.size == 3:  # ElecSus passes (Ex, Ey, Ez)
            vec = vec[:2]
        if vec.size != 2:
            raise ValueError(f"a Jones vector has 2 components, got {vec.size}")
    if not np.any(vec):
        raise ValueError("the Jones vector is zero")
    return vec
