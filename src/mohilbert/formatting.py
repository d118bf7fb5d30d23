"""Numbers as a reader sees them: a value with its uncertainty, rounded together."""

from __future__ import annotations

import numpy as np


def decimals(err: float) -> int:
    """Decimal places that show an uncertainty's first two significant digits (0 from 10 up)."""
    return max(0, 1 - int(np.floor(np.log10(err))))


def pm(value: float, err: float) -> str:
    """'value ± err' rounded to the error's first two significant digits."""
    if not np.isfinite(err) or err <= 0:
        return f"{value:.4g}"
    digits = decimals(err)
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def rounded(value: float, err: float) -> tuple[float, float]:
    """(value, err) rounded as :func:`pm` prints them, so that a table written with them and a
    figure or report that prints ``pm`` of the full values show the same digits; unchanged
    where ``err`` is not a positive finite number."""
    if not (np.isfinite(err) and err > 0 and np.isfinite(value)):
        return value, err
    digits = decimals(err)
    return round(float(value), digits), round(float(err), digits)


def power(watts: float) -> str:
    """A probe power in the unit a lab reads it in: '560 µW', '1.8 mW', '30 nW'."""
    for factor, unit in ((1e-3, "mW"), (1e-6, "µW"), (1e-9, "nW")):
        if abs(watts) >= factor:
            return f"{watts / factor:.3g} {unit}"
    return f"{watts / 1e-12:.3g} pW"
