"""Numbers as a reader sees them: a value with its uncertainty, rounded together."""

from __future__ import annotations

import numpy as np


def pm(value: float, err: float) -> str:
    """'value ± err' rounded to the error's first two significant digits."""
    if not np.isfinite(err) or err <= 0:
        return f"{value:.4g}"
    digits = max(0, 1 - int(np.floor(np.log10(err))))
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def power(watts: float) -> str:
    """A probe power in the unit a lab reads it in: '560 µW', '1.8 mW', '30 nW'."""
    for factor, unit in ((1e-3, "mW"), (1e-6, "µW"), (1e-9, "nW")):
        if abs(watts) >= factor:
            return f"{watts / factor:.3g} {unit}"
    return f"{watts / 1e-12:.3g} pW"
