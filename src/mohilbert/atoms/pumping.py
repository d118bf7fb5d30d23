r"""Steady state of atoms driven by one probe field: optical pumping and saturation (theory-spec §16).

One isotope, one line, one field, one probe polarisation, one velocity class. The atom sees the
probe at the detuning δ [MHz] from ν0 in its own frame; every rate here is in MHz of ordinary
frequency (an angular rate divided by 2π), which leaves the steady state unchanged.

The model, in the rotating frame of the probe:

* levels: the ground and excited eigenstates of the field Hamiltonian (§2);
* coupling: Rabi frequency Ω_eg = Ω₀ a_eg, a_eg = Σ_q ε_q c^(q)_eg with c the signed dipole
  amplitudes of :func:`mohilbert.atoms.hamiltonian.couplings` (|c|² = the weak-probe line
  strengths) and Ω₀ the Rabi frequency of a unit-strength transition, Ω₀ = Γ √(I / 2I_sat);
* spontaneous decay at Γ from every excited state to each ground state with the branching
  Σ_q |c^(q)_eg|²;
* transit: atoms leave the beam at rate γ_t and thermal ground-state atoms replace them
  (every element of ρ relaxes towards the thermal ground state ρ₀);
* optical coherences lose phase at Γ/2 + γ_t + γ_d, where γ_d is pure dephasing (self- and
  buffer-gas broadening, half their FWHM).

Two solvers:

:func:`rate_equations`
    Populations only; each optical coherence follows its populations adiabatically, so the
    pump rate of line g → e is R = Ω_eg² γ / (2(γ² + (δ − ν_eg)²)). Ground-state coherences
    (Λ and Raman resonances where two lines overlap) are neglected. Cost: one (n × n) solve
    per detuning, n = n_g + n_e.
:func:`lindblad`
    The full Lindblad master equation; only the elements of ρ that the probe can reach from
    the thermal state are solved for (for a σ± probe along the field, those of equal
    m − photon number: 102 of 576 for 87Rb D2). The reference for the rate equations.

Both return the susceptibility per unit Rabi frequency, split into the linear part (the weak
probe, with the coherence width above) and the saturation part. As Ω₀ → 0 the saturation part
vanishes in proportion to Ω₀², and the linear part is the weak-probe line sum of
:mod:`mohilbert.atoms.susceptibility` exactly.

References
----------
D. R. Häupl et al., arXiv:2410.19916 (2024), HIP-ElecSus; P. Siddons et al., J. Phys. B 41,
155004 (2008) (rate equations for Rb D lines); Steck, "Rubidium 87 D Line Data".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mohilbert import caches
from mohilbert.atoms.hamiltonian import couplings

#: pairs with |a_eg|² below this are not driven
_MIN_COUPLING = 1e-12
#: the loops of the compiled kernels that may run on several threads (numba.prange once
#: compiled by mohilbert.caches.compiled; plain range in Python)
prange = range
#: detunings per batched master-equation solve (memory: chunk × n² complex)
_LINDBLAD_CHUNK = 512
#: detunings whose total pump rate is below this fraction of the transit rate take the steady
#: state to first order in the pump rates (closed form, no solve): the neglected terms are
#: (R/γ_t)² of the ground populations, i.e. < 1e-6 of the local weak-probe response
WEAK_PUMPING = 1e-3
#: ... or whose first-order saturation part |s₁| is so small that its error, ~|s₁| R/γ_t,
#: stays below this fraction of a velocity class's peak weak-probe response max|a|²p₀/(2γ):
#: the far wings of a strong probe, pumped but contributing little after the Doppler sum.
#: On the 0.5 mm / 62 °C paper series at its optimum (up to ~300 I_sat) against solving every
#: pumped detuning: 1e-7 → 3.8e-9 in transmission at most, 1e-6 → 4.1e-8, 1e-5 → 4.3e-7;
#: at 1e-6 a third less time per set of the series' spectra
FIRST_ORDER_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PumpingSystem:
    """What the steady state of one isotope needs, for one probe polarisation.

    Attributes
    ----------
    transition_MHz
        ν_eg = E_e − E_g [MHz from ν0], shape (n_e, n_g).
    coupling
        a_eg = Σ_q ε_q c^(q)_eg, the probe's amplitude on each pair (complex, (n_e, n_g)).
    amplitude
        Signed c^(q)_eg, shape (3, n_e, n_g), q = +1, 0, −1 (for the decay operators).
    branching
        Σ_q |c^(q)_eg|², shape (n_e, n_g); each row sums to 1.
    ground_population
        Thermal ground-state populations p₀ (sum 1), shape (n_g,).
    gamma_MHz
        Natural decay rate Γ/2π [MHz].
    ground_energy_MHz, excited_energy_MHz
        Eigen-energies [MHz] (ν_eg = E_e − E_g).
    """

    transition_MHz: np.ndarray
    coupling: np.ndarray
    amplitude: np.ndarray
    branching: np.ndarray
    ground_population: np.ndarray
    gamma_MHz: float
    ground_energy_MHz: np.ndarray
    excited_energy_MHz: np.ndarray

    @property
    def n_ground(self) -> int:
        return self.ground_population.size

    @property
    def n_excited(self) -> int:
        return self.transition_MHz.shape[0]

    def driven_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(e, g) index arrays of the pairs the probe couples."""
        return np.nonzero(np.abs(self.coupling) ** 2 > _MIN_COUPLING)


