"""Drop-in for HIP-ElecSus (Häupl et al., arXiv:2410.19916; github.com/hpaantee/HIP-ElecSus).

Code written for HIP-ElecSus's ``LindbladMasterEq`` runs unchanged after one import::

    from mohilbert import hip_elecsus as ats        # instead of: import LindbladMasterEq as ats

    p_dict = {"Elem": "Rb", "Dline": "D2", "lcell": 2e-3, "T": 62.0, "Constrain": True,
              "Bfield": 6000, "rb85frac": 0, "laserPower": 1e-15, "laserWaist": 0.5e-3}
    atom = ats.atomicSystem("Rb87", E_in=E_LCP, p_dict=p_dict)
    T = atom.transmission([ats.beam(w=x, P=8.57 * Psat, D=0.5e-3, profile="flat")], z=2e-3)

with the same arguments, units and return values: detuning ``w`` [MHz] from the line centre,
power ``P`` [W], beam diameter ``D`` [m] (or area ``A`` [m²], or the field amplitude ``E``
[V/m]), ``Bfield`` [G], ``T`` [°C], lengths [m]; ``transmission`` returns the power
transmission at each detuning (and each power, when ``P`` is an array: shape
``(len(w), len(P))``). The physics is :mod:`mohilbert.intense` with ``compat="hip-elecsus"``
(HIP-ElecSus's choices: one mean transit time from ``laserWaist`` at the Doppler temperature,
its ElecSus constants, no self-broadening, equal ground-state populations), which reproduces
its published spectra to ≤ 2.7e-4 in transmission (``tests/test_hip_elecsus.py`` calls this
module exactly as the authors' ``fig3.py`` calls theirs) at ~0.02 s per 2000-point spectrum
against HIP-ElecSus's ~14 s of set-up plus ~120 s of solving on one core: ~5000× faster
(``benchmarks/bench_intense.py``, cold).

What differs, by design, with a clear error rather than a silent approximation:

* the input polarisation must drive one set of lines (an eigen-polarisation: left or right
  circular for a field along the beam); HIP-ElecSus adds the dipole matrix elements of the
  polarisation's components, which is not a physical superposition;
* ``doppler=False`` and ``collisions='decay'`` with a buffer gas are not modelled;
* ``propagated_transmission`` propagates every detuning with its own power (HIP-ElecSus
  steps all detunings with the smallest power of the grid, the same where it is used, one
  detuning at the line centre).

An unknown ``p_dict`` key is refused naming the nearest known one (HIP-ElecSus ignores it, or
fails deep inside with a ``KeyError``).
"""

from __future__ import annotations

import warnings

import numpy as np

from mohilbert.atoms.constants import C_LIGHT, EPSILON_0, ISOTOPES
from mohilbert.atoms.density import number_density
from mohilbert.intense import Probe, mean_transit_time_s
from mohilbert.theory import Cell, intense_arrays

#: HIP-ElecSus's ``p_dict_defaults`` (LindbladMasterEq.py)
P_DICT_DEFAULTS = {
    "lcell": 75e-3,
    "Bfield": 0.0,
    "T": 20.0,
    "GammaBuf": 0.0,
    "shift": 0.0,
    "theta0": 0.0,
    "Pol": 50.0,
    "Btheta": 0,
    "Bphi": 0,
    "Constrain": True,
    "DoppTemp": 20.0,
    "rb85frac": 72.17,
    "K40frac": 0.01,
    "K41frac": 6.73,
    "laserPower": 1e-15,
    "laserWaist": 5e-3,
    "BoltzmannFactor": True,
}
#: keys HIP-ElecSus reads beyond its defaults
_EXTRA_KEYS = ("Elem", "Dline", "Gammat", "symbolic_transit", "collisions")

