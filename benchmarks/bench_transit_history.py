"""Benchmark (issue 19): does the atoms' history along their path through the beam change the
line-centre saturation of an open transition, compared with the local steady state with one
transit rate that the intense-probe model (:mod:`mohilbert.intense`) uses?

A three-level toy at the line centre: ground, excited, and the other ground states an open
line leaks to (leak β); 87Rb D2 numbers, 62 °C, a 0.5 mm beam. Doppler-averaged over the
resonant velocity classes, the excited state adiabatic. Each atom crosses the beam on a
straight chord at its 2-D Maxwell speed (Gauss–Laguerre nodes) and impact parameter
(Gauss–Legendre), entering unpumped ("trajectories"); the detector weights each point by the
local intensity. Against it: the local steady state with a transit rate f/τ, τ = (π/4) D/v̄₂D
the mean transit time (f = 1 is mohilbert's physics, f = π HIP-ElecSus's 1/(2τ) of ordinary
frequency). The closed line (β = 0) is the same in both by construction.

Prints the normalised line-centre absorption against peak I/I_sat and the largest relative
difference of each steady state from the trajectories.

    .venv/bin/python benchmarks/bench_transit_history.py [flat|gaussian]    (about 3 min each)
"""

from __future__ import annotations

import sys

import numpy as np
from numpy.polynomial.laguerre import laggauss
from numpy.polynomial.legendre import leggauss

GAMMA = 2 * np.pi * 6.065  # natural decay rate [1/µs]
K_B, MASS, T_K, LAMBDA = 1.380649e-23, 1.443e-25, 335.15, 780.24e-9
D = 0.5e-3  # beam diameter [m] (flat top) or 1/e² diameter (Gaussian)
U = np.sqrt(2 * K_B * T_K / MASS)  # most probable speed [m/s]
KU = 2 * np.pi * U / LAMBDA * 1e-6  # Doppler width [1/µs]
TAU_US = np.pi / 4 * D / np.sqrt(np.pi * K_B * T_K / (2 * MASS)) * 1e6  # mean transit time
DELTA = np.linspace(-4 * KU, 4 * KU, 4001)  # velocity classes as detunings [1/µs]
DOPPLER = np.exp(-((DELTA / KU) ** 2)) / (np.sqrt(np.pi) * KU) * (DELTA[1] - DELTA[0])
_Y, _WY = laggauss(12)  # 2-D speed distribution v e^(-v²/u²) dv ∝ e^(-y) dy, y = v²/u²
SPEEDS, SPEED_WEIGHTS = U * np.sqrt(_Y), _WY / _WY.sum()


def line_centre(s_peak, strength, leak, beam, history, factor=1.0, nb=16, nx=240) -> float:
    """Line-centre absorption normalised to the weak probe (1 = unsaturated)."""
    gc = GAMMA / 2
    shape = gc / (gc**2 + DELTA**2)
    pump = strength * GAMMA**2 / 2 * gc / (2 * (gc**2 + DELTA**2))  # per unit I/I_sat
    half = D / 2 if beam == "flat" else D  # impact parameters out to the radius or 2w
    xb, wb = leggauss(nb)
    impacts, impact_weights = 0.5 * (xb + 1) * half, wb * 0.5 * half
    num = den = 0.0
    for b, wb_ in zip(impacts, impact_weights, strict=True):
        if beam == "flat":
            chord = np.sqrt(max((D / 2) ** 2 - b**2, 0.0))
            x = np.linspace(-chord, chord, nx)
            inten = np.ones(nx)
        else:
            x = np.linspace(-D, D, nx)
            inten = np.exp(-2 * (x**2 + b**2) / (D / 2) ** 2)
        dx = x[1] - x[0]
        rate = s_peak * inten[:, None] * pump[None, :]
        saturation = GAMMA / (GAMMA + 2 * rate)
        loss = leak * GAMMA * rate / (GAMMA + 2 * rate)  # out of the driven ground state
        for v, wv in zip(SPEEDS, SPEED_WEIGHTS, strict=True):
            if history:
                dt = dx / v * 1e6
                ground = np.exp(-(np.cumsum(loss * dt, axis=0) - 0.5 * loss * dt))
            else:
                rate_t = factor / TAU_US
                ground = rate_t / (rate_t + loss)
            num += wb_ * wv * np.sum(inten[:, None] * ground * saturation * shape, axis=0) * dx
            den += wb_ * wv * np.sum(inten[:, None] * shape[None, :], axis=0) * dx
    return float(np.sum(DOPPLER * num) / np.sum(DOPPLER * den))


def main() -> None:
    beam = sys.argv[1] if len(sys.argv) > 1 else "gaussian"
    s_list = np.geomspace(1e-2, 1e3, 11)
    print(f"{beam} beam, D = {D * 1e3} mm, tau = {TAU_US:.2f} us; I/I_sat:", np.round(s_list, 3))
    for name, strength, leak in (("open", 0.33, 0.67), ("closed", 1.0, 0.0)):
        td = np.array([line_centre(s, strength, leak, beam, True) for s in s_list])
        print(f"{name:6s} trajectories     ", np.round(td, 4))
        for f in (1.0, 2.0, np.pi, 4.0):
            ss = np.array([line_centre(s, strength, leak, beam, False, f) for s in s_list])
            worst = np.max(np.abs(ss / td - 1))
            print(
                f"{name:6s} steady, f = {f:4.2f}", np.round(ss, 4), f"max |ratio - 1| {worst:.3f}"
            )


if __name__ == "__main__":
    main()