def pumping_system(
    isotope: str,
    line: str,
    field_G: float,
    polarisation_q: np.ndarray,
    ground_population: np.ndarray,
    gamma_MHz: float,
    constants: str = "mohilbert",
) -> PumpingSystem:
    """The :class:`PumpingSystem` of ``isotope`` on ``line`` at ``field_G`` gauss.

    Parameters
    ----------
    isotope : str
        Isotope name, e.g. ``"87Rb"``.
    line : str
        ``"D1"`` or ``"D2"``.
    field_G : float
        Magnetic field [G].
    polarisation_q : numpy.ndarray
        Probe components (ε₊₁, ε₀, ε₋₁) along the field (ε_q = ê_q* · ε̂), normalised.
    ground_population : numpy.ndarray
        Thermal populations of the ground eigenstates (ascending energy), sum 1.
    gamma_MHz : float
        Natural decay rate Γ/2π [MHz].
    constants : str
        Constants set, ``"mohilbert"`` or ``"elecsus"``.
    """
    eps = np.asarray(polarisation_q, dtype=np.complex128)
    if eps.shape != (3,) or not np.isclose(np.vdot(eps, eps).real, 1.0):
        raise ValueError("polarisation_q must be three components (q = +1, 0, -1) of norm 1")
    cp = couplings(isotope, line, float(field_G), constants)
    amp = np.asarray(cp.amplitude)
    pop = np.asarray(ground_population, dtype=np.float64)
    if pop.shape != (amp.shape[2],) or not np.isclose(pop.sum(), 1.0) or (pop < 0).any():
        raise ValueError(
            f"ground_population must be {amp.shape[2]} non-negative values summing to 1"
        )
    coupling = np.tensordot(eps, amp, axes=1)
    coupling[np.abs(coupling) ** 2 <= _MIN_COUPLING] = 0  # not driven: exact zeros (sparsity)
    return PumpingSystem(
        transition_MHz=cp.excited_energy_MHz[:, None] - cp.ground_energy_MHz[None, :],
        coupling=coupling,
        amplitude=amp,
        branching=(amp**2).sum(axis=0),
        ground_population=pop,
        gamma_MHz=float(gamma_MHz),
        ground_energy_MHz=np.asarray(cp.ground_energy_MHz),
        excited_energy_MHz=np.asarray(cp.excited_energy_MHz),
    )


