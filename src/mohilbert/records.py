r"""Typed records between the stages: a :class:`Run` (what the analysis stages read of one sheet
row, with units in the names) and an :class:`Experiment` (the runs analysed together: one cell,
one geometry).

The workflow hands each rule its slice of the sheet as a plain mapping (the rule's params, so
that editing a column reruns exactly the stages that read it; :data:`STAGE_COLUMNS`).
Every stage function turns that mapping into a :class:`Run` once, at its entry
(:meth:`Run.coerce`), and from there on reads attributes: a misspelt column is an error where
the record is made, not a silent default deep in a step. The run's theory cell and its intense
probe are built in one place (:meth:`Run.cell`, :meth:`Run.probe`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from mohilbert.errors import SheetError
from mohilbert.products import FitAttrs

#: the detector channels a run's files hold (sheet columns ``<role>``, ``<role>_file``)
ROLES = ("signal", "etalon", "reference", "dark", "monitor", "polarimeter")
#: sheet columns that only ingest reads (channels, files, format) or nobody (notes); a full
#: sheet row may be passed as a record and these are set aside
INGEST_COLUMNS = frozenset(
    ("file", "format", "notes", *ROLES)
    + tuple(f"{r}_file" for r in ROLES)
    + tuple(f"{r}_path" for r in ROLES)
)


#: columns that every run of one experiment must share: its cell, geometry and the nominal
#: values of the parameters its joint fit shares
EXPERIMENT_COLUMNS = (
    "geometry",
    "element",
    "line",
    "cell_length_m",
    "cell_length_uncertainty_m",
    "isotope_percent",
    "temperature_C",
    "field_T",
    "field_theta_deg",
    "field_phi_deg",
    "beam_diameter_m",
    "beam_profile",
)

#: the sheet columns each stage's step reads: its rule's params, and so exactly what reruns
#: it (a ``notes`` edit reruns nothing; a temperature edit reruns calibrate, fit and hilbert
#: of that experiment, not its ingest). Ingest also gets each role's file path, relative to
#: data_root, so that moving the checkout reruns nothing either.
#: the columns that describe a run's cell and probe (what :meth:`mohilbert.records.Run.cell` and :meth:`~mohilbert.records.Run.probe` read)
CELL_COLUMNS = (
    "geometry",
    "polarisation",
    "element",
    "line",
    "cell_length_m",
    "temperature_C",
    "field_T",
    "field_theta_deg",
    "field_phi_deg",
    "isotope_percent",
    "probe_power_W",
    "beam_diameter_m",
    "beam_profile",
)
STAGE_COLUMNS = {
    "ingest": ("run", "format", *ROLES),
    "calibrate": (
        "run",
        *CELL_COLUMNS,
        "etalon_fsr_MHz",
        "etalon_fsr_uncertainty_MHz",
        "reference_length_m",
        "reference_temperature_C",
        "dark_level_V",
        "dark_uncertainty_V",
    ),
    "hilbert": ("run", "experiment", *CELL_COLUMNS),
}
# the axis-scale terms of the fit's budget come from the calibrated file
# (products.CalibratedAttrs.axis_uncertainty), which calibrate made from the sheet's FSR
STAGE_COLUMNS["fit"] = (
    *STAGE_COLUMNS["hilbert"],
    "series",
    "cell_length_uncertainty_m",
)


@dataclass(frozen=True)
class Run:
    """One run as the analysis stages see it (one sheet row, validated by the sheet schema).

    Attributes
    ----------
    run, experiment, series
        The run's id, its experiment and (for a power series) its series; ``None`` if not given.
    geometry, polarisation
        ``"faraday"``, ``"voigt"``, ``"oblique"`` or ``"zero_field"``; the input polarisation.
    element, line
        Alkali element and D line.
    cell_length_m, cell_length_uncertainty_m
        Cell length and its standard uncertainty [m].
    temperature_C, field_T
        Nominal cell temperature [°C] and field [T] (the fit's starting values).
    field_theta_deg, field_phi_deg
        Field direction [degree]; ``None``: along the beam (Faraday) or across it (Voigt).
    isotope_percent
        ``None``/``"natural"`` or e.g. ``"87Rb:100"`` [percent].
    etalon_fsr_MHz, etalon_fsr_uncertainty_MHz
        Etalon free spectral range and its standard uncertainty [MHz].
    reference_length_m, reference_temperature_C
        Reference cell length [m] and temperature [°C].
    dark_level_V, dark_uncertainty_V
        Detector dark level and its standard uncertainty [V], when no dark trace was recorded.
    probe_power_W, beam_diameter_m, beam_profile
        Intense probe: power entering the cell [W], 1/e² (or flat-top) diameter [m],
        ``"gaussian"`` or ``"flat"``; no power: the weak-probe model.
    """

    run: str
    experiment: str | None = None
    series: str | None = None
    geometry: str = "faraday"
    polarisation: object = "x"
    element: str = "Rb"
    line: str = "D2"
    cell_length_m: float | None = None
    cell_length_uncertainty_m: float | None = None
    temperature_C: float | None = None
    field_T: float | None = None
    field_theta_deg: float | None = None
    field_phi_deg: float | None = None
    isotope_percent: str | None = None
    etalon_fsr_MHz: float | None = None
    etalon_fsr_uncertainty_MHz: float | None = None
    reference_length_m: float = 0.075
    reference_temperature_C: float = 20.0
    dark_level_V: float | None = None
    dark_uncertainty_V: float | None = None
    probe_power_W: float | None = None
    beam_diameter_m: float | None = None
    beam_profile: str = "gaussian"

    @classmethod
    def coerce(cls, record: Run | Mapping) -> Run:
        """``record`` itself if it is a :class:`Run`, else the :class:`Run` of a stage's
        sheet mapping (``None`` values take the defaults; an unknown column is an error)."""
        if isinstance(record, Run):
            return record
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(record) - known - INGEST_COLUMNS)
        name = record.get("run", "?")
        if unknown:
            raise SheetError(
                f"run {name}: unknown column(s) {', '.join(map(repr, unknown))} in its stage "
                f"record; known: {', '.join(sorted(known))}"
            )
        if record.get("run") is None:
            raise SheetError("a stage record has no 'run' id")
        values = {k: v for k, v in record.items() if v is not None and k in known}
        return cls(**values)

    def cell(self):
        """The run's nominal theory cell (:class:`mohilbert.theory.Cell`)."""
        from mohilbert.theory import Cell

        if self.cell_length_m is None or self.temperature_C is None:
            raise SheetError(f"run {self.run}: cell_length_m and temperature_C are needed")
        theta = self.field_theta_deg
        if theta is None:
            theta = 90.0 if self.geometry == "voigt" else 0.0
        iso = self.isotope_percent
        return Cell(
            element=self.element,
            line=self.line,
            length_m=float(self.cell_length_m),
            temperature_C=float(self.temperature_C),
            field_T=0.0 if self.geometry == "zero_field" else float(self.field_T or 0.0),
            field_theta_deg=float(theta),
            field_phi_deg=float(self.field_phi_deg or 0.0),
            isotope_percent=None if iso in (None, "natural") else iso,
        )

    def probe(self, z_slices: int = 1):
        """The run's intense probe (:class:`mohilbert.intense.Probe`), or ``None`` (weak probe)
        without a ``probe_power_W``; ``z_slices`` slices along the cell for the intensity
        falling with depth (the fit configuration's ``z_slices``; 1: optically thin)."""
        if self.probe_power_W is None:
            return None
        from mohilbert.intense import Probe

        return Probe(
            float(self.probe_power_W),
            float(self.beam_diameter_m),
            self.beam_profile,
            z_slices=int(z_slices),
        )


@dataclass(frozen=True)
class Experiment:
    """The runs analysed together (one joint fit, one Hilbert analysis): one cell, one geometry.

    Attributes
    ----------
    label
        How messages and titles name the group (``"experiment <id>"``, ``"series <id>"``).
    runs
        The runs, sorted by id.
    """

    label: str
    runs: tuple[Run, ...]

    @classmethod
    def of(cls, records: Mapping[str, Run | Mapping], label: str | None = None) -> Experiment:
        """The experiment of ``records`` (run id → :class:`Run` or stage mapping).

        Its runs must agree on what makes one cell and geometry
        (:data:`EXPERIMENT_COLUMNS`); the sheet loader refuses a disagreement
        with the rows named, and this refuses it for records made by hand.
        """
        if not records:
            raise SheetError("an experiment needs at least one run")
        runs = tuple(Run.coerce(records[k]) for k in sorted(records))
        first = runs[0]
        label = label or f"experiment {first.experiment or first.run}"
        for r in runs[1:]:
            for col in EXPERIMENT_COLUMNS:
                a, b = getattr(first, col), getattr(r, col)
                if a != b:
                    raise SheetError(
                        f"{label}: run {r.run} has {col} = {b!r} but run {first.run} has {a!r}; "
                        "the runs of one experiment share one cell and geometry"
                    )
        return cls(label, runs)

    @classmethod
    def coerce(cls, experiment: Experiment | Mapping[str, Run | Mapping]) -> Experiment:
        """``experiment`` itself if it is an :class:`Experiment`, else :meth:`of` its records."""
        return experiment if isinstance(experiment, Experiment) else cls.of(experiment)

    @property
    def names(self) -> list[str]:
        """Run ids, sorted."""
        return [r.run for r in self.runs]

    @property
    def first(self) -> Run:
        """The first run (by id): the experiment's cell, geometry and nominal values."""
        return self.runs[0]

    def __getitem__(self, run: str) -> Run:
        for r in self.runs:
            if r.run == run:
                return r
        raise KeyError(run)

    def cell(self):
        """The experiment's nominal theory cell."""
        return self.first.cell()


@dataclass(frozen=True)
class FitValues:
    """The fitted values of a fit file (``results/fits/*.nc``, ``results/series/*.nc``), by
    structure rather than by name: what is shared by the runs and what belongs to each run.

    Attributes
    ----------
    shared
        Quantity → value of the parameters shared by the runs (their units:
        :data:`mohilbert.parameters.UNITS`).
    per_run
        Quantity → {run → value} of the parameters fitted once per run (e.g. ``shift_MHz``).
    """

    shared: dict[str, float]
    per_run: dict[str, dict[str, float]]

    @classmethod
    def of(cls, fit) -> FitValues:
        """Read a fit Dataset (see :func:`parameter_parts`)."""
        values = [float(v) for v in fit["value"].values.tolist()]
        shared: dict[str, float] = {}
        per_run: dict[str, dict[str, float]] = {}
        for (q, r), v in zip(parameter_parts(fit), values, strict=True):
            if r:
                per_run.setdefault(q, {})[r] = v
            else:
                shared[q] = v
        return cls(shared, per_run)

    def of_run(self, quantity: str, run: str, default: float | None = 0.0) -> float | None:
        """The value ``run`` was fitted with: its own, else the shared one, else ``default``."""
        return self.per_run.get(quantity, {}).get(run, self.shared.get(quantity, default))


def parameter_ties(fit) -> dict[str, str]:
    """Parameter → the parameter it is tied to, for the per-run rows of a parameter fitted
    once per group of runs (:attr:`mohilbert.fitting.FitResult.ties`; empty when none)."""
    return FitAttrs.from_dataset(fit).ties_json


def parameter_parts(fit) -> list[tuple[str, str]]:
    """(quantity, run) of each parameter of a fit Dataset, ``run`` empty for a shared one: its
    ``parameter_quantity`` and ``parameter_run`` coordinates (files written before they existed:
    the ``<quantity>__<run>`` names)."""
    if "parameter_quantity" in fit.coords:
        return list(
            zip(
                (str(q) for q in fit["parameter_quantity"].values.tolist()),
                (str(r) for r in fit["parameter_run"].values.tolist()),
                strict=True,
            )
        )
    out = []
    for n in (str(n) for n in fit["parameter"].values.tolist()):
        q, _, r = n.partition("__")
        out.append((q, r))
    return out
