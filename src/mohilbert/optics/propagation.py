r"""Light propagation through a magnetised vapour for any field direction (theory-spec §6).

Lab frame: light travels along +z. The field direction is :math:`\hat b`. The relative
permittivity in the textbook convention (fields :math:`\propto e^{i(kz-\omega t)}`) is

.. math::

    \varepsilon = \varepsilon_\perp(\mathbb 1 - \hat b\hat b^T) + \varepsilon_\parallel
    \hat b\hat b^T + i\varepsilon_g[\hat b]_\times,\quad
    \varepsilon_\perp = 1 + \tfrac{\chi_{+1}+\chi_{-1}}2,\;
    \varepsilon_\parallel = 1+\chi_0,\;
    \varepsilon_g = \tfrac{\chi_{-1}-\chi_{+1}}2,

so that :math:`(\hat x' + i\hat y')/\sqrt2` about :math:`\hat b` (right-handed
:math:`x', y', \hat b`) sees :math:`1+\chi_{+1}` (Δm = +1). Eliminating :math:`E_z` gives the
2×2 transverse tensor :math:`\varepsilon_\mathrm{eff} = \varepsilon_{\perp\perp} -
\varepsilon_{\perp z}\varepsilon_{z\perp}/\varepsilon_{zz}` whose eigenvalues are the squared
mode indices. The cell's Jones matrix is the exact matrix function

.. math:: T = f(\varepsilon_\mathrm{eff}),\qquad f(N) = \exp[i k L(\sqrt N - 1)]

(phase relative to vacuum), evaluated in closed form (Sylvester) with a divided difference
that stays accurate when the two modes are degenerate. It is correct for the non-orthogonal
modes of an absorbing medium at oblique fields; ElecSus's :math:`(V^\dagger)^{-1} P V^\dagger`
is available as ``propagation="elecsus"`` for comparison only.
"""

from __future__ import annotations

import numpy as np


def field_direction(theta_rad: float, phi_rad: float) -> np.ndarray:
    """Unit vector (sinθ cosφ, sinθ sinφ, cosθ): θ from +k (+z), φ from +x about k."""
    return np.array(
        [
            np.sin(theta_rad) * np.cos(phi_rad),
            np.sin(theta_rad) * np.sin(phi_rad),
            np.cos(theta_rad),
        ]
    )


def dielectric_tensor(chi: np.ndarray, b_hat: np.ndarray) -> np.ndarray:
    """ε with shape (N, 3, 3) from χ rows (Δm = +1, −1, 0) and the field direction."""
    chi_p, chi_m, chi_0 = chi
    eps_perp = 1 + 0.5 * (chi_p + chi_m)
    eps_par = 1 + chi_0
    eps_g = 0.5 * (chi_m - chi_p)
    b = np.asarray(b_hat, dtype=float)
    bb = np.outer(b, b)
    cross = np.array([[0, b[2], -b[1]], [-b[2], 0, b[0]], [b[1], -b[0], 0]])  # ε_ijk b_k
    return (
        eps_perp[:, None, None] * (np.eye(3) - bb)
        + eps_par[:, None, None] * bb
        + 1j * eps_g[:, None, None] * cross
    )


def effective_tensor(chi: np.ndarray, b_hat: np.ndarray) -> tuple[np.ndarray, ...]:
    """Transverse 2×2 tensor ε_⊥⊥ − ε_⊥z ε_z⊥ / ε_zz as its four entries (m00, m01, m10, m11).

    Written out from ε = ε_⊥(1 − b̂b̂ᵀ) + ε_∥ b̂b̂ᵀ + iε_g[b̂]_× without building 3×3 arrays.
    """
    chi_p, chi_m, chi_0 = chi
    ep = 1 + 0.5 * (chi_p + chi_m)
    d = chi_0 - 0.5 * (chi_p + chi_m)  # ε_∥ − ε_⊥
    g = 0.5j * (chi_m - chi_p)  # i ε_g
    bx, by, bz = (float(v) for v in b_hat)
    xx, yy, zz = ep + d * bx * bx, ep + d * by * by, ep + d * bz * bz
    xy, yx = d * bx * by + g * bz, d * bx * by - g * bz
    xz, zx = d * bx * bz - g * by, d * bx * bz + g * by
    yz, zy = d * by * bz + g * bx, d * by * bz - g * bx
    if bx == 0 and by == 0:  # Faraday: no coupling to E_z
        return xx, xy, yx, yy
    return xx - xz * zx / zz, xy - xz * zy / zz, yx - yz * zx / zz, yy - yz * zy / zz