def _check(delta_MHz, rabi_MHz, transit_MHz, dephasing_MHz):
    d = np.asarray(delta_MHz, dtype=np.float64)
    if d.ndim != 1 or not np.isfinite(d).all():
        raise ValueError("delta_MHz must be a finite 1-D array")
    if not (np.isfinite(rabi_MHz) and rabi_MHz >= 0):
        raise ValueError(f"rabi_MHz must be finite and >= 0, got {rabi_MHz}")
    if not transit_MHz > 0:
        raise ValueError(
            f"transit_MHz must be > 0 (without a relaxation the steady state is fully pumped), "
            f"got {transit_MHz}"
        )
    if not dephasing_MHz >= 0:
        raise ValueError(f"dephasing_MHz must be >= 0, got {dephasing_MHz}")
    return d


def coherence_width_MHz(
    system: PumpingSystem, transit_MHz: float, dephasing_MHz: float, transit_broadening: bool
) -> float:
    """Decay rate of the optical coherences γ = Γ/2 + γ_t + γ_d [MHz] (γ_t left out when
    ``transit_broadening`` is false, which makes the weak limit the weak-probe model exactly).

    Parameters
    ----------
    system : PumpingSystem
        The atoms (:func:`pumping_system`).
    transit_MHz : float
        Transit relaxation rate γ_t/2π [MHz].
    dephasing_MHz : float
        Pure dephasing γ_d/2π [MHz] (self- and buffer-gas broadening, half their FWHM).
    transit_broadening : bool
        Whether γ_t also damps the optical coherences.
    """
    return 0.5 * system.gamma_MHz + (transit_MHz if transit_broadening else 0.0) + dephasing_MHz


def _lorentz(delta, nu, gamma):
    """(−1/2)/(δ − ν + iγ) [1/MHz]: the weak-probe line shape of one velocity class."""
    return -0.5 / (delta[:, None] - nu[None, :] + 1j * gamma)


def linear_response(
    delta_MHz: np.ndarray, system: PumpingSystem, coherence_MHz: float
) -> np.ndarray:
    """Weak-probe response Σ |a_eg|² p₀_g (−1/2)/(δ − ν_eg + iγ) [1/MHz] of one velocity class.

    Parameters
    ----------
    delta_MHz : numpy.ndarray
        Probe detuning from ν0 in the atom's frame [MHz], 1-D.
    system : PumpingSystem
        The atoms (:func:`pumping_system`).
    coherence_MHz : float
        Decay rate of the optical coherences γ/2π [MHz] (:func:`coherence_width_MHz`).
    """
    ee, gg = system.driven_pairs()
    w = np.abs(system.coupling[ee, gg]) ** 2 * system.ground_population[gg]
    return _lorentz(np.asarray(delta_MHz, float), system.transition_MHz[ee, gg], coherence_MHz) @ w


