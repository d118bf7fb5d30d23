"""A long-lived ElecSus 3.0.8 worker for side-by-side benchmarks (run in its own venv).

Reads one JSON request per line on stdin, answers one JSON line on stdout:
``{"op": "spectrum", "x": [start, stop, n], "E_in": [[re, im], ...], "p_dict": {...}}`` →
``{"seconds": t}``; ``{"op": "fit", ...}`` → ``{"seconds": t, "values": {...}, "nfev": n}``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

sys.path.insert(0, sys.argv[1])  # ../shared/peers/elecsus-3.0.8
from elecsus.elecsus_methods import calculate, fit_data
from elecsus.libs.spectra import p_dict_defaults


def main() -> None:
    answer, sys.stdout = sys.stdout, sys.stderr  # ElecSus prints progress: keep stdout for us
    for line in sys.stdin:
        req = json.loads(line)
        x = np.linspace(*req["x"][:2], int(req["x"][2]))
        # spectra take a Jones vector; fits take ElecSus's [E_x, [E_y, E_phase]]
        e_in = req["E_in"] if req["op"] == "fit" else np.array([complex(*c) for c in req["E_in"]])
        if req["op"] == "spectrum":
            t0 = time.perf_counter()
            calculate(x, e_in, req["p_dict"], outputs=["S0", "S1", "S2", "S3"])
            out = {"seconds": time.perf_counter() - t0}
        else:
            y = np.asarray(req["y"])
            t0 = time.perf_counter()
            # every parameter needs a start value (current lmfit sets missing ones to -inf)
            p_dict = {**p_dict_defaults, **req["p_dict"], "E_x": 1.0, "E_y": 0.0, "E_phase": 0.0}
            if "DoppTemp" not in req["p_dict"]:
                p_dict["DoppTemp"] = p_dict["T"]
            best, rms, result = fit_data(
                (x, y), p_dict, req["p_dict_bools"], E_in=e_in, data_type="S0"
            )
            out = {
                "seconds": time.perf_counter() - t0,
                "values": {k: float(best[k]) for k in ("T", "Bfield")},
                "nfev": int(getattr(result, "nfev", -1)),
            }
        print(json.dumps(out), file=answer, flush=True)


if __name__ == "__main__":
    main()