#: HIP-ElecSus's element names → (element, isotope, its abundance from the p_dict)
_ISOTOPE_OF = {
    "rb85": ("Rb", "85Rb", lambda p: p["rb85frac"] / 100),
    "rubidium85": ("Rb", "85Rb", lambda p: p["rb85frac"] / 100),
    "rb87": ("Rb", "87Rb", lambda p: 1 - p["rb85frac"] / 100),
    "rubidium87": ("Rb", "87Rb", lambda p: 1 - p["rb85frac"] / 100),
    "cs": ("Cs", "133Cs", lambda p: 1.0),
    "cs133": ("Cs", "133Cs", lambda p: 1.0),
    "caesium": ("Cs", "133Cs", lambda p: 1.0),
    "caesium133": ("Cs", "133Cs", lambda p: 1.0),
    "na": ("Na", "23Na", lambda p: 1.0),
    "na23": ("Na", "23Na", lambda p: 1.0),
    "sodium": ("Na", "23Na", lambda p: 1.0),
    "sodium23": ("Na", "23Na", lambda p: 1.0),
    "k39": ("K", "39K", lambda p: 1 - (p["K40frac"] + p["K41frac"]) / 100),
    "potassium39": ("K", "39K", lambda p: 1 - (p["K40frac"] + p["K41frac"]) / 100),
    "k40": ("K", "40K", lambda p: p["K40frac"] / 100),
    "potassium40": ("K", "40K", lambda p: p["K40frac"] / 100),
    "k41": ("K", "41K", lambda p: p["K41frac"] / 100),
    "potassium41": ("K", "41K", lambda p: p["K41frac"] / 100),
}


class beam:
    """A probe beam, as HIP-ElecSus's ``beam(w=..., P=..., D=..., profile=...)``.

    Parameters
    ----------
    w : array_like
        Laser detuning [MHz] from the line centre.
    P : float or array_like, optional
        Power [W] (or give ``E``).
    D : float, optional
        Beam diameter [m] (or give ``A``).
    profile : {"gaussian", "flat"}
        HIP-ElecSus's intensity: ``flat`` P/A, ``gaussian`` the peak 2P/A, uniform over the
        beam (HIP-ElecSus does not average over the profile).
    A : float, optional
        Beam area [m²] instead of ``D``.
    E : float, optional
        Field amplitude [V/m] instead of ``P``.
    """

    def __init__(self, w, P=None, D=None, profile="gaussian", A=None, E=None):
        self.w = w
        self.profile = str(profile).lower()
        if self.profile not in ("flat", "gaussian"):
            raise ValueError(f"beam: profile {profile!r} is not 'flat' or 'gaussian'")
        if D is not None:
            self.D, self.A = float(D), np.pi * float(D) ** 2 / 4
        elif A is not None:
            self.A, self.D = float(A), 2 * np.sqrt(float(A) / np.pi)
        else:
            raise ValueError("beam: give the diameter D [m] or the area A [m^2]")
        if E is not None:
            self.setE(E)
        elif P is not None:
            self.setP(P)
        else:
            raise ValueError("beam: give the power P [W] or the field amplitude E [V/m]")

    def setP(self, P):
        """Set the power [W] (and the field amplitude it makes)."""
        self.P = P
        intensity = np.asarray(P, float) / self.A * (2.0 if self.profile == "gaussian" else 1.0)
        self.E = np.sqrt(2 * intensity / C_LIGHT / EPSILON_0)

    def setE(self, E):
        """Set the field amplitude [V/m] (and the power it makes, as HIP-ElecSus does)."""
        self.E = E
        self.P = self.A / 4 * C_LIGHT * EPSILON_0 * np.asarray(E, float) ** 2

    def __iter__(self):
        return iter((self.w, self.P, self.D))


def _checked_p_dict(p_dict: dict) -> dict:
    from mohilbert.config import nearest

    known = (*P_DICT_DEFAULTS, *_EXTRA_KEYS)
    for key in p_dict:
        if key not in known:
            raise ValueError(
                f"p_dict: unknown key {key!r}{nearest(key, known)}; known keys: {', '.join(known)}"
            )
    return {**P_DICT_DEFAULTS, **p_dict}


def _polarisation(E_in) -> str:
    """Our eigen-polarisation for HIP-ElecSus's lab-frame Jones vector (ElecSus's basis:
    R = (x + iy)/√2 drives what HIP-ElecSus calls its first circular component)."""
    e = np.asarray(E_in, dtype=complex).ravel()
    if e.size != 3 or not np.any(e):
        raise ValueError(f"E_in must be a non-zero 3-vector [Ex, Ey, Ez], not {E_in!r}")
    left = (e[0] - 1j * e[1]) / np.sqrt(2)
    right = (e[0] + 1j * e[1]) / np.sqrt(2)
    power = np.abs([left, right, e[2]]) ** 2
    share = power / power.sum()
    if share[1] > 1 - 1e-9:
        return "sigma_plus"
    if share[0] > 1 - 1e-9:
        return "sigma_minus"
    raise ValueError(
        f"E_in = {list(np.round(e, 6))} drives both circular components (L {share[0]:.3g}, R "
        f"{share[1]:.3g}, z {share[2]:.3g}); the intense-probe model takes one eigen-"
        "polarisation: left or right circular (ElecSus's lrz_to_xyz([1, 0, 0]) or [0, 1, 0])"
    )


