"""Peers for side-by-side benchmarks: ElecSus 3.0.8 from ../shared/peers in a venv of its own.

The venv (``.venv-peers``, git-ignored) is created on first use with the packages ElecSus
needs; ElecSus then runs as a long-lived worker process with one BLAS thread, so that a
benchmark can interleave its calls with mohilbert's in the same run and print ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOHILBERT_SHARED", REPO.parent / "shared")).resolve()
ELECSUS = SHARED / "peers" / "elecsus-3.0.8"
VENV = REPO / ".venv-peers"
#: ElecSus's dependencies (its README), numpy/scipy/lmfit pinned as mohilbert's
PACKAGES = ["numpy==2.4.6", "scipy==1.17.1", "lmfit==1.3.4", "matplotlib", "sympy", "psutil"]
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def elecsus_missing() -> str | None:
    """Why ElecSus cannot run here, or None."""
    if not (ELECSUS / "elecsus" / "elecsus_methods.py").exists():
        return f"ElecSus not found at {ELECSUS} (../shared absent): peer timings skipped"
    return None


def _python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"[peers] creating {VENV} for ElecSus ({', '.join(PACKAGES)})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES],
            check=True,
        )
    return py


class ElecSus:
    """A running ElecSus worker: ``spectrum(...)`` and ``fit(...)`` return its own timings."""

    def __init__(self) -> None:
        env = {**os.environ, **ONE_THREAD}
        self.proc = subprocess.Popen(
            [str(_python()), str(REPO / "benchmarks" / "_elecsus_worker.py"), str(ELECSUS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def _ask(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the ElecSus worker died")
        return json.loads(line)

    def spectrum(self, x: tuple, e_in, p_dict: dict) -> float:
        return self._ask({"op": "spectrum", "x": list(x), "E_in": _pairs(e_in), "p_dict": p_dict})[
            "seconds"
        ]

    def fit(self, x: tuple, y, e_in, p_dict: dict, free: dict) -> dict:
        """ElecSus's ML fit; ``e_in`` in its fit form [E_x, [E_y, E_phase]]."""
        return self._ask(
            {
                "op": "fit",
                "x": list(x),
                "y": list(map(float, y)),
                "E_in": e_in,
                "p_dict": p_dict,
                "p_dict_bools": free,
            }
        )

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _pairs(e_in) -> list[list[float]]:
    return [[complex(c).real, complex(c).imag] for c in e_in]
