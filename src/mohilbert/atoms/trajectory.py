r"""Optical pumping along the atoms' paths through a Gaussian beam (theory-spec §16, beyond one
transit rate).

The model of :mod:`mohilbert.atoms.pumping` puts every atom in the steady state of the local
intensity, with one relaxation rate γ_t = 1/τ standing for atoms that leave the beam. A real atom
enters the beam unpolarised, is pumped for as long as it is in the light, and leaves; at the beam
centre it carries the history of the wings it crossed. Here that is solved as it is:

* each atom moves on a straight line across the beam at its transverse speed v (the 2-D
  Maxwell–Boltzmann, i.e. Rayleigh, distribution of the atoms present) with impact parameter b;
  along its path x the intensity is I(b, x) = I₀ exp(−2(b² + x²)/w²);
* its ground populations obey the rate equations of :func:`mohilbert.atoms.pumping.rate_equations`
  with the excited states eliminated adiabatically (they follow within 1/Γ ≈ 26 ns; the beam
  changes over w/v ≈ 1 µs) and **no** relaxation term. The slow variables are
  n_g = (1 + Σ_e A_eg) P_g, each ground population with the excited population it feeds
  (P_e = A P_g), whose sum is conserved: dn/dx = 2π M(I(b, x)) P_g / v, n = p₀ (thermal)
  where the atom enters, solved exactly step by step (matrix exponentials at the mid-step
  intensity);
* the response of the atoms at every point is that of their populations there, and the
  detector weights it by the local intensity: ⟨r⟩ = ∫∫ I r db dx / ∫∫ I db dx, averaged over
  the speeds. For a cylindrical beam, every direction of motion gives the same plane integral,
  so one direction suffices.

The optical coherences still follow their populations, with the coherence width of
:func:`~mohilbert.atoms.pumping.coherence_width_MHz` (the finite time in the beam appears there
as the transit broadening, physics as before).

For a closed two-level system (no ground state to pump into) the populations do not remember
their history and the result is the local steady state; as I₀ → 0 the saturation part vanishes
∝ I₀. What differs from one transit rate: pumping builds up along the path, so it is weaker
than the mean-rate model in the wings and at low intensity, and complete (exponential in the
dose, not 1/(1 + R/γ_t)) at high intensity.

References
----------
P. Siddons et al., J. Phys. B 41, 155004 (2008); J. Sagle et al., J. Phys. B 29, 2629 (1996).
"""

from __future__ import annotations

import numpy as np

from mohilbert.atoms.pumping import PumpingSystem, RatePrepared

#: half-extent of the path and of the impact parameters, in beam radii w (I/I₀ = e^(−13.5))
PATH_EXTENT = 2.6


def _expm(a: np.ndarray) -> np.ndarray:
    """exp of a stack of square matrices (…, n, n): scaling and squaring of a 9-term Taylor
    series (relative error < 1e-12 for ‖a‖/2^s ≤ 1/4)."""
    norm = float(np.abs(a).sum(axis=-1).max()) if a.size else 0.0
    squarings = max(0, int(np.ceil(np.log2(max(norm, 1e-300) / 0.25))))
    a = a / 2.0**squarings
    out = np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
    term = out.copy()
    for k in range(1, 10):
        term = np.matmul(term, a) / k
        out += term
    for _ in range(squarings):
        out = np.matmul(out, out)
    return out