class atomicSystem:
    """One isotope's vapour, as HIP-ElecSus's ``atomicSystem(element, E_in, p_dict)``.

    Parameters
    ----------
    element : str
        ``'Rb85'``, ``'Rb87'``, ``'Cs'``, ``'Na'``, ``'K39'``, ``'K40'``, ``'K41'`` (or their
        long names); the isotope's abundance from ``rb85frac`` / ``K40frac`` / ``K41frac``.
    E_in : array_like
        Input Jones vector [Ex, Ey, Ez] in ElecSus's lab frame: one circular polarisation.
    p_dict : dict
        HIP-ElecSus's parameters (``Dline``, ``T`` [°C], ``Bfield`` [G], ``laserWaist`` [m]:
        the diameter that sets the transit time, ``Constrain``/``DoppTemp``, ``GammaBuf``
        [MHz], ``Gammat`` [s], ...). Unknown keys are refused.
    states : None
        HIP-ElecSus's explicit states are not supported (the line follows ``Dline``).
    """

    def __init__(self, element, E_in, p_dict, states=None):
        if states is not None:
            raise ValueError("atomicSystem: explicit states are not supported; set p_dict['Dline']")
        key = str(element).lower()
        if key not in _ISOTOPE_OF:
            raise ValueError(
                f"atomicSystem: unknown element {element!r}; known: Rb85, Rb87, Cs, Na, K39, "
                "K40, K41"
            )
        p = _checked_p_dict(dict(p_dict))
        if p.get("Dline") not in ("D1", "D2"):
            raise ValueError(f"p_dict['Dline'] must be 'D1' or 'D2', not {p.get('Dline')!r}")
        if p.get("collisions", "dephase") not in ("dephase", "decay"):
            raise ValueError(
                f"p_dict['collisions'] must be 'dephase' or 'decay', not {p['collisions']!r}"
            )
        if p.get("collisions") == "decay" and p["GammaBuf"]:
            raise ValueError(
                "p_dict: collisions='decay' with a buffer gas (GammaBuf > 0) is not modelled; "
                "use 'dephase' (HIP-ElecSus's default)"
            )
        self.p_dict = p
        self.E_in = E_in
        self.element, self.isotope, abundance = _ISOTOPE_OF[key]
        self.abundance = float(abundance(p))
        self.polarisation = _polarisation(E_in)

    def _temperatures(self) -> tuple[float, float]:
        """(vapour, Doppler) temperature [°C]."""
        p = self.p_dict
        t = float(p["T"])
        return t, (t if p["Constrain"] else float(p["DoppTemp"]))

    def _cell(self, z: float) -> Cell:
        p = self.p_dict
        t, t_doppler = self._temperatures()
        return Cell(
            element=self.element,
            line=p["Dline"],
            length_m=float(z),
            temperature_C=t,
            field_T=float(p["Bfield"]) * 1e-4,
            isotope_percent={self.isotope: 100.0},
            gamma_buffer_MHz=float(p["GammaBuf"]),
            doppler_temperature_C=None if p["Constrain"] else t_doppler,
            number_density_m3=self.abundance * number_density(self.element, t),
        )

    def _probe(self, b: beam, power_W: float, transit_type: str, z_slices: int) -> Probe:
        """Our probe with HIP-ElecSus's intensity and transit time."""
        intensity = power_W / b.A * (2.0 if b.profile == "gaussian" else 1.0)
        t, t_doppler = self._temperatures()
        mass = ISOTOPES[self.isotope].mass_kg
        if "Gammat" in self.p_dict:
            tau = float(self.p_dict["Gammat"])
        else:
            tau = mean_transit_time_s(float(self.p_dict["laserWaist"]), t_doppler, mass)
        ours = mean_transit_time_s(b.D, t, mass)  # what the probe alone would give
        transit = "mean"
        if transit_type == "integral":
            if "symbolic_transit" in self.p_dict:
                transit = "distribution"
            else:  # as HIP-ElecSus: a warning, then the single transit time
                warnings.warn(
                    "transit_type='integral' needs p_dict['symbolic_transit']; falling back "
                    "to 'single', as HIP-ElecSus does",
                    UserWarning,
                    stacklevel=3,
                )
        elif transit_type != "single":
            raise ValueError(f"transit_type must be 'single' or 'integral', not {transit_type!r}")
        return Probe(
            intensity * b.A,
            b.D,
            "flat",
            transit=transit,
            z_slices=z_slices,
            compat="hip-elecsus",
            transit_scale=ours / tau,
        )

    def _run(self, beams, z, doppler, transit_type, z_slices) -> np.ndarray:
        if not doppler:
            raise ValueError(
                "doppler=False is not modelled: the intense-probe model averages over the "
                "atoms' velocities (for a cold sample use p_dict Constrain=False and a low "
                "DoppTemp)"
            )
        if len(beams) != 1:
            raise ValueError(f"one probe beam is modelled, not {len(beams)}")
        b = beams[0]
        x = np.atleast_1d(np.asarray(b.w, dtype=float))
        powers = np.atleast_1d(np.asarray(b.P, dtype=float))
        cell = self._cell(z)
        out = np.empty((x.size, powers.size))
        for i, p in enumerate(powers):
            probe = self._probe(b, float(p), transit_type, z_slices)
            out[:, i] = intense_arrays(x, cell, self.polarisation, probe)["S0"]
        return out.squeeze()

    def transmission(self, beams, z=50e-3, doppler=True, transit_type="single") -> np.ndarray:
        """Power transmission through ``z`` [m] at the input power (not propagated).

        Parameters
        ----------
        beams : list of beam
            One :class:`beam`.
        z : float
            Cell length [m].
        doppler : bool
            Doppler averaging (``False`` is refused).
        transit_type : {"single", "integral"}
            One mean transit time, or (with ``p_dict['symbolic_transit']``) the distribution
            of transit times.
        """
        return self._run(beams, z, doppler, transit_type, 1)

    def absorption(self, beams, z=50e-3, doppler=True, transit_type="single") -> np.ndarray:
        """1 − :meth:`transmission`."""
        return 1 - self.transmission(beams, z, doppler, transit_type)

    def optical_depth(self, beams, doppler=True, transit_type="single") -> np.ndarray:
        """HIP-ElecSus's ``optical_depth``: α [1/m] with transmission exp(α z) (α ≤ 0)."""
        z = 1e-6  # thin: α at the input intensity
        return np.log(self.transmission(beams, z, doppler, transit_type)) / z

    def propagated_transmission(
        self, beams, z=50e-3, doppler=True, steps=50, transit_type="single"
    ) -> np.ndarray:
        """Transmission with the power falling along the cell: ``steps`` Euler steps, each
        detuning with its own power (see the module docstring)."""
        return self._run(beams, z, doppler, transit_type, int(steps))


