"""Benchmark: the intense-probe model (issue 18) — speed, accuracy knobs, HIP-ElecSus parity,
Kramers–Kronig at high power, and the cost of a fit.

Case of the issue: 87Rb D2, 0.6 T, 2 mm, 62 °C, 0.5 mm beam, 2000 points over 5.5–18 GHz,
Doppler-averaged, one core (one BLAS thread). HIP-ElecSus on this machine kind: ~14 s set-up +
~120 s per spectrum (PROVENANCE.md of ../shared/data/real/hip-elecsus,
measured 2026-12-01); it is not run side by side here (it needs ARC and 134 s per spectrum).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_intense.py [--quick]
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import cold, statement, warm  # noqa: E402

from mohilbert.intense import Probe, saturation_intensity_W_m2  # noqa: E402
from mohilbert.kramers_kronig import index_from_od  # noqa: E402
from mohilbert.theory import Cell, intense_arrays, spectrum_arrays  # noqa: E402

HIP = Path(__file__).resolve().parents[1].parent / "shared/data/real/hip-elecsus/paper_figures"
HIP_SECONDS = 134.0
X = np.linspace(5500, 18000, 2000)
D = 0.5e-3
CELL = Cell(length_m=2e-3, temperature_C=62.0, field_T=0.6, isotope_percent={"87Rb": 100})


def hip_power(factor: float) -> float:
    """HIP-ElecSus's power for an 'Isat factor': P = factor · π I_sat D² / 8."""
    return factor * np.pi * 16.69 * D**2 / 8


def timing(repeat: int) -> None:
    print("## Speed (one core)")
    print(statement())
    cases = [
        (
            "87Rb, flat, HIP compat (issue case)",
            CELL,
            Probe(hip_power(8.57), D, compat="hip-elecsus"),
        ),
        ("87Rb, flat, mohilbert physics", CELL, Probe(hip_power(8.57), D)),
        ("87Rb, gaussian beam (8 nodes)", CELL, Probe(hip_power(8.57), D, "gaussian")),
        ("natural Rb, flat", CELL.with_(isotope_percent=None), Probe(hip_power(8.57), D)),
        ("87Rb, flat, 20 z-slices", CELL, Probe(hip_power(8.57), D, z_slices=20)),
        (
            "87Rb, flat, transit distribution",
            CELL,
            Probe(hip_power(8.57), D, transit="distribution"),
        ),
    ]
    print(f"| case | cold [s] | vs HIP-ElecSus {HIP_SECONDS:.0f} s | warm [s] | vs HIP-ElecSus |")
    print("|---|---|---|---|---|")
    for name, cell, probe in cases:
        call = lambda c=cell, p=probe: intense_arrays(X, c, "sigma_plus", p)  # noqa: E731
        t_cold, _ = cold(call, repeat)
        t_warm, _ = warm(call, repeat)
        print(
            f"| {name} | {t_cold:.3f} | {HIP_SECONDS / t_cold:.0f}x | {t_warm:.3f} | "
            f"{HIP_SECONDS / t_warm:.0f}x |"
        )
    t, _ = cold(
        lambda: intense_arrays(X, CELL, "sigma_plus", Probe(hip_power(8.57), D, solver="lindblad"))
    )
    print(f"| 87Rb, flat, full Lindblad solver | {t:.2f} | {HIP_SECONDS / t:.0f}x | | |")
    t, _ = cold(lambda: spectrum_arrays(X, CELL, "sigma_plus"), repeat)
    print(f"| (weak-probe model, same grid) | {t:.4f} | | | |")