def csqrt(z: np.ndarray) -> np.ndarray:
    """Principal square root of complex ``z`` with Re z > 0, from real operations.

    Re √z = √((|z| + Re z)/2), Im √z = Im z / (2 Re √z): no cancellation for z ≈ 1 (a dilute
    vapour), and several times faster than numpy's complex sqrt (in place: a long spectrum's
    temporaries cost more than its arithmetic).
    """
    z = np.asarray(z, dtype=np.complex128)
    re = z.real * z.real  # |z| without hypot's overflow guard (3x dearer; |z| is ~1 here)
    re += z.imag * z.imag
    np.sqrt(re, out=re)
    re += z.real
    re *= 0.5
    np.sqrt(re, out=re)
    if not (re > 0).all():
        return np.sqrt(z)
    out = np.empty(z.shape, dtype=np.complex128)
    out.real = re
    np.divide(z.imag, re, out=out.imag)
    out.imag *= 0.5
    return out


def cexp_i(phase: np.ndarray) -> np.ndarray:
    """exp(i·phase) for complex ``phase``, from real exp/cos/sin (written in place)."""
    phase = np.asarray(phase, dtype=np.complex128)
    out = np.empty(phase.shape, dtype=np.complex128)
    amp = np.exp(-phase.imag)
    np.cos(phase.real, out=out.real)
    out.real *= amp
    np.sin(phase.real, out=out.imag)
    out.imag *= amp
    return out


