r"""Electric susceptibility of an alkali vapour per polarisation component (theory-spec §4).

.. math::

    \chi_q(\nu) = \frac{3\lambda^3 N \Gamma_\mathrm{nat}}{4\pi^2}
        \sum_\mathrm{iso} f_\mathrm{iso} \sum_{l \in q} p_g |c_l|^2\,
        V\!\left(2\pi\cdot10^6(\nu - \nu_\mathrm{shift} - \nu_l);\, k u_\mathrm{iso}, \Gamma\right)

for q = +1 (Δm = +1), −1 and 0 along the field, with N the total number density, Γ the
Lorentzian FWHM (natural + self-broadening + buffer gas) and u the Doppler speed of each
isotope. On resonance, one closed line with |c|² = 1 and no Doppler broadening gives the
resonant cross-section: α = k Im χ = 3λ²N/2π.

Time convention e^{i(kz − ωt)}: Im χ > 0 is absorption.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from mohilbert import caches
from mohilbert.atoms.constants import (
    ELEMENT_ISOTOPES,
    ISOTOPES,
    K_B,
    get_line,
    isotope_fractions,
)
from mohilbert.atoms.density import number_density
from mohilbert.atoms.hamiltonian import line_list, populations
from mohilbert.atoms.lineshape import (
    _lagrange4,
    complex_voigt,
    elecsus_voigt,
    lagrange_deposit,
    lagrange_interp,
)

Q_ORDER = (1, -1, 0)  # rows of the returned array: Δm = +1, Δm = −1, Δm = 0

#: FFT grid step as a fraction of the Doppler FWHM (error ~ step⁴: < 1e-6 of max |χ|)
_STEP_FRACTION = 1 / 40
#: ElecSus mode promises parity to 1e-5 with ElecSus: a finer grid keeps the FFT's own error
#: (~step⁴) at < 1e-6 in S0–S3 even at optical depth ~10
_STEP_FRACTION_ELECSUS = 1 / 64
_MAX_GRID = 1 << 19
#: "auto" sums lines directly up to this many (point, line) terms (cheaper than the FFT grid)
_DIRECT_MAX_TERMS = 20_000


@dataclass(frozen=True)
class MediumParams:
    """What the susceptibility depends on (SI-explicit names)."""

    element: str = "Rb"
    line: str = "D2"
    temperature_C: float = 20.0
    field_G: float = 0.0
    isotope_percent: object = None
    gamma_buffer_MHz: float = 0.0
    shift_MHz: float = 0.0
    doppler_temperature_C: float | None = None
    boltzmann: bool = True
    elecsus_compat: bool = False
    constants: str = "mohilbert"
    number_density_m3: float | None = None
    #: resonant self-broadening (Lewis 1980) on; HIP-ElecSus leaves it out
    self_broadening: bool = True


def _weights(p: MediumParams):
    """Per isotope: (line frequencies [MHz], weights f·p|c|², q, ku [rad/s])."""
    ln = get_line(p.element, p.line)
    fractions = isotope_fractions(p.element, p.isotope_percent)
    field = p.field_G
    if p.elecsus_compat and field == 0:
        field = 1e-4
    t_pop = None
    if p.boltzmann:
        t_pop = p.temperature_C + (273.16 if p.elecsus_compat else 273.15)
    t_dopp = p.temperature_C if p.doppler_temperature_C is None else p.doppler_temperature_C
    k = 2 * np.pi / ln.wavelength_m
    out = []
    for iso_name in ELEMENT_ISOTOPES[p.element]:
        f = fractions.get(iso_name, 0.0)
        if f <= 0:
            continue
        ll = line_list(
            iso_name,
            p.line,
            float(field),
            p.constants,
            5e-4 if p.elecsus_compat else 0.0,
            p.elecsus_compat,
        )
        pop = populations(ll, t_pop)
        w = f * pop[ll.ground] * ll.strength
        t_k = t_dopp + 273.15
        if t_k <= 0:
            raise ValueError(f"Doppler temperature {t_dopp} °C is at or below absolute zero")
        u = np.sqrt(2 * K_B * t_k / ISOTOPES[iso_name].mass_kg)
        out.append((ll.freq_MHz, w, ll.q, k * u))
    return out


def lorentz_width(p: MediumParams, density: float) -> float:
    """Lorentzian FWHM Γ [rad/s]: natural + self-broadening + buffer gas."""
    ln = get_line(p.element, p.line)
    g_nat = 2 * np.pi * 1e6 * ln.gamma_natural_MHz
    g_self = (
        2 * np.pi * g_nat * density * (ln.wavelength_m / (2 * np.pi)) ** 3 * ln.self_broadening_beta
        if p.self_broadening
        else 0.0
    )
    return g_nat + g_self + 2 * np.pi * 1e6 * p.gamma_buffer_MHz


def prefactor(element: str, line: str, density_m3: float) -> float:
    """3λ³NΓ_nat/(4π²) [rad/s], the factor in front of the line sum Σ p|c|² V [s].

    Parameters
    ----------
    element : str
        Alkali element, e.g. ``"Rb"``.
    line : str
        ``"D1"`` or ``"D2"``.
    density_m3 : float
        Atomic number density [1/m³].
    """
    ln = get_line(element, line)
    return (
        3
        * ln.wavelength_m**3
        * density_m3
        * 2
        * np.pi
        * 1e6
        * ln.gamma_natural_MHz
        / (4 * np.pi**2)
    )


def default_fft_step(params: MediumParams) -> float:
    """FFT grid step [MHz]: 1/40 of the narrowest isotope's Voigt FWHM (error < 3e-6; 1/64
    in ElecSus mode, error < 1e-6 in S0–S3 against the direct sum)."""
    groups = _weights(params)
    density = params.number_density_m3
    if density is None:
        density = number_density(params.element, params.temperature_C)
    gamma = lorentz_width(params, density)
    ku_min = min(g[3] for g in groups)
    fwhm_MHz = (2 * np.sqrt(np.log(2)) * ku_min + gamma) / (2 * np.pi * 1e6)
    fraction = _STEP_FRACTION_ELECSUS if params.elecsus_compat else _STEP_FRACTION
    return max(fwhm_MHz * fraction, 0.01)


def susceptibility(
    detuning_MHz: np.ndarray,
    params: MediumParams,
    method: str = "auto",
    step_MHz: float | None = None,
) -> np.ndarray:
    """χ for Δm = +1, −1, 0 (rows in that order) at ``detuning_MHz`` [MHz from ν0].

    Parameters
    ----------
    detuning_MHz
        Laser detuning from the line reference ν0 (table 1c of the spec) [MHz], any order.
    params
        The medium (:class:`MediumParams`).
    method
        ``"direct"`` (exact sum over lines), ``"fft"`` (stick spectrum ⊛ line shape on a
        uniform grid, 4th-order deposition) or ``"auto"`` (FFT when Doppler-broadened, also
        in ElecSus mode, whose k(Δ) Doppler width is a convolution kernel too; direct for
        few points, where it is exact and cheaper).
    step_MHz
        FFT grid step [MHz]; default :func:`default_fft_step`. Fits freeze it so that the
        model is a smooth function of the parameters.

    Returns
    -------
    numpy.ndarray
        Complex array of shape (3, len(detuning_MHz)).
    """
    x = np.asarray(detuning_MHz, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("detuning_MHz must be a non-empty 1-D array")
    if not np.isfinite(x).all():
        raise ValueError("detuning_MHz contains NaN or inf")
    ln = get_line(params.element, params.line)
    density = params.number_density_m3
    if density is None:
        density = number_density(params.element, params.temperature_C)
    gamma = lorentz_width(params, density)
    groups = _weights(params)
    if method == "auto":
        # direct when it is cheap (few points: exact and faster) or there is no Doppler width
        n_lines = sum(g[0].size for g in groups)
        cheap = x.size * n_lines <= _DIRECT_MAX_TERMS
        method = "direct" if (cheap or min(g[3] for g in groups) < 1e6) else "fft"
    if method == "direct":
        chi = _direct(x, groups, gamma, params, ln.wavelength_m)
    elif method == "fft":
        if step_MHz is None:
            step_MHz = default_fft_step(params)
        k0 = 2 * np.pi / ln.wavelength_m if params.elecsus_compat else None
        chi = _fft(x, groups, params.shift_MHz, gamma, step_MHz, k0)
    else:
        raise ValueError(f"unknown method {method!r}; use 'auto', 'direct' or 'fft'")
    chi *= prefactor(params.element, params.line, density)
    return chi


def _direct(x, groups, gamma, params: MediumParams, wavelength):
    chi = np.zeros((3, x.size), dtype=np.complex128)
    k0 = 2 * np.pi / wavelength
    for freq, w, q, ku in groups:
        for row, qq in enumerate(Q_ORDER):
            sel = q == qq
            if not sel.any():
                continue
            d_MHz = x[:, None] - params.shift_MHz - freq[sel][None, :]
            delta = 2 * np.pi * 1e6 * d_MHz
            if params.elecsus_compat:
                # ElecSus lets k depend on the detuning inside the Doppler width (k + Δ/c)
                v = elecsus_voigt(delta, ku, gamma, k0)
            else:
                v = complex_voigt(delta, ku, gamma)
            chi[row] += v @ w[sel]
    return chi


def _fft_grid(x: np.ndarray, lo_line: float, hi_line: float, step: float):
    """Uniform grid (start, step, n) covering ``x`` and the lines.

    When ``x`` is uniform the grid step is a whole multiple of its spacing (or equal to it)
    and the grid passes through ``x[0]``, so that a step equal to the spacing needs no
    interpolation at all.
    """
    dx = np.diff(x)
    h = step
    anchor = x[0]
    every = None  # x[i] sits at grid index p0 + i/every when x is uniform and step = every*dx
    if x.size > 2 and dx[0] > 0 and np.ptp(dx) <= 1e-9 * dx[0]:
        if dx[0] <= step:
            every = max(1, int(step // dx[0]))
            h = dx[0] * every
        else:
            h = dx[0] / int(np.ceil(dx[0] / step))
    lo = min(x[0], lo_line) - 3 * h
    hi = max(x[-1], hi_line) + 3 * h
    below = int(np.ceil((anchor - lo) / h))
    start = anchor - below * h
    n = int(np.ceil((hi - start) / h)) + 1
    return start, h, n, (below, every) if every else None


def _decimate(spec: np.ndarray, p0: int, every: int, count: int) -> np.ndarray:
    """Values at grid positions p0 + i/every (i < count) by 4-point Lagrange.

    The outputs between grid points p0 + j and p0 + j + 1 are one row of a (4 × every)
    weight matrix applied to the four nodes around them: a matrix product over sliding
    windows, for the real and imaginary parts (phase 0 has the weights 0, 1, 0, 0: the
    grid values themselves).
    """
    rows = spec.shape[0]
    m = -(-count // every)  # grid intervals holding outputs
    _, weights = _lagrange4(np.arange(every) / every)
    w = np.array(weights)  # (4, every)
    out = np.empty((rows, m * every), dtype=spec.dtype)
    blocks = out.reshape(rows, m, every)
    for part in ("real", "imag"):
        nodes = getattr(spec, part)[:, p0 - 1 : p0 + m + 2]
        windows = np.lib.stride_tricks.sliding_window_view(nodes, 4, axis=-1)[:, :m]
        np.matmul(windows, w, out=getattr(blocks, part))
    return out[:, :count]


def _window(lo: float, hi: float, start: float, h: float, n: int) -> tuple[int, int]:
    """Grid indices [i0, i1) covering [lo, hi] with three points to spare on each side (the
    4-point deposition and interpolation reach two)."""
    i0 = max(0, int(np.floor((lo - start) / h)) - 3)
    i1 = min(n, int(np.ceil((hi - start) / h)) + 4)
    return i0, i1


@functools.lru_cache(maxsize=8)
def _kernel_hat(
    first: int, count: int, h: float, size: int, ku: float, gamma: float, k0: float | None
) -> np.ndarray:
    """Real transforms (rows: real part, imaginary part) of the line shape at the grid
    offsets (first .. first + count − 1)·h [MHz]: :func:`complex_voigt`, or ElecSus's
    :func:`elecsus_voigt` at wavenumber ``k0``. Cached: a fit's difference step in the field,
    or a second spectrum on the same scan, has the same Doppler and Lorentz widths."""
    offsets = (np.arange(count) + first) * h * 2 * np.pi * 1e6
    shape = (
        complex_voigt(offsets, ku, gamma) if k0 is None else elecsus_voigt(offsets, ku, gamma, k0)
    )
    out = sfft.rfft(shape.view(np.float64).reshape(-1, 2).T, size)
    out.flags.writeable = False
    return out


def _fft(x, groups, shift, gamma, step, k0=None):
    """χ by FFT: sticks deposited on a uniform grid ⊛ the line shape (:func:`_kernel_hat`)."""
    ascending = bool(np.all(x[1:] > x[:-1]))  # the usual scan: no sort, no scatter back
    order = None if ascending else np.argsort(x, kind="stable")
    xs = x if ascending else x[order]
    lo = min(f.min() for f, *_ in groups) + shift
    hi = max(f.max() for f, *_ in groups) + shift
    start, h, n, periodic = _fft_grid(xs, lo, hi, step)
    if n > _MAX_GRID:
        raise ValueError(
            f"FFT grid of {n} points needed (step {h:.3g} MHz); use method='direct' for this case"
        )
    # χ is wanted on the grid points near the scan and the sticks sit on those near the lines:
    # a linear convolution of the two windows needs n_x + n_s − 1 points, not 2n − 1
    x0, x1 = _window(xs[0], xs[-1], start, h, n)
    s0, s1 = _window(lo, hi, start, h, n)
    n_x, n_s = x1 - x0, s1 - s0
    size = sfft.next_fast_len(n_x + n_s - 1, real=True)
    # the sticks are real: real transforms, the kernel's real and imaginary parts apart
    # (rows 0-2 the real part of χ, rows 3-5 the imaginary part)
    total = np.zeros((6, size // 2 + 1), dtype=np.complex128)
    for freq, w, q, ku in groups:
        pos = (freq + shift - start) / h - s0
        sticks = np.stack([lagrange_deposit(pos[q == qq], w[q == qq], n_s) for qq in Q_ORDER])
        k_hat = _kernel_hat(x0 - s0 - (n_s - 1), n_x + n_s - 1, h, size, ku, gamma, k0)
        s_hat = sfft.rfft(sticks, size, axis=-1)
        total[:3] += s_hat * k_hat[0]
        total[3:] += s_hat * k_hat[1]
    both = sfft.irfft(total, size, axis=-1)[:, n_s - 1 : n_s - 1 + n_x]
    spec = both[:3] + 1j * both[3:]  # on grid points x0 .. x1 − 1
    if periodic is not None:
        below, every = periodic
        chi_sorted = _decimate(spec, below - x0, every, xs.size)
    else:
        idx = (xs - start) / h - x0
        on_grid = np.rint(idx)
        if np.allclose(idx, on_grid, atol=1e-6):
            chi_sorted = spec[:, on_grid.astype(np.int64)]
        else:
            chi_sorted = lagrange_interp(spec, idx)
    if ascending:
        return chi_sorted
    chi = np.empty_like(chi_sorted)
    chi[:, order] = chi_sorted
    return chi


# the process-wide caches above, for mohilbert.caches.clear (benchmarks' cold figures)
caches.register("mohilbert.atoms.susceptibility._kernel_hat", _kernel_hat)
