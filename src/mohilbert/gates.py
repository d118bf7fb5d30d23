"""Quality gates: checks of each stage's result against physics, with thresholds from the config.

A *hard* gate stops the run with one line naming the likely cause (a
:class:`~mohilbert.errors.CalibrationError`; other runs go on under ``--keep-going``). A *soft*
gate is a warning, a :class:`GateWarning` record (what it concerns, which gate, the one-line
message): stored in the result file's ``warnings`` attribute (a JSON list of the records),
written to the rule's log, and shown by ``summary`` and the report next to the numbers it
concerns (a run's warning on that run's rows, found by its ``run``, not by its wording).

Thresholds (``gates:`` in ``config/config.yaml``; defaults in :data:`DEFAULTS`):

calibrate
    ``axis_scale_stop_factor``: stop when the spectrum matches a frequency axis stretched by
    more than this factor (either way) better than the sheet's; ``axis_scale_tolerance``: warn
    when a fitted axis scale is outside 1 ± this and 3 of its standard errors (the etalon FSR
    in the sheet is off), where the axis model describes the run (below: a saturated run's
    scale fitted with the weak-probe theory bends with its line shapes, 0.3–2 % on the real
    series, and says nothing of the etalon; the same series' weak runs judge the FSR);
    ``linearisation_rms_MHz``: warn when the fringe residuals exceed this (default 6 MHz, the
    natural linewidth of the alkali D lines: below it the axis error, which the budget carries
    as its linearisation term, places every feature of the spectrum within its own width; a
    mode hop or vibration left in the scan is far above it);
    ``scan_fraction_min``: warn when less than this fraction of the record is kept and the
    kept stretch lost some of the cell's strong lines (the theory's absorption peaks of at
    least a tenth of the strongest): a stretch that holds them all is the sweep's shape;
    ``absolute_fit_redchi``: warn when the absolute-axis fit's reduced χ² exceeds this,
    against the channel's whole noise (white per sample, and for a self-calibration the
    correlated scatter measured where the cell is transparent); not for a self-calibrated run
    with a probe power (its axis fitted with the weak-probe theory, or the intense-probe theory
    at the sheet's power, temperature and field: its saturated lines are physics, and its
    power series judges it against the intense-probe model it fits).
fit
    ``redchi``: warn when the joint fit's reduced χ² exceeds this;
    ``bound_sigma``: warn when a free parameter ends within this many of its statistical
    standard errors of a bound of the fit's search range that is not a limit of its domain
    (:attr:`mohilbert.parameters.Parameter.domain`: no buffer gas, no light in the other
    mode are physics): the data's optimum lies beyond the range, so the value and its error
    are the bound's (a simulated series started at a field 5 % off ended with every run's
    offset on its ±500 MHz bound);
    ``weak_probe_delta_chi2``: in a power series, a run's weak-probe model differs from its
    intense-probe fit by more than this Δχ² (its noise tells them apart): the weak-probe
    assumption does not hold for it (warned; the Hilbert analysis refuses or linearises it).
hilbert
    ``indirect_vs_direct_rms_pull``: warn when the rotation (retardance) from the Hilbert
    transforms and from the polarimeter disagree by more than this RMS pull.
summary
    ``consistency_sigma``: warn when two experiments of one cell (the same sheet values of
    cell, geometry and nominal parameters) disagree on a shared fitted parameter by more than
    this many combined standard uncertainties.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from mohilbert.config import schema_defaults
from mohilbert.parameters import domain, unit
from mohilbert.products import CalibratedAttrs

#: every gate's threshold: ``gates:`` of the configuration schema (its one home)
DEFAULTS = {
    stage: schema_defaults("gates", stage) for stage in ("calibrate", "fit", "hilbert", "summary")
}


def thresholds(stage: str, config: dict | None) -> dict:
    """The stage's gate thresholds: the config's values over :data:`DEFAULTS`."""
    return {**DEFAULTS[stage], **((config or {}).get("gates") or {})}


@dataclass(frozen=True)
class GateWarning:
    """One soft gate's warning.

    Attributes
    ----------
    subject : str
        What it concerns, as the message names it first: ``"run X"``, ``"experiment E"``,
        ``"series S"``, ``"runs a, b"``.
    gate : str
        The gate, ``<stage>.<threshold>`` of ``gates:`` in the configuration, or the stage's
        check (``series.shared_dark``, ``hilbert.saturated_runs``, ...).
    message : str
        The one line a user reads (it starts with the subject).
    severity : str
        ``"warning"``: a fault or a doubt about the numbers, stated next to them;
        ``"note"``: what the analysis found and did about it where the data are good (a run
        beyond the weak probe, its optical depth linearised), listed apart so that a warning
        means a fault.
    """

    subject: str
    gate: str
    message: str
    severity: str = "warning"

    @property
    def run(self) -> str:
        """The run the warning concerns ("" when it concerns an experiment, a series or
        several runs)."""
        return self.subject[4:] if self.subject.startswith("run ") else ""

    def __str__(self) -> str:
        return self.message

    @classmethod
    def of(cls, item) -> GateWarning:
        """A record from its stored form (files written before the records: the message
        alone, its subject the words before the first colon)."""
        if isinstance(item, GateWarning):
            return item
        if isinstance(item, dict):
            return cls(**item)
        text = str(item)
        return cls(text.partition(":")[0] if ":" in text else "", "", text)


def calibration_warnings(run: str, attrs: dict, gates: dict) -> list[GateWarning]:
    """Soft gates of one calibrated run, from its attributes (see :data:`DEFAULTS`).

    Parameters
    ----------
    run : str
        Run id.
    attrs : dict
        The calibrated file's attributes (the calibration numbers).
    gates : dict
        ``gates.calibrate`` thresholds (:func:`thresholds`).
    """
    a = CalibratedAttrs.from_attrs(attrs)
    subject = f"run {run}"
    out = []
    # against the channel's whole noise (files before it: the white noise alone)
    chi = a.absolute_fit_redchi_total
    if not math.isfinite(chi):
        chi = a.absolute_fit_redchi_noise
    # a self-calibrated run with a probe power is not described by the theory its axis was
    # fitted with where it saturates (physics, not a fault): its series fit judges it against
    # the intense-probe model (fit.redchi, series.intensity_ratio)
    judged_by_series = math.isfinite(a.probe_power_W) and a.absolute_method == "self"
    described = not chi > gates["absolute_fit_redchi"]  # (no absolute fit: NaN, not judged)
    if a.axis_scale_fitted and (described or not judged_by_series):
        scale, err = a.axis_scale, a.axis_scale_stderr
        off = abs(scale - 1)
        if off > gates["axis_scale_tolerance"] and not off <= 3 * err:
            fsr = a.etalon_fsr_sheet_MHz
            out.append(
                GateWarning(
                    subject,
                    "calibrate.axis_scale_tolerance",
                    f"run {run}: the fitted axis scale {scale:.5f} ± {err:.5f} says the etalon FSR "
                    f"is {fsr * scale:.2f} ± {fsr * err:.2f} MHz, not the sheet's {fsr:g} MHz "
                    f"(outside ±{100 * gates['axis_scale_tolerance']:g} %): update etalon_fsr_MHz",
                )
            )
    rms = a.linearisation_rms_MHz
    if rms > gates["linearisation_rms_MHz"]:
        out.append(
            GateWarning(
                subject,
                "calibrate.linearisation_rms_MHz",
                f"run {run}: the etalon fringes deviate from the linearised scan by {rms:.2g} MHz "
                f"RMS (gate {gates['linearisation_rms_MHz']:g} MHz): the scan is irregular (mode "
                "hops, vibration) or the etalon trace is noisy",
            )
        )
    kept, lines = a.scan_fraction_kept, a.scan_lines_covered
    # a short regular stretch that still holds every strong line of the cell is the sweep's
    # shape (its return and turnarounds cut), not a loss; files before: the fraction alone
    if kept < gates["scan_fraction_min"] and not lines >= 1.0:
        held = (
            f" and it holds {100 * lines:.0f} % of the cell's strong lines"
            if math.isfinite(lines)
            else ""
        )
        out.append(
            GateWarning(
                subject,
                "calibrate.scan_fraction_min",
                f"run {run}: only {100 * kept:.0f} % of the record is a regular scan (gate "
                f"{100 * gates['scan_fraction_min']:.0f} %){held}; cuts: "
                f"{a.calibration_segment_cuts}",
            )
        )
    if not described and not judged_by_series:
        out.append(
            GateWarning(
                subject,
                "calibrate.absolute_fit_redchi",
                f"run {run}: the {a.absolute_method} theory describes its channel with reduced "
                f"chi-square {chi:.3g} (gate {gates['absolute_fit_redchi']:g}): check the "
                "element, line, etalon_fsr_MHz, reference-cell length and temperature, and the "
                "channel",
            )
        )
    return out


def fit_warnings(label: str, redchi: float, gates: dict) -> list[GateWarning]:
    """Soft gate of a joint fit: its reduced χ² (``label``: "experiment X" or "series Y").

    Parameters
    ----------
    label : str
        How messages name the fitted runs.
    redchi : float
        The fit's reduced χ².
    gates : dict
        ``gates.fit`` thresholds.
    """
    if redchi > gates["redchi"]:
        return [
            GateWarning(
                label,
                "fit.redchi",
                f"{label}: the theory fits the data with reduced chi-square "
                f"{redchi:.3g} (gate {gates['redchi']:g}): the model does not describe the data "
                "within their noise; the statistical errors are scaled up for it, but a "
                "systematic difference (probe power, optical pumping, a wrong cell parameter) "
                "may remain",
            )
        ]
    return []


def bound_warnings(
    label: str,
    values: dict[str, float],
    stderr: dict[str, float],
    bounds: dict[str, tuple[float, float]],
    gates: dict,
) -> list[GateWarning]:
    """Soft gate of a fit: a free parameter on a bound of its search range.

    Parameters
    ----------
    label : str
        How messages name the fitted runs ("experiment X", "series Y").
    values, stderr : dict
        Free parameter → best-fit value and statistical standard error (its unit).
    bounds : dict
        Free parameter → the (lower, upper) bound the fit searched within
        (:attr:`mohilbert.fitting.FitResult.bounds`).
    gates : dict
        ``gates.fit`` thresholds (``bound_sigma``).
    """
    out = []
    for name, (lo, hi) in bounds.items():
        quantity = name.partition("__")[0]
        value, err = values[name], stderr.get(name, math.nan)
        near = max(float(gates["bound_sigma"]) * err, 1e-9 * (hi - lo)) if err > 0 else 0.0
        edge = domain(quantity)
        hit = [b for b in (lo, hi) if abs(value - b) <= near and b not in edge]
        if not hit:
            continue
        u = unit(quantity)
        u = "" if u == "1" else f" {u}"
        out.append(
            GateWarning(
                label,
                "fit.bound_sigma",
                f"{label}: {name} ended on the bound {hit[0]:g}{u} of its search range "
                f"({value:.6g} ± {err:.2g}{u}, within {gates['bound_sigma']:g} sigma of it): the "
                "data's optimum lies beyond the range, so the value and its error are the "
                "bound's, not the data's; a start far from the truth (the sheet's field or "
                "temperature) or a model that does not describe these runs",
            )
        )
    return out


def hilbert_warnings(experiment: str, metrics: dict, gates: dict) -> list[GateWarning]:
    """Soft gate of a Hilbert analysis: indirect vs direct (polarimeter) agreement.

    Parameters
    ----------
    experiment : str
        Experiment id.
    metrics : dict
        The agreement metrics of the Hilbert analysis.
    gates : dict
        ``gates.hilbert`` thresholds.
    """
    out = []
    for name, m in metrics.items():
        if (
            name.endswith("_indirect_vs_direct")
            and m.get("rms_pull", 0) > gates["indirect_vs_direct_rms_pull"]
        ):
            qty = name.removesuffix("_indirect_vs_direct")
            out.append(
                GateWarning(
                    f"experiment {experiment}",
                    "hilbert.indirect_vs_direct_rms_pull",
                    f"experiment {experiment}: the {qty} from the Hilbert transforms and from "
                    f"the polarimeter disagree (RMS pull {m['rms_pull']:.3g}, gate "
                    f"{gates['indirect_vs_direct_rms_pull']:g})",
                )
            )
    return out


def consistency_warnings(results: dict[str, dict], gates: dict) -> dict[str, list[GateWarning]]:
    """Soft gate across experiments of one cell: for each parameter, one warning naming every
    experiment of the cell in a pair that differs by more than ``consistency_sigma`` (the
    most distant pair and, for more than two, the range of values), not one per pair (a power
    series of 17 weak-probe fits would give hundreds).

    Parameters
    ----------
    results
        Experiment → ``{"cell": <hashable description of cell and nominal values>,
        "values": {parameter: (value, total uncertainty, unit)}}``.
    gates
        ``consistency_sigma``: the largest difference [combined σ] not warned about.

    Returns
    -------
    dict
        Experiment → warnings that concern it.
    """
    out: dict[str, list[GateWarning]] = {e: [] for e in results}
    cells: dict[str, list[str]] = {}
    for name in sorted(results):
        cells.setdefault(results[name]["cell"], []).append(name)
    for members in cells.values():
        pars = sorted({p for m in members for p in results[m]["values"]})
        for par in pars:
            have = [m for m in members if par in results[m]["values"]]
            involved: set[str] = set()
            worst = (0.0, None, None)
            for i, a in enumerate(have):
                va, ua, _ = results[a]["values"][par]
                for b in have[i + 1 :]:
                    vb, ub, _ = results[b]["values"][par]
                    z = abs(vb - va) / max((ua**2 + ub**2) ** 0.5, 1e-300)
                    if z > gates["consistency_sigma"]:
                        involved |= {a, b}
                        if z > worst[0]:
                            worst = (z, a, b)
            if not involved:
                continue
            z, a, b = worst
            (va, ua, unit), (vb, ub, _) = results[a]["values"][par], results[b]["values"][par]
            names = sorted(involved)
            who = " and ".join(names) if len(names) == 2 else ", ".join(names)
            spread = ""
            if len(names) > 2:
                vals = [results[m]["values"][par][0] for m in names]
                spread = (
                    f"; {len(names)} experiments, from {min(vals):.6g} to {max(vals):.6g} "
                    f"{unit}, the most distant {a} and {b}"
                )
            msg = (
                f"experiments {who} describe one cell (the same sheet values) but their {par} "
                f"differ by {'up to ' if len(names) > 2 else ''}{z:.1f} sigma ({va:.6g} ± "
                f"{ua:.2g} vs {vb:.6g} ± {ub:.2g} {unit}{spread}): a systematic effect their "
                "uncertainty budgets do not hold, e.g. the probe power (optical pumping and "
                "saturation bias a weak-probe fit) or a cell that changed between them"
            )
            for m in names:
                out[m].append(GateWarning(f"experiment {m}", "summary.consistency_sigma", msg))
    return out


def store(attrs: dict, warnings: list[GateWarning]) -> None:
    """Record warnings in a result's attributes (``warnings``: JSON list of the records,
    ``n_warnings``)."""
    attrs["warnings"] = json.dumps([asdict(GateWarning.of(w)) for w in warnings])
    attrs["n_warnings"] = len(warnings)


def read(attrs: dict, severity: str | None = None) -> list[GateWarning]:
    """The warnings (and notes) a result carries, all or those of one ``severity`` (empty for
    files written before gates existed; the messages of files written before the records, as
    records)."""
    records = [GateWarning.of(w) for w in json.loads(attrs.get("warnings", "[]"))]
    return [w for w in records if severity is None or w.severity == severity]
