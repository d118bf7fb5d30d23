r"""Theory fits with lmfit: any subset of cell parameters free, joint fits of several spectra.

A fit minimises :math:`\sum_s \sum_i [(y_{s,i} - m_s(x_{s,i}; p))/\sigma_{s,i}]^2` with
Levenberg–Marquardt (MINPACK via lmfit), where spectra s share parameters p (e.g. the σ+ and
σ− traces of one experiment share temperature and field) and may have per-spectrum
parameters (e.g. a small detuning offset per run). Residuals are weighted by the measurement
noise σ when given, so the reduced χ² is meaningful and the standard errors are calibrated.

Parameters are the :class:`~mohilbert.theory.Cell` fields with units in their names
(``temperature_C``, ``field_T``, ``field_theta_deg``, ``field_phi_deg``, ``gamma_buffer_MHz``,
``shift_MHz``, ``length_m``, ``doppler_temperature_C``), isotope abundances
``percent_<isotope>`` (e.g. ``percent_85Rb``), and the input polarisation as ElecSus writes
it, E = (``jones_x``, ``jones_y``·exp(i ``jones_phase_rad``)).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import lmfit
import numpy as np
import xarray as xr

from mohilbert.errors import FitError
from mohilbert.intense import with_probe_parameters
from mohilbert.optics.polarisation import jones_vector
from mohilbert.parameters import (
    CELL_PARAMETERS,
    DEFAULT_BOUNDS,
    JONES_PARAMETERS,
    PROBE_PARAMETERS,
    difference_step,
    is_translation,
    unit,
)
from mohilbert.theory import Cell, intense_arrays, spectrum_arrays


@dataclass
class FitSpectrum:
    """One measured spectrum to fit.

    Attributes
    ----------
    detuning_MHz
        Detuning axis [MHz].
    data
        Measured values of ``quantity`` (dimensionless, normalised to the input intensity).
    quantity
        Which model output: ``"S0"`` (transmission), ``"S1"``, ``"S2"``, ``"S3"``, ``"Ix"``,
        ``"Iy"``, ``"I_P45"``, ``"I_M45"``, ``"I_L"``, ``"I_R"``.
    polarisation
        Input polarisation (name or Jones vector).
    sigma
        Standard uncertainty of each point (same units as data); ``None`` = unweighted.
    cell_overrides
        Cell fields that differ for this spectrum (e.g. another polarisation geometry).
    name
        Label used for per-spectrum parameter names and in the results.
    probe
        An intense probe (:class:`mohilbert.intense.Probe`): the spectrum is modelled beyond
        the weak probe, its power times ``intensity_scale``; ``None``: weak probe.
    sigma_white
        The part of ``sigma`` independent from point to point (same units); ``None`` = all
        of it. The rest (baseline, drifts, dark level) is shared by neighbouring points and
        belongs in the caller's systematic terms: the statistical error's floor counts only
        this part (:func:`statistical_covariance`).
    """

    detuning_MHz: np.ndarray
    data: np.ndarray
    quantity: str = "S0"
    polarisation: object = "x"
    sigma: np.ndarray | None = None
    cell_overrides: dict = field(default_factory=dict)
    name: str = ""
    probe: object = None
    sigma_white: np.ndarray | None = None


@dataclass
class FitResult:
    """Outcome of :func:`fit_spectra` (values, errors, correlations, fit curves)."""

    cell: Cell
    values: dict[str, float]
    stderr: dict[str, float]
    correl: dict[tuple[str, str], float]
    free: list[str]
    rms: list[float]
    redchi: float
    chisqr: float
    nfev: int
    success: bool
    message: str
    best_fit: list[np.ndarray]
    polarisations: list[object]
    spectra: list[FitSpectrum]
    lmfit_result: object = None
    #: statistical covariance of the free parameters (order of ``free``), from the residuals'
    #: own scatter and correlation (see :func:`statistical_covariance`)
    covariance: np.ndarray | None = None
    #: covariance from the stated point uncertainties alone, (J^T J)^-1
    covariance_nominal: np.ndarray | None = None
    #: covariance from their independent part alone (:func:`white_noise_covariance`): the
    #: floor of ``covariance``
    covariance_white: np.ndarray | None = None
    _linear: object = None  # the linearised model at the optimum (for input_response)
    #: parameter names fitted with one value per spectrum (``<name>__<spectrum name>``)
    per_spectrum: tuple[str, ...] = ()
    #: per-spectrum parameter of a group → the group's fitted one (``groups`` of
    #: :func:`fit_spectra`): same value, same errors, not free itself
    ties: dict[str, str] = field(default_factory=dict)
    #: free parameter → the (lower, upper) bound the fit searched within (its unit)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def parameter_parts(self, name: str) -> tuple[str, str]:
        """(quantity, spectrum name) of a parameter: ``("shift_MHz", "run1")`` for the
        per-spectrum ``shift_MHz__run1``, ``(name, "")`` for a shared one."""
        for p in self.per_spectrum:
            for s in self.spectra:
                if name == f"{p}__{s.name}":
                    return p, s.name
        return name, ""

    def input_response(
        self, spectra: Sequence[FitSpectrum] | None = None, cells: Sequence[Cell] | None = None
    ) -> dict[str, float]:
        r"""First-order change of every free parameter when the fit's inputs change.

        Parameters
        ----------
        spectra
            The spectra with changed detuning axes or data (same points, same order).
        cells
            Changed base cells per spectrum (e.g. another cell length).

        Returns
        -------
        dict
            Parameter name → change of its best-fit value (its units), the Gauss–Newton step
            :math:`-(J^T J)^{-1} J^T \delta r` of the weighted residuals: what a refit would
            give to first order, at the cost of one model evaluation.
        """
        return self._linear.response(spectra, cells)

    def drift_covariance_response(self, k: int, rms: float, length_MHz: float) -> np.ndarray:
        r"""Covariance of the free parameters caused by a random drift of spectrum k's data.

        The drift is a stationary error of standard deviation ``rms`` (data units) with the
        exponential correlation :math:`\exp(-|\Delta\nu|/\ell)` over ``length_MHz``. Returns
        :math:`R C R^T` with :math:`R = \partial p / \partial y` from the linearised fit, in
        O(N) instead of O(N²): the kernel is applied by one forward and one backward
        recursion (:func:`exponential_kernel_apply`).
        """
        r = self._linear.data_response(k)
        x = np.asarray(self.spectra[k].detuning_MHz, float)
        order = np.argsort(x)
        rc = exponential_kernel_apply(x[order], r[:, order], length_MHz)
        return rms**2 * rc @ r[:, order].T

    def to_dataset(self) -> xr.Dataset:
        """Fitted parameters (value, statistical stderr, systematic and total uncertainty,
        correlation matrix) and best-fit curves."""
        names = list(self.values)
        coords = {
            "parameter": ("parameter", names, {"units": "1", "long_name": "fit parameter name"}),
            "parameter2": ("parameter2", names, {"units": "1", "long_name": "fit parameter name"}),
            "parameter_quantity": (
                "parameter",
                [self.parameter_parts(n)[0] for n in names],
                {"units": "1", "long_name": "quantity of the parameter (its name without run)"},
            ),
            "parameter_run": (
                "parameter",
                [self.parameter_parts(n)[1] for n in names],
                {
                    "units": "1",
                    "long_name": "run (spectrum) a per-run parameter belongs to; empty: shared",
                },
            ),
        }
        corr = np.eye(len(names))
        for (a, b), c in self.correl.items():
            i, j = names.index(a), names.index(b)
            corr[i, j] = corr[j, i] = c
        corr = tie_rows(corr, names, self.ties)
        data = {
            "value": (
                "parameter",
                [self.values[n] for n in names],
                {"units": "see parameter_units", "long_name": "best-fit value"},
            ),
            "stderr": (
                "parameter",
                [self.stderr.get(n, np.nan) for n in names],
                {
                    "units": "see parameter_units",
                    "long_name": "statistical standard error of the fit (1 sigma)",
                },
            ),
            # systematic parts are estimated by the caller that knows them (fit_experiment)
            "stderr_systematic": (
                "parameter",
                np.zeros(len(names)),
                {"units": "see parameter_units", "long_name": "systematic uncertainty"},
            ),
            "stderr_total": (
                "parameter",
                [self.stderr.get(n, np.nan) for n in names],
                {"units": "see parameter_units", "long_name": "total uncertainty (1 sigma)"},
            ),
            "vary": (
                "parameter",
                [int(n in self.free) for n in names],
                {"units": "1", "long_name": "1 if the parameter was free"},
            ),
            "correlation": (
                ("parameter", "parameter2"),
                corr,
                {"units": "1", "long_name": "correlation coefficient"},
            ),
        }
        ds = xr.Dataset(data, coords=coords)
        for k, (spec, best) in enumerate(zip(self.spectra, self.best_fit, strict=True)):
            tag = spec.name or f"spectrum{k}"
            dim = f"detuning_{tag}"
            ds = ds.assign_coords(
                {dim: (dim, spec.detuning_MHz, {"units": "MHz", "long_name": f"detuning ({tag})"})}
            )
            ds[f"data_{tag}"] = (
                dim,
                spec.data,
                {"units": "1", "long_name": f"measured {spec.quantity} ({tag})"},
            )
            ds[f"fit_{tag}"] = (
                dim,
                best,
                {"units": "1", "long_name": f"best-fit {spec.quantity} ({tag})"},
            )
        ds.attrs.update(
            parameter_units="; ".join(f"{n}: {unit(self.parameter_parts(n)[0])}" for n in names),
            rms=", ".join(f"{r:.6g}" for r in self.rms),
            redchi=self.redchi,
            chisqr=self.chisqr,
            nfev=self.nfev,
            success=int(self.success),
            message=self.message,
            free_parameters=", ".join(self.free),
        )
        if self.ties:
            ds.attrs["ties_json"] = json.dumps(self.ties)
        return ds


def _start_values(cell: Cell, pol) -> dict[str, float]:
    start = {name: getattr(cell, name) for name in CELL_PARAMETERS}
    start["intensity_scale"] = 1.0
    start["transit_scale"] = 1.0
    start["orthogonal_fraction"] = 0.0
    start["beam_order"] = 1.0
    if start["doppler_temperature_C"] is None:
        start["doppler_temperature_C"] = cell.temperature_C
    if pol is not None:
        v = jones_vector(pol)
        start["jones_x"] = float(abs(v[0]))
        start["jones_y"] = float(abs(v[1]))
        start["jones_phase_rad"] = (
            float(np.angle(v[1]) - np.angle(v[0])) if abs(v[0]) > 0 else float(np.angle(v[1]))
        )
    return start


def fit_spectra(
    spectra: Sequence[FitSpectrum],
    cell: Cell,
    free: Sequence[str] | Mapping[str, tuple[float, float] | None],
    *,
    per_spectrum: Sequence[str] = (),
    groups: Mapping[str, Mapping[str, object]] | None = None,
    max_nfev: int = 2000,
    start: Mapping[str, float] | None = None,
) -> FitResult:
    """Fit the theory to one or several spectra with shared and per-spectrum parameters.

    Steps: check the spectra (:func:`_checked_spectra`; a spectrum without a name is named
    ``spectrum<k>`` in a copy, the caller's objects are not changed), build the lmfit
    parameters with start values and bounds (:func:`_fit_parameters`), minimise
    (:func:`_minimise`), linearise at the optimum for the covariances and collect the result
    (:func:`_fit_result`).

    Parameters
    ----------
    spectra : sequence of FitSpectrum
        The measured spectra.
    cell : Cell
        Start values and fixed parameters.
    free : sequence of str or mapping
        Names of the free parameters, or a mapping name → (min, max) bounds (``None`` for the
        default bounds). Isotope abundances are ``percent_<isotope>``; the input polarisation
        ``jones_x``, ``jones_y``, ``jones_phase_rad`` (shared by all spectra unless listed in
        ``per_spectrum``).
    per_spectrum : sequence of str
        Free parameters that take one value per spectrum (e.g. ``("shift_MHz",)``); their
        names in the result are ``<name>__<spectrum name>`` (and the result's dataset says
        which is which: ``parameter_quantity``, ``parameter_run``).
    groups : mapping, optional
        Free probe parameters (:data:`~mohilbert.parameters.PROBE_PARAMETERS`) that take one
        value per group of spectra: parameter → {spectrum name → group label} (every
        spectrum with a probe labelled). The result names them per spectrum like
        ``per_spectrum``; the first spectrum of each group carries the fitted parameter and
        the others are tied to it (:attr:`FitResult.ties`).
    max_nfev : int
        Most model evaluations of the minimiser.
    start : mapping, optional
        Start values by the result's parameter names (``temperature_C``,
        ``shift_MHz__<spectrum>``, ...), e.g. another fit's optimum; the others start from
        ``cell`` and the defaults. Values outside the bounds are moved just inside.
    """
    spectra = _checked_spectra(spectra)
    bounds = dict.fromkeys(free) if not isinstance(free, Mapping) else dict(free)
    names = [s.name for s in spectra]
    pols = [s.polarisation for s in spectra]
    # lmfit names must be identifiers: per-spectrum parameters use a safe token of the name
    tokens = {n: f"s{k}_" + re.sub(r"\W", "_", n) for k, n in enumerate(names)}
    owners = _owners(names, bounds, per_spectrum, groups or {})
    params = _fit_parameters(bounds, cell, spectra, pols, tokens, owners, start or {})
    model = _JointModel(spectra, cell, pols, [tokens[n] for n in names], owners)
    result = _minimise(model, params, max_nfev)
    return _fit_result(model, result, cell, spectra, pols, tokens, owners)


def _owners(names, bounds, per_spectrum, groups) -> dict[str, list[int]]:
    """Per-spectrum and grouped parameter → for each spectrum, the index of the spectrum
    whose parameter it uses (itself, or its group's first), or a FitError for a group that
    cannot be fitted."""
    owners = {p: list(range(len(names))) for p in per_spectrum}
    for pname, labels in groups.items():
        if pname not in PROBE_PARAMETERS:
            raise FitError(
                f"{pname} cannot be fitted per group of spectra; only "
                f"{', '.join(PROBE_PARAMETERS)} can"
            )
        if pname not in bounds or pname in per_spectrum:
            raise FitError(
                f"{pname} is fitted per group: it must be free and not also per spectrum"
            )
        missing = [n for n in names if n not in labels]
        if missing:
            raise FitError(f"{pname} is fitted per group but spectra {missing} have no group")
        first: dict[object, int] = {}
        owners[pname] = [first.setdefault(labels[n], k) for k, n in enumerate(names)]
    return owners


def tie_rows(matrix: np.ndarray, names: Sequence[str], ties: Mapping[str, str]) -> np.ndarray:
    """``matrix`` over ``names`` × ``names`` (a covariance, a correlation) with the rows and
    columns of each tied parameter those of the parameter it is tied to; the diagonal of a
    correlation stays 1 (its input's diagonal element is copied).

    Parameters
    ----------
    matrix : numpy.ndarray
        Square matrix over ``names``.
    names : sequence of str
        Its parameter names, in order.
    ties : mapping of str to str
        Tied parameter → the parameter it is tied to (:attr:`FitResult.ties`).
    """
    out = np.array(matrix, float, copy=True)
    for tied, owner in ties.items():
        i, j = names.index(tied), names.index(owner)
        out[i, :] = out[j, :]
        out[:, i] = out[:, j]
    return out


def _checked_spectra(spectra: Sequence[FitSpectrum]) -> list[FitSpectrum]:
    """The spectra with a name each (copies where one was missing), or a FitError naming the
    spectrum that cannot be fitted."""
    if not spectra:
        raise FitError("no spectra to fit")
    out = []
    for k, s in enumerate(spectra):
        name = s.name or f"spectrum{k}"
        if s.name != name:
            s = replace(s, name=name)
        x = np.asarray(s.detuning_MHz, dtype=float)
        y = np.asarray(s.data, dtype=float)
        if x.shape != y.shape or x.ndim != 1 or x.size < 3:
            raise FitError(
                f"spectrum {name}: detuning and data must be 1-D arrays of one length (>= 3)"
            )
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise FitError(f"spectrum {name}: NaN or inf in detuning or data")
        if s.sigma is not None and not (np.asarray(s.sigma) > 0).all():
            raise FitError(f"spectrum {name}: sigma must be positive everywhere")
        out.append(s)
    return out


def _fit_parameters(bounds, cell, spectra, pols, tokens, owners, given) -> lmfit.Parameters:
    """lmfit parameters: start values ``given`` by public name, else from the cell (isotope
    abundances from its mix), bounds given or :data:`DEFAULT_BOUNDS`, starts kept just inside
    the bounds; one per spectrum that owns a per-spectrum or grouped parameter (``owners``)."""
    names = [s.name for s in spectra]
    params = lmfit.Parameters()
    iso_names = [n for n in bounds if n.startswith("percent_")]
    iso_start = {}
    if iso_names:
        from mohilbert.atoms.constants import isotope_fractions

        fr = isotope_fractions(cell.element, cell.isotope_percent)
        iso_start = {f"percent_{k}": 100 * v for k, v in fr.items()}
    for pname in bounds:
        own = pname in owners
        ks = sorted(set(owners[pname])) if own else [0]
        for k in ks:
            target = f"{pname}__{tokens[names[k]]}" if own else pname
            pol = pols[k] if own else pols[0]
            start = _start_values(cell.with_(**spectra[k].cell_overrides) if own else cell, pol)
            if pname in start:
                value = start[pname]
            elif pname in iso_start:
                value = iso_start[pname]
            elif pname.startswith("percent_"):
                value = 0.0
            else:
                raise FitError(
                    f"unknown fit parameter {pname!r}; known: {', '.join(CELL_PARAMETERS + JONES_PARAMETERS + PROBE_PARAMETERS)}, percent_<isotope>"
                )
            public = f"{pname}__{names[k]}" if own else pname
            if public in given:
                value = float(given[public])
            lo, hi = bounds[pname] or DEFAULT_BOUNDS.get(pname, (0.0, 100.0))
            # a start exactly on a bound has a zero gradient in lmfit's bound transform
            margin = 1e-4 * (hi - lo)
            value = float(np.clip(value, lo + margin, hi - margin))
            params.add(target, value=value, min=lo, max=hi, vary=True)

    return params


def _minimise(model, params, max_nfev: int):
    """Levenberg–Marquardt on the weighted residuals (a FitError when the model fails)."""
    try:
        mini = lmfit.Minimizer(model.residual, params, nan_policy="raise")
        if model.intense:
            # the intense-probe model interpolates in log I and switches detunings between
            # the first-order and the full steady state: smooth to ~1e-6, not to MINPACK's
            # 1.5e-8, so its fits stop at a looser step and reduction; and its Jacobian takes
            # steps sized to that roughness (MINPACK's, a fraction of each bound-transformed
            # value, were below it: a per-run shift near 0 by ~1e-5 MHz), or the fit crawls
            # along its flattest direction for hundreds of steps
            tol, steps = INTENSE_TOLERANCE, {"Dfun": model.jacobian}
        else:
            # ElecSus mode truncates line positions to whole MHz: the model is a staircase in
            # B on the scale of MINPACK's default difference step, so its steps span stairs
            tol = 1.5e-8
            steps = {"epsfcn": 1e-8 if model.staircase_in_field else 1e-10}
        result = mini.minimize(method="leastsq", max_nfev=max_nfev, xtol=tol, ftol=tol, **steps)
    except (ValueError, ArithmeticError) as exc:
        raise FitError(f"fit failed: {' '.join(str(exc).split())}") from None
    return result


def _fit_result(model, result, cell, spectra, pols, tokens, owners) -> FitResult:
    """The model linearised at the optimum (statistical covariance, sandwich estimator) and
    the :class:`FitResult` with public parameter names (grouped parameters named per
    spectrum, tied to their group's)."""
    names = [s.name for s in spectra]
    per_spectrum = tuple(owners)
    best = model.models(result.params)
    linear = _Linearised(model, result.params)
    public = {
        f"{pname}__{tok}": f"{pname}__{n}" for n, tok in tokens.items() for pname in per_spectrum
    }

    def pub(n):
        return public.get(n, n)

    free_names = [pub(n) for n in linear.names]
    linear.public = free_names
    bounds = {
        pub(n): (float(result.params[n].min), float(result.params[n].max)) for n in linear.names
    }
    values = {pub(n): float(p.value) for n, p in result.params.items()}
    stat = np.sqrt(np.clip(np.diag(linear.cov_stat), 0, None))
    stderr = dict(zip(free_names, stat.tolist(), strict=True))
    correl = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = linear.cov_stat / np.outer(stat, stat)
    for i, a in enumerate(free_names):
        for j in range(i + 1, len(free_names)):
            correl[(a, free_names[j])] = float(corr[i, j])
    ties = {
        f"{pname}__{n}": f"{pname}__{names[owner[k]]}"
        for pname, owner in owners.items()
        for k, n in enumerate(names)
        if owner[k] != k
    }
    for tied, own in ties.items():
        values[tied] = values[own]
        if own in stderr:
            stderr[tied] = stderr[own]
    rms = [float(np.sqrt(np.mean((b - s.data) ** 2))) for b, s in zip(best, spectra, strict=True)]
    fitted_cell, _ = _apply(cell, pols[0], result.params, tokens[names[0]], ())
    return FitResult(
        cell=fitted_cell,
        values=values,
        stderr=stderr,
        correl=correl,
        free=free_names,
        rms=rms,
        redchi=float(result.redchi),
        chisqr=float(result.chisqr),
        nfev=int(result.nfev),
        success=bool(result.success),
        message=str(result.message),
        best_fit=best,
        polarisations=pols,
        spectra=list(spectra),
        lmfit_result=result,
        covariance=linear.cov_stat,
        covariance_nominal=linear.cov0,
        covariance_white=linear.cov_white,
        _linear=linear,
        per_spectrum=per_spectrum,
        ties=ties,
        bounds=bounds,
    )


#: relative step and χ² reduction at which a fit with the intense-probe model stops. 1e-5:
#: on the paper's four series against 1e-6, 1–2 fewer iterations (polishing χ² by parts in
#: 1e5) and no value moved by more than 0.015 of its σ, the budget the same to its digits
#: (their residuals are correlated and χ²/N is 2–21, so σ is far wider than the nominal
#: scale a relative χ² reduction is measured on)
INTENSE_TOLERANCE = 1e-5
#: how far from an intense fit's optimum (in each parameter's statistical σ) its last
#: Jacobian may have been taken and still serve as the linearisation at the optimum. The
#: covariance assumes the model linear over ±1 σ; a Jacobian 0.1 σ away differs from the
#: optimum's by a tenth of that nonlinearity (on the 1.0 mm / 66.5 °C paper series, whose
#: last step moved a shift 0.025 σ: every σ within 0.2 % of central differences there)
JACOBIAN_REUSE_SIGMA = 0.1
#: models kept per spectrum: the base point survives a Jacobian's steps in the shared parameters
_CACHE_PER_SPECTRUM = 24
#: difference step in the field of an ElecSus-mode fit: the lines move by ~3 MHz (see
#: _JointModel.resolution)
ELECSUS_FIELD_STEP_T = 2e-4


class _JointModel:
    """Every spectrum's theory at a set of parameters (lmfit ``Parameters`` or a mapping of
    objects with ``.value``), and the weighted residuals."""

    def __init__(self, spectra, cell, pols, tokens, owners):
        self.spectra = list(spectra)
        self.pols = pols
        self.tokens = tokens
        self.owners = dict(owners)
        self.per_spectrum = tuple(owners)
        self.cells = [cell.with_(**s.cell_overrides) for s in spectra]
        # the FFT grid step is frozen at the start so that the model is smooth in the parameters
        self.steps = [_grid_step(c) for c in self.cells]
        # per spectrum, its last models by the values of the parameters it depends on: a
        # finite-difference step in another spectrum's own parameter (a per-run shift) then
        # costs one spectrum, not all of them
        self._cache: list[dict] = [{} for _ in self.spectra]
        #: the last :meth:`jacobian`: free parameter → value where it was taken, and it
        self._last_jacobian: tuple[dict[str, float], np.ndarray] | None = None

    def _key(self, p, k: int) -> tuple:
        return tuple((n, float(v.value)) for n, v in sorted(p.items()) if self._reads(p, n, k))

    def _reads(self, p, name: str, k: int) -> bool:
        """Whether spectrum k's model reads parameter ``name`` of ``p``: a shared one unless
        the spectrum has its own, and of the per-spectrum and grouped ones only its own or
        its group's (as :func:`_apply` and :meth:`_probe_value` read them). Another run's
        shift, or the shift of the run that carries a group's intensity scale, is not read."""
        quantity, _, token = name.partition("__")
        owner = self.owners.get(quantity)
        if not token:
            return owner is None or f"{quantity}__{self.tokens[owner[k]]}" not in p
        return token == self.tokens[owner[k] if owner is not None else k]

    def _probe_value(self, p, key: str, k: int):
        """Spectrum k's value of probe parameter ``key`` (its own, its group's or the
        shared one), or None."""
        owner = self.owners.get(key, range(len(self.spectra)))[k]
        return _get(p, key, self.tokens[owner], self.per_spectrum)

    def models(self, p, spectra=None, cells=None, only: int | None = None) -> list[np.ndarray]:
        """Model of every spectrum (or, with ``only``, of that one spectrum given alone)."""
        # the fit's own spectra (``residuals`` passes them on) are cached; others are not
        own = spectra is None or spectra is self.spectra
        cacheable = own and cells is None and only is None
        spectra = self.spectra if spectra is None else spectra
        cells = self.cells if cells is None else cells
        out = []
        for j, s in enumerate(spectra):
            k = j if only is None else only
            if cacheable:
                key = self._key(p, k)
                if key in self._cache[k]:
                    out.append(self._cache[k][key])
                    continue
            c, pol = _apply(cells[k], self.pols[k], p, self.tokens[k], self.per_spectrum)
            if s.probe is not None:
                probe = with_probe_parameters(
                    s.probe, lambda name, k=k: self._probe_value(p, name, k)
                )
                arr = intense_arrays(s.detuning_MHz, c, pol, probe)
            else:
                arr = spectrum_arrays(s.detuning_MHz, c, pol, fft_step_MHz=self.steps[k])
            out.append(arr[s.quantity])
            if cacheable:
                cache = self._cache[k]
                if len(cache) >= _CACHE_PER_SPECTRUM:
                    cache.pop(next(iter(cache)))
                cache[key] = out[-1]
        return out

    def residuals(self, p, spectra=None, cells=None, only: int | None = None) -> list[np.ndarray]:
        spectra = self.spectra if spectra is None else spectra
        out = []
        for s, m in zip(spectra, self.models(p, spectra, cells, only), strict=True):
            r = m - np.asarray(s.data, float)
            out.append(r / np.asarray(s.sigma, float) if s.sigma is not None else r)
        return out

    def residual(self, p) -> np.ndarray:
        return np.concatenate(self.residuals(p))

    def jacobian(self, p) -> np.ndarray:
        """d(weighted residuals)/d(parameter) of the free parameters of ``p`` (lmfit
        ``Parameters``, in their order) by forward differences, each with its registry step
        (:func:`mohilbert.parameters.difference_step`; backwards at an upper bound). The
        base point and every spectrum a step leaves unchanged (another run's shift) come
        from the models' cache; a line shift's column is −dM/dΔ of the base models
        (:meth:`translation_column`)."""
        values = {n: _Value(float(q.value)) for n, q in p.items()}
        base = self.residual(values)
        cols = []
        for n, q in p.items():
            if not q.vary:
                continue
            if is_translation(n.split("__")[0]):
                column = self.translation_column(values, n)
                if column is not None:
                    cols.append(column)
                    continue
            x = float(q.value)
            h = difference_step(n.split("__")[0])
            if q.max is not None and x + h > q.max:
                h = -h
            values[n].value = x + h
            cols.append((self.residual(values) - base) / h)
            values[n].value = x
        jac = np.stack(cols, axis=1)
        # a copy: lmfit scales the returned array in place to its bound-transformed variables
        self._last_jacobian = ({n: float(q.value) for n, q in p.items() if q.vary}, jac.copy())
        return jac

    def last_jacobian(self, p) -> tuple[np.ndarray, np.ndarray] | None:
        """The last :meth:`jacobian` and how far each free parameter of ``p`` (lmfit
        ``Parameters``, the same free ones) is from where it was taken, or None (none taken,
        other parameters, not finite). A fit that ends on its last accepted step ends where
        its last Jacobian was taken, or a step short of it."""
        if self._last_jacobian is None:
            return None
        point, jac = self._last_jacobian
        names = [n for n, q in p.items() if q.vary]
        if list(point) != names or not np.all(np.isfinite(jac)):
            return None
        return jac, np.array([float(p[n].value) - point[n] for n in names])

    def translation_column(self, values, name: str) -> np.ndarray | None:
        """d(weighted residuals)/d(``name``) for a parameter the model depends on only through
        Δ − value (:attr:`mohilbert.parameters.Parameter.translation`): −dM/dΔ of each
        spectrum that depends on it, from its model at ``values`` (cached; second-order
        differences on the spectrum's own detunings, which resolve the lines: a run's
        points are MHz apart, its features hundreds), zero for the spectra that do not read
        it. ``None`` when a spectrum's detunings do not increase (the caller takes a
        difference step)."""
        models = self.models(values)
        parts = []
        for k, (s, m) in enumerate(zip(self.spectra, models, strict=True)):
            if not self._reads(values, name, k):
                parts.append(np.zeros(m.size))
                continue
            x = np.asarray(s.detuning_MHz, float)
            if x.size < 3 or not np.all(np.diff(x) > 0):
                return None
            d = -np.gradient(np.asarray(m, float), x, edge_order=2)
            parts.append(d / np.asarray(s.sigma, float) if s.sigma is not None else d)
        return np.concatenate(parts)

    @property
    def intense(self) -> bool:
        """Some spectrum is modelled with the intense probe (:mod:`mohilbert.intense`)."""
        return any(s.probe is not None for s in self.spectra)

    @property
    def staircase_in_field(self) -> bool:
        """ElecSus mode: whole-MHz line positions make the model a staircase in B."""
        return any(c.conventions == "elecsus" for c in self.cells)

    def resolution(self, name: str) -> float:
        """Smallest difference step [the parameter's unit] over which the model is smooth in
        parameter ``name``: 0, except for the field in ElecSus mode, whose whole-MHz line
        positions make the model a staircase in B; a step moving the lines by a few MHz
        (≈ 1.4 MHz/G) spans several stairs and is still far inside the linear regime (lines
        hundreds of MHz wide)."""
        if name.split("__")[0] == "field_T" and self.staircase_in_field:
            return ELECSUS_FIELD_STEP_T
        return 0.0


class _Value:
    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value


class _Linearised:
    """The joint model linearised at the optimum: Jacobian of the weighted residuals by
    central differences (steps of 0.05 of lmfit's standard errors), or an intense-probe
    fit's own last Jacobian when it was taken at the optimum (:meth:`_JointModel.last_jacobian`),
    covariances, and the first-order response of the parameters to changed inputs."""

    def __init__(self, model: _JointModel, params):
        self.model = model
        self.best = {n: _Value(float(p.value)) for n, p in params.items()}
        self.names = [n for n, p in params.items() if p.vary]
        self.public = list(self.names)
        self.r0 = model.residuals(self.best)
        # an intense-probe fit's own last Jacobian, when the fit ended within a hundredth of
        # the statistical σ of where it was taken: the dearest part of the linearisation
        # (2 model evaluations per shared parameter) otherwise repeated at 0.05 σ
        last = model.last_jacobian(params)
        if last is not None:
            jac, moved = last
            self._set_jacobian(jac)
            sd = np.sqrt(np.clip(np.diag(self.cov_stat), 0, None))
            if np.all(np.abs(moved) <= JACOBIAN_REUSE_SIGMA * sd):
                return
        cols = []
        for n in self.names:
            p = params[n]
            scale = p.stderr if p.stderr and np.isfinite(p.stderr) else 1e-4 * max(abs(p.value), 1)
            # a floor: an exact fit (noise-free data) has a standard error near 0
            h = max(0.05 * scale, model.resolution(n), 1e-9 * max(abs(p.value), 1))
            lo, hi = p.value - h, p.value + h
            if p.min is not None and lo < p.min:  # one-sided at a bound
                lo = p.value
            if p.max is not None and hi > p.max:
                hi = p.value
            self.best[n].value = hi
            up = np.concatenate(model.residuals(self.best))
            self.best[n].value = lo
            down = np.concatenate(model.residuals(self.best))
            self.best[n].value = float(p.value)
            cols.append((up - down) / (hi - lo))
        self._set_jacobian(
            np.stack(cols, axis=1) if cols else np.zeros((sum(map(len, self.r0)), 0))
        )

    def _set_jacobian(self, jac: np.ndarray) -> None:
        """The Jacobian at the optimum and the covariances that follow from it."""
        self.jac = jac
        try:
            self.cov0 = np.linalg.inv(self.jac.T @ self.jac)
        except np.linalg.LinAlgError:
            self.cov0 = np.full((len(self.names),) * 2, np.nan)
        sizes = np.cumsum([0] + [r.size for r in self.r0])
        blocks = [self.jac[a:b] for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        white = [_white_fraction(s) for s in self.model.spectra]
        self.cov_stat = statistical_covariance(blocks, self.r0, self.cov0, white)
        self.cov_white = white_noise_covariance(blocks, self.cov0, white)

    def data_response(self, k: int) -> np.ndarray:
        """d(parameters)/d(data) of spectrum k: a (free parameters × points) matrix."""
        sizes = np.cumsum([0] + [r.size for r in self.r0])
        sigma = self.model.spectra[k].sigma
        jac = self.jac[sizes[k] : sizes[k + 1]]
        w = 1.0 / np.asarray(sigma, float) if sigma is not None else 1.0
        return self.cov0 @ (jac * np.reshape(w, (-1, 1))).T

    def response(self, spectra=None, cells=None) -> dict[str, float]:
        if cells is not None:
            r1 = self.model.residuals(self.best, spectra, cells)
        else:
            # only what changed is evaluated: a spectrum with its own detuning array and new
            # data needs no model evaluation at all
            r1 = []
            for k, new in enumerate(spectra if spectra is not None else self.model.spectra):
                old = self.model.spectra[k]
                if new is old:
                    r1.append(self.r0[k])
                elif new.detuning_MHz is old.detuning_MHz and new.sigma is old.sigma:
                    w = 1.0 / np.asarray(old.sigma, float) if old.sigma is not None else 1.0
                    r1.append(self.r0[k] - (np.asarray(new.data) - np.asarray(old.data)) * w)
                else:
                    r1.append(self.model.residuals(self.best, [new], None, only=k)[0])
        delta = np.concatenate(r1) - np.concatenate(self.r0)
        dp = -self.cov0 @ (self.jac.T @ delta)
        return dict(zip(self.public, dp.tolist(), strict=True))


def exponential_kernel_apply(x: np.ndarray, a: np.ndarray, length: float) -> np.ndarray:
    r"""``a @ K`` with :math:`K_{ij} = \exp(-|x_i - x_j|/\ell)` for sorted ``x``, in O(N).

    Parameters
    ----------
    x
        Increasing positions (N,).
    a
        (p, N) matrix.
    length
        Correlation length ℓ (units of x).
    """
    decay = np.exp(-np.diff(x) / length)
    fwd = np.empty_like(a)
    bwd = np.empty_like(a)
    fwd[:, 0] = a[:, 0]
    for i in range(1, x.size):
        fwd[:, i] = a[:, i] + decay[i - 1] * fwd[:, i - 1]
    bwd[:, -1] = a[:, -1]
    for i in range(x.size - 2, -1, -1):
        bwd[:, i] = a[:, i] + decay[i] * bwd[:, i + 1]
    return fwd + bwd - a


def residual_bandwidth(r: np.ndarray) -> int:
    r"""Correlation length of a residual series in points (Sokal's automatic window).

    The integrated autocorrelation time :math:`\tau(M) = 1 + 2\sum_{l=1}^{M}\rho_l`, with
    the window M the smallest lag for which :math:`M \ge 5\,\tau(M)`; capped at N/4.
    White residuals give 1.
    """
    r = np.asarray(r, float) - np.mean(r)
    n = r.size
    if n < 8 or not np.any(r):
        return 1
    f = np.fft.rfft(r, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n]
    acf = acf / acf[0]
    tau = 1 + 2 * np.cumsum(acf[1:])
    lags = np.arange(1, n)
    ok = np.flatnonzero(lags >= 5 * tau)
    m = int(lags[ok[0]]) if ok.size else n // 4
    return int(min(max(m, 1), n // 4))


def _white_fraction(s: FitSpectrum) -> np.ndarray | None:
    """Per point, the independent share of the stated variance, (σ_white/σ)², or None."""
    if s.sigma_white is None or s.sigma is None:
        return None
    sigma = np.asarray(s.sigma, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (np.asarray(s.sigma_white, float) / sigma) ** 2
    return np.clip(np.where(np.isfinite(f), f, 1.0), 0.0, 1.0)


def statistical_covariance(jac_blocks, residuals, cov0, white=None) -> np.ndarray:
    r"""Parameter covariance that believes the residuals rather than the stated noise.

    The sandwich (heteroscedasticity- and autocorrelation-consistent, Newey–West) estimator
    :math:`H^{-1} S H^{-1}` with :math:`H = J^T J` and
    :math:`S = \sum_s \sum_{|l| \le L_s} w_l \sum_i g_{s,i} g_{s,i+l}^T`,
    :math:`g_{s,i} = J_{s,i} r_{s,i}`, Bartlett weights :math:`w_l = 1 - |l|/(L_s + 1)` and a
    bandwidth of twice each spectrum's residual correlation length (:func:`residual_bandwidth`).
    For white residuals with the stated noise it equals :math:`H^{-1}`; a reduced χ² above 1
    scales it by χ²_red, and residual structure (model mismatch, drifts) that is correlated
    over L points by about L. It is never smaller than the covariance the stated independent
    noise alone gives (a floor along each parameter's axis: residuals that scatter less do
    not shrink the error bar): :math:`H^{-1}` when all the stated noise is independent, else
    :math:`H^{-1} J^T F J H^{-1}` with :math:`F` the independent share of each point's
    stated variance. A shared error (a baseline's, a dark level's) is not independent noise:
    counted in the floor as if it were, it would give a line position (the field) 2–4× the
    error its residuals show, and it is in the caller's systematic terms already.

    Parameters
    ----------
    jac_blocks : list of numpy.ndarray
        Per spectrum, the Jacobian of its weighted residuals (points × free parameters).
    residuals : list of numpy.ndarray
        Per spectrum, its weighted residuals at the optimum.
    cov0 : numpy.ndarray
        (JᵀJ)⁻¹, the covariance from the stated point uncertainties alone.
    white : list of (numpy.ndarray or None), optional
        Per spectrum, the independent share of each point's stated variance (0–1); None:
        all of it.
    """
    p = cov0.shape[0]
    meat = np.zeros((p, p))
    for jac, r in zip(jac_blocks, residuals, strict=True):
        g = jac * r[:, None]
        meat += g.T @ g
        bw = 2 * residual_bandwidth(r)
        for lag in range(1, min(bw, r.size - 1) + 1):
            w = 1 - lag / (bw + 1)
            c = g[:-lag].T @ g[lag:]
            meat += w * (c + c.T)
    cov = cov0 @ meat @ cov0
    # floor at the covariance of the stated independent noise along each parameter's own axis
    floor = white_noise_covariance(jac_blocks, cov0, white)
    d0, d = np.diag(floor), np.diag(cov)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.sqrt(np.maximum(d0 / d, 1.0))
    factor = np.where(np.isfinite(factor), factor, 1.0)
    return cov * np.outer(factor, factor)


def white_noise_covariance(jac_blocks, cov0, white=None) -> np.ndarray:
    r"""Covariance of the free parameters from the stated independent noise alone:
    :math:`H^{-1} J^T F J H^{-1}`, :math:`F` the independent share of each point's stated
    variance (:math:`H^{-1}` = ``cov0`` when all of it is independent); the floor of
    :func:`statistical_covariance`.

    Parameters
    ----------
    jac_blocks : list of numpy.ndarray
        Per spectrum, the Jacobian of its weighted residuals (points × free parameters).
    cov0 : numpy.ndarray
        (JᵀJ)⁻¹, the covariance from the stated point uncertainties alone.
    white : list of (numpy.ndarray or None), optional
        Per spectrum, the independent share of each point's stated variance (0–1); None:
        all of it.
    """
    if white is None or all(f is None for f in white):
        return cov0
    p = cov0.shape[0]
    info = np.zeros((p, p))
    for jac, f in zip(jac_blocks, white, strict=True):
        info += jac.T @ (jac if f is None else jac * f[:, None])
    return cov0 @ info @ cov0


def _grid_step(cell: Cell) -> float:
    from mohilbert.atoms.susceptibility import default_fft_step

    return default_fft_step(cell.medium())


def _get(p, key: str, name: str, per_spectrum: Sequence[str]):
    """Value of parameter ``key`` for spectrum ``name`` (its own if per-spectrum), or None."""
    if key in per_spectrum and f"{key}__{name}" in p:
        return p[f"{key}__{name}"].value
    if key in p:
        return p[key].value
    return None


def _apply(cell: Cell, pol, p, name: str, per_spectrum: Sequence[str]):
    """Cell and polarisation with the parameter values of ``p`` applied."""

    def get(key):
        return _get(p, key, name, per_spectrum)

    changes = {k: float(get(k)) for k in CELL_PARAMETERS if get(k) is not None}
    changes.update({k: float(v.value) for k, v in p.items() if k.startswith("percent_")})
    if (
        get("jones_x") is not None
        or get("jones_y") is not None
        or get("jones_phase_rad") is not None
    ):
        start = _start_values(cell, pol)
        ex = get("jones_x") if get("jones_x") is not None else start["jones_x"]
        ey = get("jones_y") if get("jones_y") is not None else start["jones_y"]
        ph = (
            get("jones_phase_rad")
            if get("jones_phase_rad") is not None
            else start["jones_phase_rad"]
        )
        pol = np.array([ex, ey * np.exp(1j * ph)])
    return cell.with_fitted(changes), pol