def parity() -> None:
    print("\n## HIP-ElecSus parity (compat='hip-elecsus')")
    if not HIP.exists():
        print(f"skipped: {HIP} absent")
        return
    for f in ("0.274", "8.57", "152.5"):
        d = np.load(HIP / "tmp_fig3" / f"(0.0005, 62.0, 0, 0.25, 1)_{f}.npz")
        for solver in ("rate", "lindblad"):
            arr = intense_arrays(
                d["x"],
                CELL,
                "sigma_plus",
                Probe(hip_power(float(f)), D, compat="hip-elecsus", solver=solver),
            )
            print(
                f"spectrum factor {f:>6}, {solver:8s}: max |dT| = {np.abs(arr['S0'] - d['y']).max():.2e}"
            )
    for temp in (62.0, 81.0):
        d = np.load(HIP / "simulation" / f"0.5_{temp}_0.0_transit_single_factor_propagated.npz")
        cell = CELL.with_(temperature_C=temp)
        for slices in (10, 50):
            worst = 0.0
            for _which, centre, ref in (
                ("closed", 6087.79, d["alphaC"].real),
                ("open", 17112.05, d["alphaO"].real),
            ):
                for fac, a_ref in zip(d["Isat_factor"], ref, strict=True):
                    probe = Probe(hip_power(fac), D, compat="hip-elecsus", z_slices=slices)
                    t = intense_arrays(np.array([centre]), cell, "sigma_plus", probe)["S0"][0]
                    worst = max(worst, abs(-np.log(t) / cell.length_m / a_ref - 1))
            print(
                f"line-centre alpha {temp} C, {slices} Euler slices: max relative deviation {worst:.2%}"
            )


def knobs() -> None:
    print("\n## Accuracy of the knobs (max |dT| against a finer setting, s = I/I_sat)")
    isat = saturation_intensity_W_m2("Rb", "D2")
    area = np.pi * D**2 / 4
    for s in (0.3, 3.0, 30.0):
        p = s * isat * area
        ref = intense_arrays(X, CELL, "sigma_plus", Probe(p, D, step_fraction=0.125))["S0"]
        for frac in (1.0, 0.5, 0.25):
            t = intense_arrays(X, CELL, "sigma_plus", Probe(p, D, step_fraction=frac))["S0"]
            print(f"s={s:5}: step {frac} x coherence width: {np.abs(t - ref).max():.1e}")
        refg = intense_arrays(X, CELL, "sigma_plus", Probe(p / 2, D, "gaussian", beam_nodes=48))[
            "S0"
        ]
        for nodes in (4, 8, 12, 24):
            t = intense_arrays(
                X, CELL, "sigma_plus", Probe(p / 2, D, "gaussian", beam_nodes=nodes)
            )["S0"]
            print(f"s={s:5}: gaussian beam, {nodes:2d} nodes: {np.abs(t - refg).max():.1e}")
        refz = intense_arrays(
            X, CELL.with_(temperature_C=81), "sigma_plus", Probe(p, D, z_slices=80)
        )["S0"]
        for sl in (1, 5, 10, 20):
            t = intense_arrays(
                X, CELL.with_(temperature_C=81), "sigma_plus", Probe(p, D, z_slices=sl)
            )["S0"]
            print(f"s={s:5}: 81 C, {sl:2d} z-slices (Heun): {np.abs(t - refz).max():.1e}")
    print("\n## Rate equations against the full Lindblad solution (max |dT|)")
    for geometry, cell, pol in (
        ("Faraday sigma+", CELL, "sigma_plus"),
        ("Voigt perpendicular", CELL.with_(field_theta_deg=90), "perpendicular"),
        ("Voigt parallel", CELL.with_(field_theta_deg=90), "parallel"),
    ):
        for s in (0.3, 3.0, 30.0, 300.0):
            p = s * isat * area
            r = intense_arrays(X, cell, pol, Probe(p, D))["S0"]
            lb = intense_arrays(X, cell, pol, Probe(p, D, solver="lindblad"))["S0"]
            print(f"{geometry:20s} s={s:6}: {np.abs(r - lb).max():.1e}")
    print("\n## Transit: distribution vs one mean time; transit broadening (max |dT|)")
    for s in (1e-6, 0.3, 3.0):
        p = s * isat * area
        m = intense_arrays(X, CELL, "sigma_plus", Probe(p, D))["S0"]
        dist = intense_arrays(X, CELL, "sigma_plus", Probe(p, D, transit="distribution"))["S0"]
        off = intense_arrays(X, CELL, "sigma_plus", Probe(p, D, transit_broadening=False))["S0"]
        print(
            f"s={s:7}: distribution - mean {np.abs(dist - m).max():.1e}; broadening off - on {np.abs(off - m).max():.1e}"
        )


