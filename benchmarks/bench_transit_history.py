"""Benchmark (issue 19): does the atoms' history along their path through the beam explain the
line-centre saturation of the HIP-ElecSus 0.5 mm power series better than the local steady
state with one transit rate that the intense-probe model (:mod:`mohilbert.intense`) uses?

The full 87Rb D2 system at the series' fitted field (σ+, rate equations, 24 levels), a
Gaussian 0.5 mm beam, thin slice, Doppler-averaged at the closed and the open line centre:

* ``paths``: :func:`mohilbert.atoms.trajectory.gaussian_beam_response` — atoms cross the beam
  on straight lines at their 2-D Maxwell speeds, entering thermal, no relaxation rate;
* ``local f``: the local steady state with the transit rate f/τ, τ = (π/4) D / v̄₂D
  (f = 1 is mohilbert's physics), averaged over the beam as the detector sees it.

Prints α/α_weak against peak I/I_sat for each model, then fits each to the data's line-centre
α of every run (``docs/changes/issue-19/line_centre_vs_model_full_series.csv``: from our
calibrated spectra, with their uncertainty) with one amplitude (density) and one intensity
scale per temperature, the beam propagated through the 2 mm cell as a whole
(dP/dz = −α(P) P, 40 steps; the same for every model), and prints χ² and the pulls.

    .venv/bin/python benchmarks/bench_transit_history.py [--points 20]   (~8 min on 2 cores)
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "docs" / "changes" / "issue-19" / "line_centre_vs_model_full_series.csv"
#: series → (fitted temperature [°C], fitted field [T]) of the joint intense-probe fits
SERIES = {"hip_0.5mm_T62": (62.17, 0.6037), "hip_0.5mm_T81": (81.94, 0.6005)}
D, LENGTH = 0.5e-3, 2e-3
FACTORS = (1.0, 1.5, 2.0, 3.0, 4.0)
U = np.linspace(-1500, 1500, 1001)  # velocity classes as atom-frame detunings [MHz]


def curves(args) -> dict:
    """α/α_weak at the closed and the open line against peak s, for every model."""
    temperature_C, field_T, s_list = args
    lines = line_centres(temperature_C, field_T)
    from mohilbert.atoms.constants import ISOTOPES, K_B, get_line
    from mohilbert.atoms.hamiltonian import line_list, populations
    from mohilbert.atoms.pumping import RatePrepared, linear_response, pumping_system
    from mohilbert.atoms.trajectory import gaussian_beam_response
    from mohilbert.intense import _rayleigh_rule, field_frame_components, mean_transit_time_s

    ln = get_line("Rb", "D2")
    eps = field_frame_components(np.array([1, 1j]) / np.sqrt(2), np.array([0, 0, 1.0]))
    field_g = 1e4 * field_T
    pops = populations(line_list("87Rb", "D2", field_g), temperature_C + 273.15)
    system = pumping_system("87Rb", "D2", field_g, eps, pops, ln.gamma_natural_MHz)
    gam = system.gamma_MHz
    mass = ISOTOPES["87Rb"].mass_kg
    gt = 1e-6 / (2 * np.pi * mean_transit_time_s(D, temperature_C, mass))
    sig_v = np.sqrt(K_B * (temperature_C + 273.15) / mass)
    doppler = np.sqrt(2) * sig_v / ln.wavelength_m * 1e-6
    mb = np.exp(-((U / doppler) ** 2)) / (np.sqrt(np.pi) * doppler) * (U[1] - U[0])
    speeds, weights = _rayleigh_rule(4)
    un, uw = np.polynomial.legendre.leggauss(24)  # detector weight I dA: u = I/I₀ on (0, 1]
    un, uw = (un + 1) / 2, uw / 2
    out = {}
    for name, centre in lines.items():
        d = centre + U
        weak = float(np.imag(linear_response(d, system, 0.5 * gam + gt) @ mb))
        for f in FACTORS:
            prep = RatePrepared(d, system, gt * f, 0.0)
            out[f"local {f:g}", name] = [
                1
                + sum(
                    wk * (np.imag(prep.solve(gam * np.sqrt(s * uk / 2))[0]) @ mb)
                    for uk, wk in zip(un, uw, strict=True)
                )
                / weak
                for s in s_list
            ]
        t0 = time.perf_counter()
        out["paths", name] = [
            1
            + float(
                np.imag(
                    gaussian_beam_response(
                        d, system, gam * np.sqrt(s / 2), D / 2, speeds * sig_v, weights
                    )
                )
                @ mb
            )
            / weak
            for s in s_list
        ]
        out["paths_s", name] = time.perf_counter() - t0
    return out


def _record(temperature_C: float, field_T: float) -> dict:
    return {
        "run": "r",
        "polarisation": "sigma_plus",
        "cell_length_m": LENGTH,
        "temperature_C": temperature_C,
        "field_T": field_T,
        "isotope_percent": "85Rb:1",
    }


def line_centres(temperature_C: float, field_T: float) -> dict[str, float]:
    """The closed and the open line [MHz], as Figure 4 takes them."""
    import xarray as xr

    from mohilbert.stages.line_centre import open_and_closed_lines

    fit = xr.Dataset({"value": ("parameter", [field_T])}, coords={"parameter": ["field_T"]})
    return open_and_closed_lines(fit, {"r": _record(temperature_C, field_T)})


def weak_alpha(temperature_C: float, field_T: float) -> np.ndarray:
    """Weak-probe α [1/m] at the closed and the open line (the sheet's 1 % 85Rb included)."""
    from mohilbert.intense import Probe
    from mohilbert.theory import Cell, intense_arrays

    lines = line_centres(temperature_C, field_T)
    cell = Cell(
        length_m=LENGTH, temperature_C=temperature_C, field_T=field_T, isotope_percent="85Rb:1"
    )
    x = np.array([lines["closed"], lines["open"]])
    t = intense_arrays(x, cell, "sigma_plus", Probe(1e-12, D, beam_profile="gaussian"))["S0"]
    return -np.log(t) / LENGTH


def fit_model(data: pd.DataFrame, s_grid, closed, opened, alpha0) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude and intensity scale; the pulls (data − model)/σ."""
    isat = 16.69
    s_nom = 2 * data["probe_power_W"].to_numpy() / (np.pi * (D / 2) ** 2) / isat
    is_closed = (data["line"] == "closed").to_numpy()
    y, u = data["alpha_per_m"].to_numpy(), data["alpha_uncertainty_per_m"].to_numpy()
    log_grid = np.log(s_grid)

    def model(p):
        amp, log_k = p
        out = np.empty(y.size)
        for i, (s0, c) in enumerate(zip(s_nom * np.exp(log_k), is_closed, strict=True)):
            ratio, a = (closed, alpha0[0]) if c else (opened, alpha0[1])
            ln_p, dz = 0.0, LENGTH / 40
            for _ in range(40):
                ln_p -= amp * a * np.interp(np.log(s0) + ln_p, log_grid, ratio) * dz
            out[i] = -ln_p / LENGTH
        return out

    res = least_squares(lambda p: (model(p) - y) / u, [1.0, np.log(0.3)])
    return res.x, res.fun


def main() -> None:
    if not DATA.exists():
        print(f"skipped: {DATA} absent")
        return
    n = int(sys.argv[sys.argv.index("--points") + 1]) if "--points" in sys.argv else 20
    s_grid = np.geomspace(1e-3, 3e3, n)
    table = pd.read_csv(DATA)
    table = table[np.isfinite(table["alpha_per_m"]) & np.isfinite(table["alpha_uncertainty_per_m"])]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        results = dict(
            zip(SERIES, pool.map(curves, [(*v, s_grid) for v in SERIES.values()]), strict=True)
        )
    print(f"model curves in {time.perf_counter() - t0:.0f} s wall; peak I/I_sat:")
    print(" ", np.round(s_grid, 4).tolist())
    rows = []
    for series, (temperature_C, field_T) in SERIES.items():
        res = results[series]
        print(f"\n## {series} ({temperature_C} °C, {field_T} T): α/α_weak, thin slice")
        for model in ["paths"] + [f"local {f:g}" for f in FACTORS]:
            for line in ("closed", "open"):
                print(f"  {model:9s} {line:6s}", np.round(res[model, line], 4).tolist())
        print(f"  paths: {res['paths_s', 'closed'] + res['paths_s', 'open']:.0f} s for both lines")
        alpha0 = weak_alpha(temperature_C, field_T)
        data = table[table["series"] == series]
        for model in ["paths"] + [f"local {f:g}" for f in FACTORS]:
            p, pull = fit_model(data, s_grid, res[model, "closed"], res[model, "open"], alpha0)
            closed = (data["line"] == "closed").to_numpy()
            rows.append(
                {
                    "series": series,
                    "model": model,
                    "amplitude": round(float(p[0]), 4),
                    "intensity_scale": round(float(np.exp(p[1])), 3),
                    "chi2": round(float(np.sum(pull**2))),
                    "chi2_closed": round(float(np.sum(pull[closed] ** 2))),
                    "chi2_open": round(float(np.sum(pull[~closed] ** 2))),
                    "within_3sigma": f"{int(np.sum(np.abs(pull) <= 3))}/{pull.size}",
                }
            )
    print("\n## Line-centre α of the paper runs against each model (amplitude and scale fitted)")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
