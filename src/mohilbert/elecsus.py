"""Drop-ins for ElecSus (Zentile et al. 2015, Keaveney et al. 2018): ``get_spectra`` and
``fit_data``, with its arguments, units and return values.

Code written for ``elecsus.elecsus_methods`` (``calculate``, ``fit_data``) runs after one
import::

    from mohilbert import elecsus as em       # instead of: import elecsus.elecsus_methods as em

    best, rms, result = em.fit_data([x_MHz, y], p_dict, p_dict_bools, E_in=[0, [1, 0]],
                                    data_type="Ix")
    print(result.fit_report())

``fit_data`` fits with the same physics in ElecSus's conventions (:func:`cell_from_elecsus`:
gauss, radians, per cent, ElecSus's line positions) by Levenberg–Marquardt
(:func:`mohilbert.fitting.fit_spectra`). It returns what ElecSus returns: the best
parameters (every ``p_dict`` key and ``E_x``, ``E_y``, ``E_phase``, in ElecSus's units), the
RMS of the residuals, and a result with ``best_fit``, ``params`` (lmfit ``Parameters`` named
as ElecSus names them, ``stderr`` ours), ``fit_report()``, ``nfev``, ``redchi``,
``success``, ``message``; ``result.mohilbert`` is our full :class:`~mohilbert.fitting.FitResult`.
Our standard errors come from the residuals' own scatter and correlation (a sandwich
estimator), not from lmfit's scaled covariance. On the ElecSus test data (``tests/
test_elecsus_dropin.py``) it reaches a lower RMS than ElecSus's own fits, with the same
temperature and field, in 30–42 evaluations instead of 84–103 and 6–65× less time. Our σ
are far larger than ElecSus's there (10–5000×): those residuals are smooth structure, which
lmfit's white-noise covariance ignores.

``fit_algorithm`` ``'ML'`` (and its aliases) is the fit; ElecSus's global searches ('RR',
'SA', 'DE') are refused in words: start near the answer (a scan of one parameter with
:func:`get_spectra` finds it) and fit locally.
"""

from __future__ import annotations

import numpy as np

from mohilbert.theory import ELECSUS_DEFAULTS, cell_from_elecsus, get_spectra

__all__ = ["calculate", "fit_data", "get_spectra"]

#: ElecSus p_dict key → (our fit parameter, ours per ElecSus unit)
FIT_PARAMETERS = {
    "T": ("temperature_C", 1.0),
    "Bfield": ("field_T", 1e-4),
    "shift": ("shift_MHz", 1.0),
    "GammaBuf": ("gamma_buffer_MHz", 1.0),
    "Btheta": ("field_theta_deg", 180.0 / np.pi),
    "Bphi": ("field_phi_deg", 180.0 / np.pi),
    "lcell": ("length_m", 1.0),
    "DoppTemp": ("doppler_temperature_C", 1.0),
    "rb85frac": ("percent_85Rb", 1.0),
    "K40frac": ("percent_40K", 1.0),
    "K41frac": ("percent_41K", 1.0),
    "E_x": ("jones_x", 1.0),
    "E_y": ("jones_y", 1.0),
    "E_phase": ("jones_phase_rad", 1.0),
}
_ML = ("ML", "Marquardt-Levenberg", "LM", "leastsq")


def calculate(detuning_range, E_in=(1, 0, 0), p_dict=None, outputs=None):
    """ElecSus's ``elecsus_methods.calculate``: :func:`mohilbert.theory.get_spectra` with
    ElecSus's defaults (x-polarised input, every default ``p_dict`` value).

    Parameters
    ----------
    detuning_range : array_like
        Detuning [MHz].
    E_in : array_like
        Input Jones vector [Ex, Ey, Ez].
    p_dict : dict, optional
        ElecSus's parameters.
    outputs : list of str, optional
        ElecSus's output names (default: its full list).
    """
    return get_spectra(detuning_range, E_in, p_dict or {}, outputs)


class ElecSusFitResult:
    """What ElecSus's ``fit_data`` returns as its third value (an lmfit ``ModelResult``'s
    attributes that users read), from our fit."""

    def __init__(self, ours, params, x, best_fit):
        import lmfit

        self.mohilbert = ours
        self.x = x
        self.best_fit = best_fit
        self.params = lmfit.Parameters()
        for name, (value, stderr, vary) in params.items():
            self.params.add(name, value=value, vary=vary)
            self.params[name].stderr = stderr
        self.best_values = {n: p.value for n, p in self.params.items()}
        self.nfev = ours.nfev
        self.redchi = ours.redchi
        self.chisqr = ours.chisqr
        self.success = ours.success
        self.message = ours.message

    def fit_report(self) -> str:
        """lmfit's report of the fitted parameters (values, ours standard errors)."""
        import lmfit

        head = (
            f"[[Fit Statistics]]\n    # function evals   = {self.nfev}\n"
            f"    # data points      = {self.best_fit.size}\n"
            f"    chi-square         = {self.chisqr:.7g}\n"
            f"    reduced chi-square = {self.redchi:.7g}\n"
        )
        return (
            head
            + "[[Variables]]\n"
            + lmfit.printfuncs.fit_report(self.params, show_correl=False).split(
                "[[Variables]]\n", 1
            )[-1]
        )


