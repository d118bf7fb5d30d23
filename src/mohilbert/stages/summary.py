"""The summary stage: the campaign's results as one tidy table (``results/summary.csv``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from mohilbert import gates as quality
from mohilbert.formatting import rounded
from mohilbert.parameters import unit
from mohilbert.products import FitAttrs, HilbertAttrs
from mohilbert.records import parameter_parts
from mohilbert.stages.fit import BUDGET_TERMS


def summary_table(
    fits: dict[str, xr.Dataset], hilberts: dict[str, xr.Dataset], gates: dict | None = None
) -> pd.DataFrame:
    """The campaign's results as a tidy table: one row per (experiment, run, quantity).

    Columns: ``experiment``, ``run`` (empty for a quantity shared by the experiment's runs),
    ``quantity``, ``value``, ``uncertainty`` (total, 1 σ; empty where none applies),
    ``unit``, one ``u_<term>`` column per uncertainty-budget term
    (:data:`BUDGET_TERMS`), and ``warnings`` (the quality gates' warnings that concern the
    row: a run's calibration warnings on its rows, the fit's on the fitted parameters).
    Quantities: every fitted parameter, the fit's reduced χ², each run's measured etalon FSR
    where the calibration fitted the axis scale, and the Hilbert analysis' agreement metrics.
    Experiments of one cell that disagree get the consistency gate's warning
    (:func:`mohilbert.gates.consistency_warnings`, thresholds ``gates.summary``); the weak-probe
    fit of a run its power series found beyond the weak probe (the Hilbert stage's
    ``hilbert.saturated_runs`` note) is biased by design and compared with nothing.

    Parameters
    ----------
    fits : dict of str to xarray.Dataset
        Experiment → its fit file.
    hilberts : dict of str to xarray.Dataset
        Experiment → its Hilbert file.
    gates : dict, optional
        ``gates.summary`` thresholds (the consistency gate).
    """
    terms = list(BUDGET_TERMS)
    rows = []
    shared = {}
    for exp, fit in fits.items():
        parts = parameter_parts(fit)
        nominal = FitAttrs.from_dataset(fit).nominal_json
        shared[exp] = {
            # the cell and nominal values; unknown: compared with nothing
            "cell": json.dumps(nominal, sort_keys=True) if nominal else exp,
            "values": {
                q: (
                    float(fit["value"].values[k]),
                    float(fit["stderr_total"].values[k]),
                    unit(q),
                )
                for k, (q, r) in enumerate(parts)
                if not r and (fit["vary"].values[k] if "vary" in fit else True)
            },
        }
    # a weak-probe fit of a run its power series found beyond the weak probe is biased by
    # design (the note says so; the series fit is its answer): compared with nothing
    for exp, hil in hilberts.items():
        notes = quality.read(hil.attrs, "note")
        if exp in shared and any(w.gate == "hilbert.saturated_runs" for w in notes):
            shared[exp]["cell"] = exp
    across = quality.consistency_warnings(shared, quality.thresholds("summary", {"gates": gates}))

    def add(exp, run, quantity, value, unit, uncertainty=np.nan, budget=None, warnings=()):
        row = {
            "experiment": exp,
            "run": run,
            "quantity": quantity,
            "value": value,
            "uncertainty": uncertainty,
            "unit": unit,
        }
        for k, t in enumerate(terms):
            row[f"u_{t}"] = budget[k] if budget is not None else np.nan
        row["warnings"] = " | ".join(str(w) for w in warnings)
        rows.append(row)

    for exp in sorted(set(fits) | set(hilberts)):
        fit, hil = fits.get(exp), hilberts.get(exp)
        # the faults and doubts; the notes (what the analysis did) are the report's
        warnings = quality.read(hil.attrs if hil is not None else fit.attrs, "warning")
        run_warn = {}
        if fit is not None:
            attrs = FitAttrs.from_dataset(fit)
            run_warn = {r: [w for w in warnings if w.run == r] for r in attrs.runs}
            exp_warn = [w for w in warnings if not w.run] + across.get(exp, [])
            parts = parameter_parts(fit)
            vary = fit["vary"].values if "vary" in fit else np.ones(len(parts))
            for k, (base, run) in enumerate(parts):
                if not vary[k]:
                    continue
                budget = fit["budget"].values[k] if "budget" in fit else None
                add(
                    exp,
                    run,
                    base,
                    float(fit["value"].values[k]),
                    unit(base),
                    float(fit["stderr_total"].values[k]),
                    budget,
                    exp_warn + run_warn.get(run, []),
                )
            add(
                exp,
                "",
                "fit_reduced_chi_square",
                attrs.redchi,
                "1",
                warnings=exp_warn,
            )
            for run, fsr in attrs.etalon_fsr_json.items():
                if np.isfinite(fsr.get("fitted_MHz", np.nan)):
                    add(
                        exp,
                        run,
                        "etalon_fsr_fitted",
                        fsr["fitted_MHz"],
                        "MHz",
                        fsr["fitted_uncertainty_MHz"],
                        warnings=run_warn.get(run, []),
                    )
        if hil is not None:
            for name, vals in HilbertAttrs.from_dataset(hil).metrics_json.items():
                for k, v in vals.items():
                    angle = name.startswith(("rotation", "retardance")) and k in ("rms", "max")
                    add(exp, "", f"{name}_{k}", v, "rad" if angle else "1")
    columns = ["experiment", "run", "quantity", "value", "uncertainty", "unit"]
    table = pd.DataFrame(rows, columns=columns + [f"u_{t}" for t in terms] + ["warnings"])
    # each value with the digits its uncertainty needs, as the report and the figures print it
    pairs = [rounded(v, u) for v, u in zip(table["value"], table["uncertainty"], strict=True)]
    if pairs:
        table["value"], table["uncertainty"] = (list(c) for c in zip(*pairs, strict=True))
    return table
