r"""Atomic Hamiltonian in a magnetic field and the line list of a D line.

Fine structure, hyperfine (magnetic dipole A and electric quadrupole B) and Zeeman terms in
the uncoupled basis :math:`|m_L, m_S, m_I\rangle` (Kronecker order L ⊗ S ⊗ I, m descending),
built as **real symmetric** matrices and diagonalised with a real ``eigh`` (theory-spec §2):

.. math::

    H_g &= A_s\,\mathbf{I}\cdot\mathbf{S} + \delta_\mathrm{iso} + \mu_B B (g_S S_z + g_I I_z) \\
    H_e &= \Delta_\mathrm{FS}\,[\mathbf{L}\cdot\mathbf{S} + c_\mathrm{line}]
           + A_p\,\mathbf{I}\cdot\mathbf{J} + B_p\,Q + \mu_B B (g_L L_z + g_S S_z + g_I I_z)

The electric-dipole strength of a transition :math:`g \to e` for light of spherical
component q (Δm = q along the field) is
:math:`|c^{(q)}_{ge}|^2 = |\sum \langle e|m_L{=}q, m_S, m_I\rangle\langle m_S, m_I|g\rangle|^2`,
normalised so that every excited state decays with Γ_nat (Σ over g and q of |c|² = 1).

References: ElecSus (Zentile et al., Comput. Phys. Commun. 189, 162 (2015)); theory-spec §2–3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mohilbert import caches
from mohilbert.atoms.constants import (
    G_L,
    G_S,
    ISOTOPES,
    MU_B_MHZ_PER_G,
    excited_state,
)


def _jz_jp(j: float) -> tuple[np.ndarray, np.ndarray]:
    """J_z and J_+ for spin j in the basis m = j, j-1, ..., -j (real matrices)."""
    m = np.arange(j, -j - 1, -1)
    jz = np.diag(m)
    jp = np.zeros((m.size, m.size))
    for k in range(1, m.size):  # J+|m> = sqrt(j(j+1) - m(m+1)) |m+1>
        jp[k - 1, k] = np.sqrt(j * (j + 1) - m[k] * (m[k] + 1))
    return jz, jp


def _dot(az, ap, bz, bp) -> np.ndarray:
    """A·B = A_z B_z + (A_+ B_- + A_- B_+)/2 for commuting operators (real)."""
    return az @ bz + 0.5 * (ap @ bp.T + ap.T @ bp)


def _kron(*ops) -> np.ndarray:
    """Kronecker product of 2-D operators (numpy's ``kron`` is general and ~10x slower on
    these small matrices, which every first use of an isotope builds)."""
    out = ops[0]
    for op in ops[1:]:
        (a, b), (c, d) = out.shape, op.shape
        out = (out[:, None, :, None] * op[None, :, None, :]).reshape(a * c, b * d)
    return out


@dataclass(frozen=True)
class LineList:
    """Transitions of one isotope on one line at one field.

    Attributes
    ----------
    freq_MHz
        Transition frequency relative to the line's reference ν0 [MHz] (includes −δ_iso).
    strength
        |c|², dimensionless (sum over g and q of the strengths out of one excited state is 1).
    q
        Δm of the transition along the field: +1, -1 or 0.
    ground
        Index of the ground eigenstate (into ``ground_energy_MHz``).
    ground_energy_MHz
        Ground-state energies [MHz] (for Boltzmann populations).
    """

    freq_MHz: np.ndarray
    strength: np.ndarray
    q: np.ndarray
    ground: np.ndarray
    ground_energy_MHz: np.ndarray

    @property
    def n_ground(self) -> int:
        return self.ground_energy_MHz.size


@dataclass(frozen=True)
class _Structure:
    """The field-independent part of one isotope's line: H = H0 + b·Z [MHz], b = μ_B·B, and
    the blocks of conserved m used to diagonalise it."""

    h0_g: np.ndarray
    z_g: np.ndarray
    h0_e: np.ndarray
    z_e: np.ndarray
    m_g: np.ndarray
    m_e: np.ndarray
    blocks_g: tuple
    blocks_e: tuple


def _m_blocks(m: np.ndarray) -> tuple:
    """Index blocks of equal m, ascending in m, grouped by size: ((size, idx (k, size),
    first columns (k,)), ...) so that each size is one batched eigh."""
    col, per_size = 0, {}
    twice = np.rint(2 * m).astype(np.int64)  # m is a whole or half number
    for mval in np.unique(twice):
        idx = np.flatnonzero(twice == mval)
        per_size.setdefault(idx.size, ([], []))
        per_size[idx.size][0].append(idx)
        per_size[idx.size][1].append(col)
        col += idx.size
    return tuple((n, np.array(ix), np.array(cols)) for n, (ix, cols) in sorted(per_size.items()))


@lru_cache(maxsize=64)
def _structure(isotope: str, line: str, constants: str = "mohilbert") -> _Structure:
    iso = ISOTOPES[isotope]
    exc = excited_state(isotope, line, constants)
    i_spin = iso.nuclear_spin
    sz, sp = _jz_jp(0.5)
    iz, ip = _jz_jp(i_spin)
    lz, lp = _jz_jp(1.0)
    n_i = iz.shape[0]
    e_s, e_i, e_l = np.eye(2), np.eye(n_i), np.eye(3)

    # ground: S ⊗ I
    gsz, gsp = _kron(sz, e_i), _kron(sp, e_i)
    giz, gip = _kron(e_s, iz), _kron(e_s, ip)
    h_g = iso.A_ground_MHz * _dot(giz, gip, gsz, gsp)
    h_g += exc.isotope_shift_MHz * np.eye(2 * n_i)
    z_g = G_S * gsz + iso.g_I * giz

    # excited: L ⊗ S ⊗ I
    elz, elp = _kron(lz, e_s, e_i), _kron(lp, e_s, e_i)
    esz, esp = _kron(e_l, sz, e_i), _kron(e_l, sp, e_i)
    eiz, eip = _kron(e_l, e_s, iz), _kron(e_l, e_s, ip)
    jz, jp = elz + esz, elp + esp
    ident = np.eye(6 * n_i)
    c_line = 1.0 if line == "D1" else -0.5
    h_e = iso.fine_structure_MHz * (_dot(elz, elp, esz, esp) + c_line * ident)
    ij = _dot(eiz, eip, jz, jp)
    h_e += exc.A_MHz * ij
    if exc.B_MHz != 0 and i_spin >= 1:
        q_op = (3 * ij @ ij + 1.5 * ij - 15 / 4 * i_spin * (i_spin + 1) * ident) / (
            6 * i_spin * (2 * i_spin - 1)
        )
        h_e += exc.B_MHz * q_op
    z_e = G_L * elz + G_S * esz + iso.g_I * eiz
    m_i = np.arange(i_spin, -i_spin - 1, -1)
    m_g = (np.array([0.5, -0.5])[:, None] + m_i[None, :]).ravel()
    m_e = (np.array([1.0, 0.0, -1.0])[:, None] + m_g[None, :]).ravel()
    for arr in (h_g, z_g, h_e, z_e, m_g, m_e):
        arr.setflags(write=False)
    return _Structure(h_g, z_g, h_e, z_e, m_g, m_e, _m_blocks(m_g), _m_blocks(m_e))


def hamiltonians(isotope: str, line: str, field_G: float, constants: str = "mohilbert"):
    """Ground and excited Hamiltonians [MHz] (real symmetric) of ``isotope`` on ``line``.

    The field-free part and the Zeeman operators are computed once per isotope and line
    (cached); a new field costs one scaled sum.

    Parameters
    ----------
    isotope : str
        Isotope name, e.g. ``"87Rb"``.
    line : str
        ``"D1"`` or ``"D2"``.
    field_G : float
        Magnetic field [G].
    constants : str
        Constants set, ``"mohilbert"`` or ``"elecsus"``.
    """
    st = _structure(isotope, line, constants)
    b = MU_B_MHZ_PER_G * field_G
    return st.h0_g + b * st.z_g, st.h0_e + b * st.z_e


def _eigh_by_m(h: np.ndarray, m: np.ndarray, blocks: tuple | None = None):
    """Diagonalise ``h`` block by block of the conserved total m (field along z).

    The field is the quantisation axis, so H commutes with F_z: every eigenvector has a
    definite m, even where levels are degenerate (B = 0, or g_F = 0 as for Cs 6P3/2 F' = 3),
    and the line list does not depend on how LAPACK picks vectors in a degenerate subspace.
    Blocks of one size are diagonalised in one batched call. Returns eigenvalues ascending
    and the matching eigenvectors (columns).
    """
    if blocks is None:
        blocks = _m_blocks(m)
    values = np.empty(h.shape[0])
    vectors = np.zeros_like(h)
    for size, idx, cols in blocks:
        w, v = np.linalg.eigh(h[idx[:, :, None], idx[:, None, :]])  # (k, size[, size])
        target = cols[:, None] + np.arange(size)[None, :]  # (k, size) columns
        values[target] = w
        vectors[idx[:, :, None], target[:, None, :]] = v
    order = np.argsort(values, kind="stable")
    return values[order], vectors[:, order]


@dataclass(frozen=True)
class Couplings:
    """Eigenstates of one isotope's line at one field and the dipole couplings between them.

    Attributes
    ----------
    ground_energy_MHz, excited_energy_MHz
        Eigen-energies [MHz]; a transition g → e lies at ``excited - ground`` from ν0.
    amplitude
        Signed dipole amplitudes c^(q)_eg, shape (3, n_e, n_g), rows q = +1, 0, −1 (Δm along
        the field), normalised so that Σ_{g,q} |c|² = 1 for every excited state.
    """

    ground_energy_MHz: np.ndarray
    excited_energy_MHz: np.ndarray
    amplitude: np.ndarray

    @property
    def q(self) -> tuple[int, int, int]:
        return (1, 0, -1)


@lru_cache(maxsize=64)
def couplings(isotope: str, line: str, field_G: float, constants: str = "mohilbert") -> Couplings:
    """Eigen-energies and signed dipole amplitudes of ``isotope`` on ``line`` at ``field_G``
    gauss (cached); the optical-pumping model needs the amplitudes, the weak-probe line
    list their squares.

    Parameters
    ----------
    isotope : str
        Isotope name, e.g. ``"87Rb"``.
    line : str
        ``"D1"`` or ``"D2"``.
    field_G : float
        Magnetic field [G].
    constants : str
        Constants set, ``"mohilbert"`` or ``"elecsus"``.
    """
    iso = ISOTOPES[isotope]
    st = _structure(isotope, line, constants)
    h_g, h_e = hamiltonians(isotope, line, field_G, constants)
    n_i = int(round(2 * iso.nuclear_spin + 1))
    e_g, v_g = _eigh_by_m(h_g, st.m_g, st.blocks_g)
    e_e, v_e = _eigh_by_m(h_e, st.m_e, st.blocks_e)
    d_g = h_g.shape[0]
    sel = slice(0, d_g) if line == "D1" else slice(e_e.size - 2 * d_g, e_e.size)
    e_e, v_e = e_e[sel], v_e[:, sel]
    block = 2 * n_i  # one m_L block of the excited basis (S ⊗ I): m_L = +1, 0, −1
    amp = np.stack([v_e[k * block : (k + 1) * block, :].T @ v_g for k in range(3)])
    for arr in (e_g, e_e, amp):
        arr.setflags(write=False)
    return Couplings(e_g, e_e, amp)


@lru_cache(maxsize=256)
def line_list(
    isotope: str,
    line: str,
    field_G: float,
    constants: str = "mohilbert",
    cutoff: float = 0.0,
    truncate_MHz: bool = False,
) -> LineList:
    """Transitions of ``isotope`` on ``line`` at ``field_G`` gauss (cached).

    Parameters
    ----------
    isotope : str
        Isotope name, e.g. ``"87Rb"``.
    line : str
        ``"D1"`` or ``"D2"``.
    field_G : float
        Magnetic field [G].
    constants : str
        Constants set, ``"mohilbert"`` or ``"elecsus"``.
    cutoff : float
        Drop lines with |c|² ≤ cutoff (ElecSus: 5e-4; the exact model keeps all, > 1e-12).
    truncate_MHz : bool
        Truncate line frequencies toward zero to whole MHz, as ElecSus does (compatibility).
    """
    cp = couplings(isotope, line, field_G, constants)
    e_g, e_e = cp.ground_energy_MHz, cp.excited_energy_MHz
    freqs, strengths, qs, grounds = [], [], [], []
    for q in (1, 0, -1):
        c2 = cp.amplitude[cp.q.index(q)] ** 2  # (n_e, n_g)
        ee, gg = np.nonzero(c2 > max(cutoff, 1e-12))
        freqs.append(e_e[ee] - e_g[gg])
        strengths.append(c2[ee, gg])
        qs.append(np.full(ee.size, q, dtype=np.int8))
        grounds.append(gg)
    freq = np.concatenate(freqs)
    if truncate_MHz:
        freq = np.trunc(freq)
    out = LineList(
        freq_MHz=freq,
        strength=np.concatenate(strengths),
        q=np.concatenate(qs),
        ground=np.concatenate(grounds),
        ground_energy_MHz=e_g,
    )
    for arr in (out.freq_MHz, out.strength, out.q, out.ground, out.ground_energy_MHz):
        arr.setflags(write=False)
    return out


def populations(lines: LineList, temperature_K: float | None) -> np.ndarray:
    """Ground-state populations: Boltzmann at ``temperature_K``, or equal if ``None``."""
    if temperature_K is None:
        return np.full(lines.n_ground, 1.0 / lines.n_ground)
    from mohilbert.atoms.constants import H_PLANCK, K_B

    e = (lines.ground_energy_MHz - lines.ground_energy_MHz.min()) * 1e6 * H_PLANCK
    p = np.exp(-e / (K_B * temperature_K))
    return p / p.sum()


# the process-wide caches above, for mohilbert.caches.clear (benchmarks' cold figures)
caches.register("mohilbert.atoms.hamiltonian._structure", _structure)
caches.register("mohilbert.atoms.hamiltonian.couplings", couplings)
caches.register("mohilbert.atoms.hamiltonian.line_list", line_list)