def _saturation(prep: RatePrepared, pg: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Saturation part of the response (:func:`~mohilbert.atoms.pumping.rate_equations`) of
    atoms with ground populations ``pg`` (…, nd, n_g)."""
    system = prep.system
    pe = np.matmul(a, pg[..., None])[..., 0]
    pe_full = np.zeros((*pg.shape[:-1], system.n_excited))
    pe_full[..., prep.driven_e] = pe
    diff = pg[..., prep.gg] - pe_full[..., prep.ee] - system.ground_population[prep.gg]
    return (prep.lor * diff) @ prep.a2


def gaussian_beam_response(
    delta_MHz: np.ndarray,
    system: PumpingSystem,
    peak_rabi_MHz: float,
    beam_radius_m: float,
    speeds_m_s: np.ndarray,
    speed_weights: np.ndarray,
    dephasing_MHz: float = 0.0,
    *,
    path_steps: int = 48,
    impact_nodes: int = 8,
) -> np.ndarray:
    """Saturation part of the response [1/MHz] of atoms crossing a Gaussian beam, weighted as
    a detector sees it (∫ I r dA / ∫ I dA), per atom-frame detuning.

    Parameters
    ----------
    delta_MHz : numpy.ndarray
        Probe detuning from ν0 in the atom's frame [MHz], 1-D.
    system : PumpingSystem
        The atoms (:func:`~mohilbert.atoms.pumping.pumping_system`).
    peak_rabi_MHz : float
        Ω₀/2π of a unit-strength transition on the beam axis [MHz].
    beam_radius_m : float
        1/e² intensity radius w [m].
    speeds_m_s, speed_weights : numpy.ndarray
        Transverse speeds [m/s] and their weights (sum 1), e.g. Gauss nodes of the Rayleigh
        distribution (:func:`mohilbert.intense._rayleigh_rule` times √(k_B T/m)).
    dephasing_MHz : float
        Pure dephasing of the optical coherences γ_d/2π [MHz].
    path_steps : int
        Exact-exponential steps along a path of ±2.6 w.
    impact_nodes : int
        Gauss–Legendre nodes over the impact parameter b ∈ [0, 2.6 w].

    Returns
    -------
    numpy.ndarray
        r − r_lin of :func:`~mohilbert.atoms.pumping.rate_equations`, averaged over the beam
        and the speeds (complex, shape of ``delta_MHz``).
    """
    d = np.asarray(delta_MHz, dtype=np.float64)
    v = np.asarray(speeds_m_s, dtype=np.float64)
    wv = np.asarray(speed_weights, dtype=np.float64)
    if d.ndim != 1 or not np.isfinite(d).all():
        raise ValueError("delta_MHz must be a finite 1-D array")
    if not (np.isfinite(peak_rabi_MHz) and peak_rabi_MHz >= 0):
        raise ValueError(f"peak_rabi_MHz must be finite and >= 0, got {peak_rabi_MHz}")
    if not (np.isfinite(beam_radius_m) and beam_radius_m > 0):
        raise ValueError(f"beam_radius_m must be > 0, got {beam_radius_m}")
    if v.ndim != 1 or v.shape != wv.shape or (v <= 0).any() or not np.isclose(wv.sum(), 1):
        raise ValueError("speeds_m_s must be positive, with one weight each summing to 1")
    if path_steps < 2 or impact_nodes < 1:
        raise ValueError("path_steps must be >= 2 and impact_nodes >= 1")
    w = float(beam_radius_m)
    # the transit rate of RatePrepared only enters the coherence width here (transit
    # broadening, ~1/τ): the populations have no relaxation term
    tau = np.pi / 4 * 2 * w / float(v @ wv)
    prep = RatePrepared(d, system, 1e-6 / (2 * np.pi * tau), dephasing_MHz)
    o2 = float(peak_rabi_MHz) ** 2
    x = np.linspace(-PATH_EXTENT * w, PATH_EXTENT * w, path_steps + 1)
    wx = np.full(x.size, x[1] - x[0])
    wx[[0, -1]] /= 2
    mid = 0.5 * (x[1:] + x[:-1])
    bn, bw = np.polynomial.legendre.leggauss(impact_nodes)
    bn, bw = (bn + 1) * PATH_EXTENT * w / 2, bw * PATH_EXTENT * w / 2
    dt_us = (x[1] - x[0]) / v * 1e6
    every = np.arange(d.size)
    total = np.zeros(d.size, dtype=complex)
    norm = 0.0
    for b, weight_b in zip(bn, bw, strict=True):
        shape = np.exp(-2 * (b**2 + x**2) / w**2)
        shape_mid = np.exp(-2 * (b**2 + mid**2) / w**2)
        # n: each ground state's population with the excited population it feeds counted in
        # (n_g = (1 + Σ_e A_eg) P_g), which the light only moves between ground states
        n = np.broadcast_to(system.ground_population, (v.size, d.size, system.n_ground)).copy()
        for k in range(x.size):
            if k:
                m, a = prep.ground_system(every, o2 * shape_mid[k - 1], 0.0)
                m = m / (1 + a.sum(axis=-2))[..., None, :]
                step = _expm(2 * np.pi * m[None] * dt_us[:, None, None, None])
                n = np.matmul(step, n[..., None])[..., 0]
            _, a = prep.ground_system(every, o2 * shape[k], 0.0)
            sat = wv @ _saturation(prep, n / (1 + a.sum(axis=-2)), a)
            total += weight_b * wx[k] * shape[k] * sat
        norm += weight_b * float(wx @ shape)
    return total / norm