def eigen_indices(m: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues N₁, N₂ of the 2×2 tensor → complex indices n = √N (principal branch)."""
    m00, m01, m10, m11 = m
    half_tr = 0.5 * (m00 + m11)
    disc = np.sqrt(0.25 * (m00 - m11) ** 2 + m01 * m10)
    return csqrt(half_tr + disc), csqrt(half_tr - disc)


def _sinc(x: np.ndarray) -> np.ndarray:
    """sin(x)/x for complex x, exact at 0."""
    small = np.abs(x) < 1e-4
    safe = np.where(small, 1.0, x)
    return np.where(small, 1 - x**2 / 6, np.sin(safe) / safe)


def transfer_matrix(m: tuple[np.ndarray, ...], kL: float) -> tuple[np.ndarray, ...]:
    """Exact Jones matrix exp[ikL(√ε_eff − 1)] of a homogeneous slab (four entries).

    With n_i = √N_i, T = a·1 + b·ε_eff where b = (f₁ − f₂)/(N₁ − N₂) is computed as
    e^{iφ̄}·ikL/(n₁+n₂)·sinc(kL(n₁−n₂)/2) (no cancellation at degeneracy).
    """
    n1, n2 = eigen_indices(m)
    phi1 = kL * (n1 - 1)
    phi2 = kL * (n2 - 1)
    b = cexp_i(0.5 * (phi1 + phi2)) * (1j * kL) / (n1 + n2) * _sinc(0.5 * (phi1 - phi2))
    a = 0.5 * (cexp_i(phi1) + cexp_i(phi2)) - 0.5 * b * (m[0] + m[3])
    return a + b * m[0], b * m[1], b * m[2], a + b * m[3]


def propagate(
    chi: np.ndarray, b_hat: np.ndarray, kL: float, propagation: str = "exact"
) -> tuple[list[str], np.ndarray, tuple[np.ndarray, ...]]:
    """Eigenmodes and Jones matrix of a homogeneous slab.

    Returns ``(mode names, complex indices (2, N), T (four entries))``. Faraday (b̂ ∥ ±k) and
    Voigt (b̂ ⊥ k) geometries use their closed forms (frequency-independent circular or
    linear modes, named ``sigma_plus/sigma_minus`` and ``parallel/perpendicular``); any
    other direction uses the exact matrix function of ε_eff (modes ``mode_1/mode_2``).

    Parameters
    ----------
    chi : numpy.ndarray
        Susceptibility components (Δm = +1, −1, 0) per detuning, shape (3, n).
    b_hat : numpy.ndarray
        Unit vector of the field in the lab frame (beam along +z).
    kL : float
        Vacuum wavenumber × cell length [rad].
    propagation : str
        ``"exact"`` (the exact transfer matrix at oblique fields) or ``"elecsus"`` (ElecSus's
        approximation, for comparison only).
    """
    chi_p, chi_m, chi_0 = chi
    bx, by, bz = (float(v) for v in b_hat)
    if abs(bx) < 1e-12 and abs(by) < 1e-12:
        # (x + iy)/√2 sees χ_{+1} for b̂ = +z and χ_{−1} for b̂ = −z
        n_sp, n_sm = (
            (csqrt(1 + chi_p), csqrt(1 + chi_m)) if bz > 0 else (csqrt(1 + chi_m), csqrt(1 + chi_p))
        )
        f_p, f_m = cexp_i(kL * (n_sp - 1)), cexp_i(kL * (n_sm - 1))
        diag, off = 0.5 * (f_p + f_m), 0.5j * (f_p - f_m)
        return ["sigma_plus", "sigma_minus"], np.stack([n_sp, n_sm]), (diag, -off, off, diag)
    if abs(bz) < 1e-12:
        eps_perp = 1 + 0.5 * (chi_p + chi_m)
        eps_g = 0.5 * (chi_m - chi_p)
        n_par = csqrt(1 + chi_0)
        n_perp = csqrt(eps_perp - eps_g**2 / eps_perp)
        f_a, f_b = cexp_i(kL * (n_par - 1)), cexp_i(kL * (n_perp - 1))
        phi = np.arctan2(by, bx)
        c, s = np.cos(phi), np.sin(phi)
        t = (
            f_a * c * c + f_b * s * s,
            (f_a - f_b) * c * s,
            (f_a - f_b) * c * s,
            f_a * s * s + f_b * c * c,
        )
        return ["parallel", "perpendicular"], np.stack([n_par, n_perp]), t
    m = effective_tensor(chi, b_hat)
    t = elecsus_transfer_matrix(m, kL) if propagation == "elecsus" else transfer_matrix(m, kL)
    return ["mode_1", "mode_2"], np.stack(eigen_indices(m)), t


def elecsus_transfer_matrix(m: tuple[np.ndarray, ...], kL: float) -> tuple[np.ndarray, ...]:
    """ElecSus's (V†)⁻¹ diag(e^{ikL(n_i−1)}) V†: exact only for orthogonal modes (θ = 0, π/2).

    Provided for comparison with ElecSus at oblique fields; do not use for physics.
    """
    m00, m01, m10, m11 = m
    n1, n2 = eigen_indices(m)
    mat = np.stack([np.stack([m00, m01], -1), np.stack([m10, m11], -1)], -2)
    vecs = []
    for nsq in (n1**2, n2**2):
        v1 = np.stack([m01, nsq - m00], axis=-1)
        v2 = np.stack([nsq - m11, m10], axis=-1)
        use2 = np.linalg.norm(v2, axis=-1) > np.linalg.norm(v1, axis=-1)
        v = np.where(use2[:, None], v2, v1)
        vecs.append(v / np.linalg.norm(v, axis=-1, keepdims=True))
    vmat = np.stack(vecs, axis=-1)  # columns are eigenvectors
    vdag = np.conj(np.swapaxes(vmat, -1, -2))
    phase = np.zeros(mat.shape, dtype=complex)
    phase[:, 0, 0] = np.exp(1j * kL * (n1 - 1))
    phase[:, 1, 1] = np.exp(1j * kL * (n2 - 1))
    t = np.linalg.inv(vdag) @ phase @ vdag
    return t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]


def apply(t: tuple[np.ndarray, ...], e: np.ndarray) -> np.ndarray:
    """Apply Jones matrices (four entries, each of length N) to fields of shape (N, 2), or to
    one input field of shape (2,) (then a zero component costs nothing)."""
    e = np.asarray(e)
    n = np.broadcast_shapes(*(np.shape(v) for v in t))[0]
    out = np.empty((n, 2), dtype=np.complex128)
    for row, (a, b) in enumerate(((t[0], t[1]), (t[2], t[3]))):
        if e.ndim == 1:
            (ea, eb), dst = e, out[:, row]
            if eb == 0:
                np.multiply(a, ea, out=dst)
            elif ea == 0:
                np.multiply(b, eb, out=dst)
            else:
                np.multiply(a, ea, out=dst)
                dst += b * eb
        else:
            np.multiply(a, e[:, 0], out=out[:, row])
            out[:, row] += b * e[:, 1]
    return out


def stokes(e_out: np.ndarray, intensity_in: float) -> dict[str, np.ndarray]:
    """Intensities and Stokes parameters of output fields (N, 2), normalised to the input.

    S3 = I_R − I_L = −2 Im(E_x* E_y)/I_in with I_L = |E_x − iE_y|²/2 (ElecSus/spec §6.5):
    the Jones vector (1, i)/√2 has S3 = −1.
    """
    ex, ey = e_out[:, 0], e_out[:, 1]
    scale = 1.0 / intensity_in
    ix = ex.real * ex.real
    ix += ex.imag * ex.imag
    ix *= scale
    iy = ey.real * ey.real
    iy += ey.imag * ey.imag
    iy *= scale
    # conj(ex)·ey = (ex.re ey.re + ex.im ey.im) + i (ex.re ey.im − ex.im ey.re)
    s2 = ex.real * ey.real
    s2 += ex.imag * ey.imag
    s2 *= 2 * scale
    s3 = ex.imag * ey.real
    s3 -= ex.real * ey.imag
    s3 *= 2 * scale
    s0 = ix + iy
    s1 = ix - iy
    return {
        "S0": s0,
        "S1": s1,
        "S2": s2,
        "S3": s3,
        "Ix": ix,
        "Iy": iy,
        "I_P45": 0.5 * (s0 + s2),
        "I_M45": 0.5 * (s0 - s2),
        "I_L": 0.5 * (s0 - s3),
        "I_R": 0.5 * (s0 + s3),
    }
