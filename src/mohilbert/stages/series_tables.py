"""The power-series tables of a campaign: the fitted values of every series with their
budgets (``results/series_table.csv``) and the line-centre points of every series
(``results/series_line_centre.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mohilbert.formatting import rounded
from mohilbert.products import FitAttrs
from mohilbert.records import parameter_parts, parameter_ties


def line_centre_table(points: dict) -> pd.DataFrame:
    """The line-centre points of every series as one table (tidy: one row per run and line,
    with ``series``; the data's α and the model's, each with its standard uncertainty).

    Parameters
    ----------
    points : dict
        Series name → its :class:`~mohilbert.stages.line_centre.LineCentre`.
    """
    frames = [lc.points.assign(series=name) for name, lc in sorted(points.items())]
    out = pd.concat(frames, ignore_index=True)
    cols = ["series", "run", "line", "probe_power_W", "saturation", "alpha", "alpha_u"]
    cols += ["model", "model_u", "pull", "detector_response", "detector_setting"]
    cols += ["intensity_ratio", "intensity_ratio_uncertainty"]
    return out[cols].rename(
        columns={
            "saturation": "saturation_parameter",
            "alpha": "alpha_per_m",
            "alpha_u": "alpha_uncertainty_per_m",
            "model": "alpha_model_per_m",
            "model_u": "alpha_model_uncertainty_per_m",
            "detector_response": "detector_response_V_per_W",
        }
    )


def series_table(fits: dict[str, xr.Dataset]) -> pd.DataFrame:
    """Fitted shared parameters of each series with their uncertainty budgets (tidy); a
    parameter fitted per detection setting has a row per setting, ``runs`` naming its runs in
    order of power (empty for a parameter shared by all). Each value and its total uncertainty
    carry the digits the uncertainty needs (:func:`mohilbert.formatting.rounded`, as
    ``summary.csv``, the report and the figures print them)."""
    rows = []
    for name, fit in sorted(fits.items()):
        attrs = FitAttrs.from_dataset(fit)
        terms = attrs.budget_terms_json
        names = fit["parameter"].values.tolist()
        parts = parameter_parts(fit)
        ties = parameter_ties(fit)
        grouped = set(attrs.per_detection_setting)
        power = (
            dict(zip(fit["run"].values.tolist(), fit["probe_power_W"].values, strict=True))
            if "probe_power_W" in fit
            else {}
        )
        first = {}
        for i, (q, _) in enumerate(parts):
            first.setdefault(q, i)
        # rows in the order of the quantities, a quantity's settings in order of power
        order = sorted(
            range(len(names)), key=lambda i: (first[parts[i][0]], power.get(parts[i][1], 0.0))
        )
        for i in order:
            p = names[i]
            quantity, run = parts[i]
            if run and (quantity not in grouped or p in ties):
                continue  # a per-run parameter, or one of a group other than its first
            members = [run] + [parts[names.index(t)][1] for t, o in ties.items() if o == p]
            row = {
                "series": name,
                "quantity": quantity,
                "runs": ", ".join(sorted(members, key=lambda r: (power.get(r, np.inf), r)))
                if run
                else "",
                # the digits its uncertainty needs, as the report and the figures print it
                **dict(
                    zip(
                        ("value", "uncertainty"),
                        rounded(
                            float(fit["value"].values[i]), float(fit["stderr_total"].values[i])
                        ),
                        strict=True,
                    )
                ),
                "unit": str(fit["unit"].values[i]),
            }
            for j, term in enumerate(terms):
                row[f"u_{term}"] = float(fit["budget"].values[i, j])
            rows.append(row)
        rows.append(
            {
                "series": name,
                "quantity": "weak_probe_limit_saturation",
                "runs": "",
                "value": attrs.weak_probe_limit_saturation,
                "uncertainty": np.nan,
                "unit": "1",
            }
        )
    return pd.DataFrame(rows)
