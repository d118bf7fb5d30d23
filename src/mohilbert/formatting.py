"""Numbers as a reader sees them: a value with its uncertainty, rounded together."""

from __future__ import annotations

import numpy as np


def pm(value: float, err: float) -> str:
    """'value ± err' rounded to the error's first two significant digits."""
    if not np.isfinite(err) or err <= 0:
        return f"{value:.4g}"
    digits = max(0, 1 - int(np.floor(np.log10(err))))
    return f"{value:.{digits}f} ± {err:.{digits}f}"