def get_spectra(X, E_in, p_dict, outputs=None):
    """HIP-ElecSus's ``get_spectra``: the transmission of the element's isotopes (their
    product) at ``p_dict['laserPower']`` and ``laserWaist`` (a Gaussian beam's peak
    intensity), detuning ``X - shift`` [MHz].

    Parameters
    ----------
    X : array_like
        Detuning [MHz].
    E_in : array_like
        Input Jones vector [Ex, Ey, Ez] (one circular polarisation).
    p_dict : dict
        HIP-ElecSus's parameters, with ``Elem``.
    outputs : None
        Ignored, as HIP-ElecSus ignores it.

    Returns
    -------
    list
        ``[S0]``, the transmission at each detuning.
    """
    p = _checked_p_dict(dict(p_dict))
    isotopes = {
        "Rb": ("Rb85", "Rb87"),
        "Cs": ("Cs",),
        "Na": ("Na",),
        "K": ("K39", "K40", "K41"),
    }
    if p.get("Elem") not in isotopes:
        raise ValueError(f"p_dict['Elem'] must be one of {', '.join(isotopes)}")
    doppler = p["DoppTemp"] > -273.14
    b = beam(w=np.asarray(X, float) - p["shift"], P=p["laserPower"], D=p["laserWaist"])
    t = 1.0
    for name in isotopes[p["Elem"]]:
        atom = atomicSystem(name, E_in, p)
        if atom.abundance > 0:
            t = t * atom.transmission([b], z=p["lcell"], doppler=doppler)
    return [t]