def fit_data(
    data,
    p_dict: dict,
    p_dict_bools: dict,
    E_in=None,
    p_dict_bounds: dict | None = None,
    data_type: str = "S0",
    fit_algorithm: str = "ML",
    **kw,
):
    """Drop-in for ElecSus's ``fit_data(data, p_dict, p_dict_bools, E_in, p_dict_bounds,
    data_type, fit_algorithm)``.

    Parameters
    ----------
    data : array_like
        ``[x, y]``: detuning [MHz] and the measured ``data_type`` (2 × N).
    p_dict : dict
        ElecSus's parameters and start values (gauss, radians, per cent, °C, m).
    p_dict_bools : dict
        ``True`` for each parameter to fit (``T``, ``Bfield``, ``shift``, ``GammaBuf``,
        ``Btheta``, ``Bphi``, ``lcell``, ``DoppTemp``, ``rb85frac``, ``K40frac``,
        ``K41frac``, ``E_x``, ``E_y``, ``E_phase``).
    E_in : list, optional
        ``[E_x, [E_y, E_phase]]`` (ElecSus's fitting form); default from ``p_dict``'s
        ``E_x``, ``E_y``, ``E_phase``.
    p_dict_bounds : dict, optional
        ``{key: [min, max]}`` in ElecSus's units.
    data_type : str
        ``'S0'``, ``'S1'``, ``'S2'``, ``'S3'``, ``'Ix'``, ``'Iy'``, ``'I_P45'``, ``'I_M45'``.
    fit_algorithm : str
        ``'ML'`` (or ``'Marquardt-Levenberg'``, ``'LM'``, ``'leastsq'``). Of ElecSus's
        keyword arguments ``verbose`` is accepted (and ignored).

    Returns
    -------
    tuple
        ``(best_params, RMS, result)`` as ElecSus: the parameters (``p_dict`` updated with
        the fitted values, plus ``E_x``, ``E_y``, ``E_phase``), the RMS of the residuals
        (data units) and an :class:`ElecSusFitResult`.
    """
    from mohilbert.fitting import FitSpectrum, fit_spectra

    stray = sorted(set(kw) - {"verbose"})
    if stray:
        raise ValueError(f"fit_data: unknown keyword argument(s) {stray}; known: verbose")
    if fit_algorithm not in _ML:
        raise ValueError(
            f"fit_data: fit_algorithm {fit_algorithm!r} is not offered; mohilbert fits by "
            "Levenberg-Marquardt ('ML') from the start values: put them near the answer"
        )
    x, y = (np.asarray(v, dtype=float) for v in data)
    if E_in is None:
        try:
            E_in = [p_dict["E_x"], [p_dict["E_y"], p_dict["E_phase"]]]
        except KeyError:
            raise ValueError(
                "fit_data: give E_in = [E_x, [E_y, E_phase]] or E_x, E_y, E_phase in p_dict"
            ) from None
    e_x, (e_y, e_phase) = float(E_in[0]), (float(v) for v in E_in[1])
    es = {k: v for k, v in p_dict.items() if k not in ("E_x", "E_y", "E_phase")}
    cell = cell_from_elecsus(es)
    free = [k for k, on in p_dict_bools.items() if on]
    unknown = [k for k in free if k not in FIT_PARAMETERS]
    if unknown:
        raise ValueError(
            f"fit_data: cannot fit {unknown}; parameters that can be fitted: "
            f"{', '.join(FIT_PARAMETERS)}"
        )
    bounds = {}
    for key in free:
        name, unit = FIT_PARAMETERS[key]
        lim = (p_dict_bounds or {}).get(key)
        bounds[name] = None if lim is None else tuple(sorted(unit * float(v) for v in lim))
    if "DoppTemp" in free and p_dict.get("Constrain", True):
        raise ValueError("fit_data: fitting DoppTemp needs p_dict['Constrain'] = False")
    pol = np.array([e_x, e_y * np.exp(1j * e_phase)])
    start = cell
    if "DoppTemp" in free:
        start = cell.with_(doppler_temperature_C=float(p_dict.get("DoppTemp", 20.0)))
    ours = fit_spectra([FitSpectrum(x, y, data_type, pol)], start, bounds)
    best_fit = ours.best_fit[0]
    rms = float(np.sqrt(np.mean((y - best_fit) ** 2)))
    values = {**ELECSUS_DEFAULTS, **es, "E_x": e_x, "E_y": e_y, "E_phase": e_phase}
    params = {}
    for key, value in values.items():
        fitted = key in free
        if fitted:
            name, unit = FIT_PARAMETERS[key]
            value = ours.values[name] / unit
            stderr = ours.stderr[name] / unit
        else:
            stderr = 0.0
        values[key] = value
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        params[key] = (float(value), float(stderr), fitted)
    return values, rms, ElecSusFitResult(ours, params, x, best_fit)