def kramers_kronig() -> None:
    print(
        "\n## Kramers-Kronig at high power: Hilbert transform of the saturated OD vs the model's index"
    )
    x = np.linspace(0, 24000, 8001)
    k = 2 * np.pi / 780.241e-9
    kl = k * CELL.length_m
    weak = spectrum_arrays(x, CELL, "sigma_plus")
    od_w = -np.log(weak["S0"])
    n_w = weak["n"][0].real - 1  # sigma+ mode
    isat = saturation_intensity_W_m2("Rb", "D2")
    print("| I/I_sat | max |n_KK - n_model| / max |n_model - 1| |")
    print("|---|---|")
    for s in (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0):
        arr = intense_arrays(
            x, CELL, "sigma_plus", Probe(s * isat * np.pi * D**2 / 4, D, transit_broadening=False)
        )
        od = -np.log(arr["S0"])
        n_model = arr["n"][0].real - 1
        kk = index_from_od(x, od, kl, model_od=od_w, model_index=n_w)["index"]
        print(f"| {s:g} | {np.abs(kk - n_model).max() / np.abs(n_model).max():.2e} |")


def fit_cost() -> None:
    print("\n## Fit of T, B and an intensity scale to one 2000-point spectrum (rate equations)")
    truth = dict(temperature_C=62.0, field_T=0.6, scale=0.3)
    p_nom = hip_power(30.0)
    rng = np.random.default_rng(1)

    def model(theta):
        cell = CELL.with_(temperature_C=theta[0], field_T=theta[1])
        return intense_arrays(X, cell, "sigma_plus", Probe(p_nom * theta[2], D))["S0"]

    data = model([truth["temperature_C"], truth["field_T"], truth["scale"]]) + rng.normal(
        0, 1e-3, X.size
    )
    n_eval = [0]

    def resid(theta):
        n_eval[0] += 1
        return (model(theta) - data) / 1e-3

    t0 = time.perf_counter()
    res = least_squares(resid, [60.0, 0.5995, 0.5], x_scale=[1.0, 1e-4, 0.1], diff_step=1e-6)
    dt = time.perf_counter() - t0
    cov = np.linalg.inv(res.jac.T @ res.jac)
    err = np.sqrt(np.diag(cov))
    print(
        f"{dt:.1f} s, {n_eval[0]} model evaluations; T = {res.x[0]:.3f} ± {err[0]:.3f} C (truth 62), "
        f"B = {res.x[1]:.6f} ± {err[1]:.6f} T (0.6), scale = {res.x[2]:.4f} ± {err[2]:.4f} (0.3)"
    )


def fit_repeat(repeat: int) -> None:
    """What a series fit pays per run and evaluation: the paper's model (Gaussian beam, 8
    nodes, 10 z-slices, 81 °C) again at a slightly different power, every cache kept (warm)."""
    cell = CELL.with_(temperature_C=81.0)
    probe = Probe(hip_power(8.57), D, "gaussian", z_slices=10)
    intense_arrays(X, cell, "sigma_plus", probe)
    times = []
    for k in range(repeat):
        p = replace(probe, power_W=probe.power_W * (1 + 1e-3 * (k + 1)))
        t0 = time.perf_counter()
        intense_arrays(X, cell, "sigma_plus", p)
        times.append(time.perf_counter() - t0)
    print(
        f"| 87Rb, gaussian, 10 z-slices, 81 °C, a fit's repeat at a new power | | | "
        f"{statistics.median(times):.3f} | |"
    )


def main() -> None:
    quick = "--quick" in sys.argv
    timing(1 if quick else 5)
    fit_repeat(3 if quick else 10)
    parity()
    if not quick:
        knobs()
    kramers_kronig()
    fit_cost()


if __name__ == "__main__":
    main()