def rate_equations(
    delta_MHz: np.ndarray,
    system: PumpingSystem,
    rabi_MHz: float,
    transit_MHz: float,
    dephasing_MHz: float = 0.0,
    *,
    transit_broadening: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Saturation part of the response and the excited population, by rate equations.

    Parameters
    ----------
    delta_MHz
        Probe detuning from ν0 in the atom's frame [MHz], 1-D.
    system
        The atoms (:func:`pumping_system`).
    rabi_MHz
        Ω₀/2π of a unit-strength transition [MHz].
    transit_MHz
        Transit relaxation rate γ_t/2π [MHz] (> 0).
    dephasing_MHz
        Pure dephasing of the optical coherences γ_d/2π [MHz].
    transit_broadening
        Whether γ_t also damps the optical coherences (physics: yes).

    Returns
    -------
    saturation : numpy.ndarray
        r − r_lin [1/MHz], complex, where r = Σ a*_eg ρ_eg / Ω₀ is the response per unit Rabi
        frequency and r_lin its weak limit (:func:`linear_response`).
    excited : numpy.ndarray
        Total excited-state population.
    """
    d = _check(delta_MHz, rabi_MHz, transit_MHz, dephasing_MHz)
    return RatePrepared(d, system, transit_MHz, dephasing_MHz, transit_broadening).solve(rabi_MHz)


def _rate_rows(
    rows, rate1, lor, e_loc, gg, branch, gamma, transit, p0, a2, o2, saturation, excited
):
    """The rate equations' steady state at the rows (detunings) ``rows`` of ``rate1`` and
    ``lor``, into ``saturation`` and ``excited`` (one entry per row of ``rows``): one small
    dense system per detuning built from the driven pairs only, solved by Gaussian
    elimination with partial pivoting.

    Per row i: pump rates r_p = o2 rate1[i, p] of the pairs p = (e_loc[p], gg[p]);
    D_e = Γ + γ_t + Σ_{p∈e} r_p; A_eh = r_(e,h) / D_e (P_e = Σ_h A_eh P_h);
    M_gh = Σ_e (r_(e,g) + Γ b_eg) A_eh − δ_gh (Σ_{p∋g} r_p + γ_t); M P_g = −γ_t p₀;
    saturation[i] = Σ_p lor[i, p] |a_p|² (P_g − P_e − p₀_g), excited[i] = Σ_e P_e.
    The same equations as :meth:`RatePrepared.ground_system` with ``numpy.linalg.solve``
    (tests compare them), without the interpreter's cost per detuning (compiled by
    :func:`mohilbert.caches.compiled`, blocks of rows on numba's threads).
    """
    n_rows, n_pairs = rows.size, rate1.shape[1]
    n_e, n_g = branch.shape
    # blocks of rows on numba's threads (prange), each with its own work arrays
    n_blocks = max(1, min(64, n_rows // 256))
    for blk in prange(n_blocks):
        full = np.zeros((n_e, n_g))
        amp = np.zeros(n_pairs)
        m = np.zeros((n_g, n_g))
        b = np.zeros(n_g)
        d = np.zeros(n_e)
        pe = np.zeros(n_e)
        for row in range(blk * n_rows // n_blocks, (blk + 1) * n_rows // n_blocks):
            i = rows[row]
            m[:, :] = 0.0
            d[:] = gamma + transit
            for p in range(n_pairs):
                r = o2 * rate1[i, p]
                full[e_loc[p], gg[p]] = r
                d[e_loc[p]] += r
                m[gg[p], gg[p]] -= r
            # A is non-zero on the driven pairs only: M_gh += (r_eg + Γ b_eg) A_eh per pair (e, h)
            for p in range(n_pairs):
                e, h = e_loc[p], gg[p]
                amp[p] = full[e, h] / d[e]
                for g in range(n_g):
                    m[g, h] += (full[e, g] + branch[e, g]) * amp[p]
            for g in range(n_g):
                m[g, g] -= transit
                b[g] = -transit * p0[g]
            # Gaussian elimination with partial pivoting, then back substitution
            for k in range(n_g):
                piv = k
                big = abs(m[k, k])
                for j in range(k + 1, n_g):
                    if abs(m[j, k]) > big:
                        big = abs(m[j, k])
                        piv = j
                if piv != k:
                    for h in range(n_g):
                        t = m[k, h]
                        m[k, h] = m[piv, h]
                        m[piv, h] = t
                    t = b[k]
                    b[k] = b[piv]
                    b[piv] = t
                for j in range(k + 1, n_g):
                    f = m[j, k] / m[k, k]
                    if f != 0.0:
                        for h in range(k, n_g):
                            m[j, h] -= f * m[k, h]
                        b[j] -= f * b[k]
            for k in range(n_g - 1, -1, -1):
                acc = b[k]
                for h in range(k + 1, n_g):
                    acc -= m[k, h] * b[h]
                b[k] = acc / m[k, k]
            pe[:] = 0.0
            for p in range(n_pairs):
                pe[e_loc[p]] += amp[p] * b[gg[p]]
            total = 0.0
            for e in range(n_e):
                total += pe[e]
            excited[row] = total
            s = 0j
            for p in range(n_pairs):
                s += lor[i, p] * (a2[p] * (b[gg[p]] - pe[e_loc[p]] - p0[gg[p]]))
                full[e_loc[p], gg[p]] = 0.0  # the next row's pairs start from zero
            saturation[row] = s


def _first_order_rows(
    delta,
    nu,
    gamma_c,
    a2,
    e_loc,
    gg,
    p0,
    branch,
    gamma,
    transit,
    lor,
    rate1,
    total1,
    sat1,
    excited1,
):
    """What :class:`RatePrepared` keeps per detuning δ_i: the driven pairs' line shapes
    ``lor`` = (−1/2)/(δ − ν_p + iγ) and pump rates per unit Ω₀² ``rate1`` = Im(lor) |a_p|²,
    their sum ``total1``, and the steady state to first order in the pump rates (per unit
    Ω₀²): P_e = Σ_p∈e R_p p₀_g / (Γ + γ_t), P_g − p₀_g = [Σ_e Γ b_eg P_e − Σ_p∋g R_p p₀_g] / γ_t,
    ``sat1`` = Σ_p lor_p |a_p|² (P_g − p₀_g − P_e), ``excited1`` = Σ_e P_e. One pass per
    detuning (compiled by :func:`mohilbert.caches.compiled`, blocks of detunings on numba's
    threads) instead of a dozen (detunings × pairs) arrays; tests compare it with the
    matrix form (:meth:`RatePrepared.ground_system`)."""
    n_rows, n_pairs = lor.shape
    n_e, n_g = branch.shape
    n_blocks = max(1, min(64, n_rows // 256))
    for blk in prange(n_blocks):
        pe = np.zeros(n_e)
        dpg = np.zeros(n_g)
        for i in range(blk * n_rows // n_blocks, (blk + 1) * n_rows // n_blocks):
            pe[:] = 0.0
            dpg[:] = 0.0
            total = 0.0
            for p in range(n_pairs):
                z = -0.5 / (delta[i] - nu[p] + 1j * gamma_c)
                lor[i, p] = z
                r = z.imag * a2[p]
                rate1[i, p] = r
                total += r
                pe[e_loc[p]] += r * p0[gg[p]]
                dpg[gg[p]] -= r * p0[gg[p]]
            excited = 0.0
            for e in range(n_e):
                pe[e] /= gamma + transit
                excited += pe[e]
                for g in range(n_g):
                    dpg[g] += pe[e] * branch[e, g]
            s = 0j
            for p in range(n_pairs):
                s += lor[i, p] * ((dpg[gg[p]] / transit - pe[e_loc[p]]) * a2[p])
            total1[i] = total
            sat1[i] = s
            excited1[i] = excited


class RatePrepared:
    """:func:`rate_equations` for one detuning grid, system and transit rate, at any Rabi
    frequency: what does not depend on the intensity (line shapes, the first-order response)
    is computed once (an intense probe's beam nodes and a power series share it).

    Parameters
    ----------
    delta_MHz : numpy.ndarray
        Probe detuning from ν0 in the atom's frame [MHz], 1-D (checked by the caller).
    system : PumpingSystem
        The atoms (:func:`pumping_system`).
    transit_MHz : float
        Transit relaxation rate γ_t/2π [MHz] (> 0).
    dephasing_MHz : float
        Pure dephasing of the optical coherences γ_d/2π [MHz].
    transit_broadening : bool
        Whether γ_t also damps the optical coherences.
    """

    def __init__(self, delta_MHz, system, transit_MHz, dephasing_MHz, transit_broadening=True):
        self.system, self.transit = system, float(transit_MHz)
        ng = system.n_ground
        gamma_c = coherence_width_MHz(system, transit_MHz, dephasing_MHz, transit_broadening)
        self.ee, self.gg = ee, gg = system.driven_pairs()
        self.a2 = np.abs(system.coupling[ee, gg]) ** 2
        self.driven_e, self.e_loc = np.unique(ee, return_inverse=True)
        self.branch = system.gamma_MHz * system.branching[self.driven_e]  # (nE, ng)
        self.to_e = np.zeros((ee.size, self.driven_e.size))
        self.to_e[np.arange(ee.size), self.e_loc] = 1.0
        self.to_g = np.zeros((ee.size, ng))
        self.to_g[np.arange(ee.size), gg] = 1.0
        p0 = np.ascontiguousarray(system.ground_population, dtype=float)
        delta = np.ascontiguousarray(delta_MHz, dtype=float)
        #: (nd, p): the line shapes (−1/2)/(δ − ν + iγ) of the driven pairs [1/MHz] and each
        #: pair's pump rate per unit Ω₀², γ / (2(γ² + Δ²)) |a|² = Im(lor) |a|²
        self.lor = np.empty((delta.size, ee.size), dtype=complex)
        self.rate1 = np.empty((delta.size, ee.size))
        self.total1 = np.empty(delta.size)
        self.sat1 = np.empty(delta.size, dtype=complex)
        self.excited1 = np.empty(delta.size)
        caches.compiled(_first_order_rows, parallel=True)(
            delta,
            np.ascontiguousarray(system.transition_MHz[ee, gg], dtype=float),
            float(gamma_c),
            self.a2,
            self.e_loc,
            gg,
            p0,
            np.ascontiguousarray(self.branch),
            float(system.gamma_MHz),
            self.transit,
            self.lor,
            self.rate1,
            self.total1,
            self.sat1,
            self.excited1,
        )
        # the first order's error bound per unit Ω₀⁴, against FIRST_ORDER_TOLERANCE × the peak
        peak = 0.5 / gamma_c * float(np.max(self.a2 * p0[gg])) if gg.size else 0.0
        self.first_order_error = np.abs(self.sat1) * self.total1 / (self.transit * peak or 1.0)

    def ground_system(
        self, rows: np.ndarray, o2: float, relaxation_MHz: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ground-state rate equations with the excited states eliminated: (M, A) with
        dP_g/dt = M P_g and P_e = A P_g for the driven excited states, per detuning.

        Parameters
        ----------
        rows : numpy.ndarray
            Indices of the detunings (of this grid) to build them at.
        o2 : float
            Ω₀² of a unit-strength transition [MHz²].
        relaxation_MHz : float
            Relaxation rate of every population (γ_t; 0 for atoms on their path through the
            beam, :mod:`mohilbert.atoms.trajectory`). M [MHz] includes −γ_t on its diagonal;
            the source γ_t p₀ is the caller's.
        """
        system = self.system
        ng = system.n_ground
        r = o2 * self.rate1[rows]
        full = np.zeros((r.shape[0], self.driven_e.size, ng))
        full[:, self.e_loc, self.gg] = r  # each (e, g) pair once
        a = full / (system.gamma_MHz + relaxation_MHz + r @ self.to_e)[..., None]
        m = np.matmul((full + self.branch[None]).transpose(0, 2, 1), a)
        diag = np.arange(ng)
        m[:, diag, diag] -= r @ self.to_g + relaxation_MHz
        return m, a

    def solve(
        self, rabi_MHz: float, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(saturation, excited)`` of :func:`rate_equations` at Ω₀/2π = ``rabi_MHz``.

        Parameters
        ----------
        rabi_MHz : float
            Ω₀/2π of a unit-strength transition [MHz].
        rows : numpy.ndarray, optional
            Boolean mask of the detunings to solve; the others hold the first-order
            response only (a caller that has them solved already fills them in).
        """
        system, transit = self.system, self.transit
        o2 = float(rabi_MHz) ** 2
        # weakly pumped detunings: first order in the pump rates, exact to (R/γ_t)²
        pumped = o2 * self.total1 >= WEAK_PUMPING * transit
        pumped &= o2 * o2 * self.first_order_error >= FIRST_ORDER_TOLERANCE
        strong = np.flatnonzero(pumped if rows is None else pumped & rows)
        saturation = o2 * self.sat1
        excited = o2 * self.excited1
        if strong.size == 0:
            return saturation, excited
        # Excited populations follow their ground states: (Γ + γ_t + Σ_g R_eg) P_e = Σ_g R_eg
        # P_g. Eliminating them leaves an n_g × n_g system per detuning (8 × 8 for 87Rb
        # instead of 24 × 24): M P_g = −γ_t p₀ with
        # M_gh = −δ_gh (Σ_e R_eg + γ_t) + Σ_e (R_eg + Γ b_eg) R_eh / D_e (driven e only).
        sat_strong = np.empty(strong.size, dtype=complex)
        excited_strong = np.empty(strong.size)
        caches.compiled(_rate_rows, parallel=True)(
            strong,
            self.rate1,
            self.lor,
            self.e_loc,
            self.gg,
            np.ascontiguousarray(self.branch),
            float(system.gamma_MHz),
            transit,
            np.ascontiguousarray(system.ground_population, dtype=float),
            self.a2,
            o2,
            sat_strong,
            excited_strong,
        )
        saturation[strong] = sat_strong
        excited[strong] = excited_strong
        return saturation, excited


def _liouvillian_parts(
    system: PumpingSystem,
    rabi_MHz,
    transit_MHz,
    dephasing_MHz,
    transit_broadening,
    coherence_transfer,
):
    """Liouvillian at δ = 0 and the diagonal that δ multiplies (row-major vec of ρ)."""
    ng, ne = system.n_ground, system.n_excited
    n = ng + ne
    ident = np.eye(n)
    h = np.zeros((n, n), dtype=np.complex128)
    h[ng:, :ng] = -0.5 * rabi_MHz * system.coupling
    h[:ng, ng:] = h[ng:, :ng].conj().T
    # energies; the rotating frame adds −δ to the excited ones (``delta_diag``)
    h += np.diag(np.r_[system.ground_energy_MHz, system.excited_energy_MHz])
    liou = -1j * (np.kron(h, ident) - np.kron(ident, h.T))
    gam = system.gamma_MHz
    proj_e = np.diag(np.r_[np.zeros(ng), np.ones(ne)])
    anti = np.kron(proj_e, ident) + np.kron(ident, proj_e)
    liou -= 0.5 * gam * anti
    if coherence_transfer:
        for k in range(3):
            op = np.zeros((n, n))
            op[:ng, ng:] = system.amplitude[k].T  # |g><e| c_eg
            liou += gam * np.kron(op, op)  # L ρ L† for real L
    else:
        for e in range(ne):
            for g in range(ng):
                b = system.branching[e, g]
                if b > 0:
                    liou[g * n + g, (ng + e) * n + ng + e] += gam * b
    # transit: −γ_t ρ (the source γ_t ρ₀ goes to the right-hand side)
    liou -= transit_MHz * np.eye(n * n)
    is_e = np.r_[np.zeros(ng, bool), np.ones(ne, bool)]
    optical = (is_e[:, None] ^ is_e[None, :]).ravel()
    extra = dephasing_MHz - (0.0 if transit_broadening else transit_MHz)
    liou[optical, optical] -= extra
    # δ enters as H_ee → H_ee − δ: −i(−δ)([i∈e] − [j∈e])
    delta_diag = 1j * (is_e[:, None].astype(float) - is_e[None, :].astype(float)).ravel()
    return liou, delta_diag


def _support(liou: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Indices reachable from ``start`` through the non-zero pattern of ``liou``."""
    pattern = liou != 0
    seen = np.zeros(liou.shape[0], bool)
    seen[start] = True
    frontier = seen.copy()
    while frontier.any():
        new = pattern[:, frontier].any(axis=1) & ~seen
        seen |= new
        frontier = new
    return np.flatnonzero(seen)


def lindblad(
    delta_MHz: np.ndarray,
    system: PumpingSystem,
    rabi_MHz: float,
    transit_MHz: float,
    dephasing_MHz: float = 0.0,
    *,
    transit_broadening: bool = True,
    coherence_transfer: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Saturation part of the response and the excited population, by the full master equation.

    Same parameters and returns as :func:`rate_equations`; ``coherence_transfer`` keeps the
    transfer of excited-state coherences to ground-state coherences by spontaneous emission
    (HIP-ElecSus leaves it out: populations only).

    Parameters
    ----------
    delta_MHz : numpy.ndarray
        Probe detuning from ν0 in the atom's frame [MHz], 1-D.
    system : PumpingSystem
        The atoms (:func:`pumping_system`).
    rabi_MHz : float
        Ω₀/2π of a unit-strength transition [MHz].
    transit_MHz : float
        Transit relaxation rate γ_t/2π [MHz] (> 0).
    dephasing_MHz : float
        Pure dephasing of the optical coherences γ_d/2π [MHz].
    transit_broadening : bool
        Whether γ_t also damps the optical coherences (physics: yes).
    coherence_transfer : bool
        Keep the transfer of excited-state coherences to ground-state coherences by
        spontaneous emission (physics: yes; HIP-ElecSus: no).
    """
    d = _check(delta_MHz, rabi_MHz, transit_MHz, dephasing_MHz)
    ng, ne = system.n_ground, system.n_excited
    n = ng + ne
    liou, delta_diag = _liouvillian_parts(
        system, rabi_MHz, transit_MHz, dephasing_MHz, transit_broadening, coherence_transfer
    )
    rho0 = np.zeros((n, n))
    rho0[:ng, :ng] = np.diag(system.ground_population)
    diag_idx = np.arange(n) * (n + 1)
    keep = _support(liou + np.diag(delta_diag), diag_idx)
    a = liou[np.ix_(keep, keep)]
    dd = delta_diag[keep]
    b = -transit_MHz * rho0.ravel()[keep]
    ee, gg = system.driven_pairs()
    pos = {k: i for i, k in enumerate(keep)}
    idx_eg = np.array([pos.get((ng + e) * n + g, -1) for e, g in zip(ee, gg, strict=True)])
    idx_pop = np.array([pos[k] for k in diag_idx[ng:]])
    coupling = system.coupling[ee, gg]
    resp = np.zeros(d.size, dtype=np.complex128)
    excited = np.zeros(d.size)
    for lo in range(0, d.size, _LINDBLAD_CHUNK):
        dc = d[lo : lo + _LINDBLAD_CHUNK]
        m = np.broadcast_to(a, (dc.size, *a.shape)).copy()
        m[:, np.arange(keep.size), np.arange(keep.size)] += dc[:, None] * dd[None, :]
        x = np.linalg.solve(m, np.broadcast_to(b, (dc.size, b.size))[..., None])[..., 0]
        rho_eg = np.where(idx_eg >= 0, x[:, np.maximum(idx_eg, 0)], 0)
        resp[lo : lo + dc.size] = rho_eg @ coupling.conj()
        excited[lo : lo + dc.size] = x[:, idx_pop].real.sum(axis=1)
    gamma_c = coherence_width_MHz(system, transit_MHz, dephasing_MHz, transit_broadening)
    if rabi_MHz > 0:
        resp = resp / rabi_MHz - linear_response(d, system, gamma_c)
    else:
        resp = np.zeros_like(resp)
    return resp, excited
