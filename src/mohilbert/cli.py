"""``mohilbert`` command line: theory spectra, scope-file ingest, simulated acquisitions.

    mohilbert theory --temperature-C 80 --field-T 0.6 --length-m 0.002 \\
        --polarisation sigma_plus --detuning-MHz=-30000:30000:6001 -o spectrum.nc
    mohilbert ingest C4--scan.csv -o scan.nc
    mohilbert simulate data/raw/demo/campaign.yaml --out data/raw/demo --sheet runs.tsv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mohilbert.errors import DamagedFileError, MohilbertError, OutputError, one_line


def _grid(text: str) -> np.ndarray:
    try:
        start, stop, n = text.split(":")
        grid = np.linspace(float(start), float(stop), int(n))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"detuning grid {text!r}: use START:STOP:N in MHz"
        ) from None
    if grid.size < 2:
        raise argparse.ArgumentTypeError("the detuning grid needs at least 2 points")
    return grid


#: help text of each Cell field the CLI offers (names, defaults and types come from
#: theory.Cell, so the CLI and the library share one vocabulary: --field-theta-deg is
#: Cell.field_theta_deg)
CELL_OPTIONS = {
    "element": ("alkali element", ["Rb", "Cs", "K", "Na"]),
    "line": ("D line", ["D1", "D2"]),
    "length_m": ("cell length [m]", None),
    "temperature_C": ("cell temperature [°C] (sets number density and populations)", None),
    "field_T": ("magnetic field magnitude [T]", None),
    "field_theta_deg": ("angle of B from the beam (+k) [deg]: 0 Faraday, 90 Voigt", None),
    "field_phi_deg": ("azimuth of B about the beam, from +x [deg]", None),
    "isotope_percent": ("isotope abundance: natural, or e.g. 85Rb:99 [percent]", None),
    "gamma_buffer_MHz": ("extra Lorentzian FWHM (buffer gas) [MHz]", None),
    "shift_MHz": ("shift of every resonance [MHz]", None),
    "doppler_temperature_C": (
        "temperature for the Doppler width only [°C] (default: the cell's)",
        None,
    ),
    "populations": ("ground-state populations", ["boltzmann", "equal"]),
    "conventions": ("sign and constant conventions (elecsus: ElecSus's)", ["textbook", "elecsus"]),
    "propagation": ("propagation model (elecsus: ElecSus's)", ["exact", "elecsus"]),
}
#: help text of each intense-probe Probe field (option --probe-power-W is Probe.power_W, as
#: theory.spectrum's probe_power_W argument)
PROBE_OPTIONS = {
    "power_W": ("probe-power-W", "probe power [W]; without it the weak-probe model"),
    "beam_diameter_m": ("beam-diameter-m", "beam diameter [m] (1/e² diameter of a gaussian beam)"),
    "beam_profile": ("beam-profile", "transverse beam profile"),
    "transit": ("transit", "transit time: the mean, or averaged over the distribution"),
    "solver": ("solver", "rate equations, or the full Lindblad master equation"),
    "z_slices": ("z-slices", "slices along the cell (intensity falling with depth)"),
    "compat": ("compat", "hip-elecsus: HIP-ElecSus's choices (transit rate, beam)"),
}
PROBE_CHOICES = {
    "beam_profile": ["flat", "gaussian"],
    "transit": ["mean", "distribution"],
    "solver": ["rate", "lindblad"],
    "compat": ["mohilbert", "hip-elecsus"],
}
DEFAULT_GRID = "-30000:30000:6001"


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Show an option's default, except where there is none or the help says it."""

    def _get_help_string(self, action):
        if action.default in (None, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _field_type(field):
    kind = str(field.type)
    if "int" in kind and "float" not in kind:
        return int
    if "float" in kind:
        return float
    return str


def _add_theory(sub) -> None:
    import dataclasses

    from mohilbert.intense import Probe
    from mohilbert.theory import Cell

    p = sub.add_parser(
        "theory",
        help="transmission spectra of an alkali vapour cell (weak or intense probe)",
        description="Compute theory spectra (S0-S3, intensities, chi, mode indices, rotation) "
        "and write them to netCDF (.nc) or CSV (.csv). Option names are the library's "
        "(theory.Cell, intense.Probe) with dashes.",
        formatter_class=_Defaults,
    )
    fields = {f.name: f for f in dataclasses.fields(Cell)}
    for name, (text, choices) in CELL_OPTIONS.items():
        f = fields[name]
        default = "natural" if name == "isotope_percent" else f.default
        p.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=_field_type(f) if choices is None and name != "isotope_percent" else str,
            default=default,
            choices=choices,
            help=text,
        )
    p.add_argument(
        "--polarisation",
        default="x",
        help="sigma_plus, sigma_minus, parallel, perpendicular, x, y, linear:<deg>, "
        "jones:<Ex>,<Ey>",
    )
    g = p.add_argument_group(
        "intense probe",
        "optical pumping, saturation and transit time (mohilbert.intense); "
        "without --probe-power-W the weak-probe model",
    )
    pfields = {f.name: f for f in dataclasses.fields(Probe)}
    for name, (option, text) in PROBE_OPTIONS.items():
        f = pfields[name]
        default = None if f.default is dataclasses.MISSING else f.default
        g.add_argument(
            "--" + option,
            dest="probe_" + name,
            type=_field_type(f) if name not in PROBE_CHOICES else str,
            default=default,
            choices=PROBE_CHOICES.get(name),
            help=text,
        )
    p.add_argument(
        "--detuning-MHz",
        type=_grid,
        default=DEFAULT_GRID,
        help="grid START:STOP:N in MHz (write --detuning-MHz=-30000:30000:6001)",
    )
    p.add_argument(
        "--outputs",
        default="S0,S1,S2,S3",
        help="CSV columns (comma-separated names of the dataset variables)",
    )
    p.add_argument("-o", "--output", required=True, help="output file, .nc or .csv")


def _run_theory(args) -> int:
    from mohilbert.io.netcdf import save_dataset
    from mohilbert.plausibility import implausible
    from mohilbert.theory import Cell, spectrum

    cell = Cell(
        **{
            name: (None if getattr(args, name) == "natural" else getattr(args, name))
            if name == "isotope_percent"
            else getattr(args, name)
            for name in CELL_OPTIONS
        }
    )
    for text in implausible(cell.temperature_C, cell.length_m, cell.field_T):
        for name in ("temperature_C", "length_m", "field_T"):
            text = text.replace(name, "--" + name.replace("_", "-"))
        print(f"mohilbert theory: warning: {text}", file=sys.stderr)
    probe = None
    if args.probe_power_W is not None:
        from mohilbert.intense import Probe

        if args.probe_beam_diameter_m is None:
            raise ValueError("--probe-power-W needs --beam-diameter-m")
        probe = Probe(**{name: getattr(args, "probe_" + name) for name in PROBE_OPTIONS})
    ds = spectrum(args.detuning_MHz, cell, args.polarisation, probe=probe)
    out = Path(args.output)
    if out.suffix == ".nc":
        save_dataset(ds, out, step="mohilbert theory", title="mohilbert theory spectrum")
    elif out.suffix == ".csv":
        names = [n.strip() for n in args.outputs.split(",") if n.strip()]
        missing = [n for n in names if n not in ds or ds[n].dims != ("detuning",)]
        if missing:
            raise ValueError(
                f"--outputs: {missing} are not 1-D spectra; choose from "
                + ", ".join(n for n in ds.data_vars if ds[n].dims == ("detuning",))
            )
        table = np.column_stack([ds.detuning.values] + [ds[n].values for n in names])
        from mohilbert.io.atomic import write_bytes_atomic

        header = "detuning_MHz," + ",".join(names)
        body = "\n".join(",".join(f"{v:.10g}" for v in row) for row in table)
        write_bytes_atomic(out, (header + "\n" + body + "\n").encode())
    else:
        raise ValueError(f"{out}: output must end in .nc or .csv")
    print(f"wrote {out} ({ds.sizes['detuning']} points, {cell.geometry()} geometry)")
    return 0


def _add_ingest(sub) -> None:
    p = sub.add_parser("ingest", help="read an oscilloscope export and summarise or convert it")
    p.add_argument("file", help="the export (CSV or binary; the format is detected)")
    p.add_argument("--format", default="auto", help="force a format (see config/README.md)")
    p.add_argument("-o", "--output", help="write the labelled netCDF here")


def _run_ingest(args) -> int:
    from mohilbert.io import read_scope, save_dataset

    ds = read_scope(args.file, format=args.format)
    a = ds.attrs
    print(
        f"{a['source_name']}: {a['scope_format']} ({a.get('vendor', '')} {a.get('model', '')}), "
        f"{a['n_samples']} samples at {a['sample_interval_s']:.6g} s, channels {a['channel_names']}"
    )
    if args.output:
        save_dataset(ds, args.output, step="mohilbert ingest", inputs=str(args.file))
        print(f"wrote {args.output}")
    return 0


def _add_plot(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="quick look at a theory, raw, calibrated, fit or Hilbert netCDF file",
        description="Draw the quick-look figure of a netCDF file mohilbert wrote "
        "(mohilbert theory, mohilbert ingest, or the workflow's results/*/*.nc).",
        formatter_class=_Defaults,
    )
    p.add_argument("file", help="the netCDF file (.nc)")
    p.add_argument(
        "-o", "--output", help="figure file, .png or .pdf (default: FILE's name with .png, here)"
    )


def _run_plot(args) -> int:
    import matplotlib

    matplotlib.use("Agg")  # a file is written, nothing is shown
    from mohilbert import plotting
    from mohilbert.io.netcdf import file_problem, load_dataset, quick_file_problem
    from mohilbert.plotting.quick_look import quick_look

    src = Path(args.file)
    what = (
        "mohilbert plot draws the files of mohilbert theory, mohilbert ingest and the "
        "workflow's results/*/*.nc"
    )
    if src.suffix != ".nc":
        raise ValueError(f"{src}: not a netCDF file (.nc); {what}")
    if not src.is_file():
        raise ValueError(f"{src}: no such file")
    out = Path(args.output) if args.output else Path(src.stem + ".png")
    if out.suffix not in (".png", ".pdf"):
        raise ValueError(f"{out}: the figure must end in .png or .pdf")
    try:
        ds = load_dataset(src)
    except DamagedFileError:
        # the diagnosis, in plot's words (the file is read again only on this path)
        problem = quick_file_problem(src) or file_problem(src) or "unreadable"
        raise ValueError(f"{src}: {problem}; {what}") from None
    fig = quick_look(ds, src.name)
    is_pdf = out.suffix == ".pdf"
    plotting.save_figure(fig, out if is_pdf else None, None if is_pdf else out)
    print(f"wrote {out}")
    return 0


def _add_config_reference(sub) -> None:
    p = sub.add_parser(
        "config-reference",
        help="the config.yaml key reference, generated from the workflow's schema",
        formatter_class=_Defaults,
    )
    p.add_argument(
        "--schema",
        default=None,
        help="the configuration schema (default: the installed package's, "
        "mohilbert/schemas/config.schema.yaml)",
    )
    p.add_argument("--update", metavar="README", help="replace the reference in this file")


def _run_config_reference(args) -> int:
    from mohilbert.config import SCHEMA_PATH, key_reference, update_reference

    args.schema = args.schema or SCHEMA_PATH
    if not Path(args.schema).is_file():
        raise ValueError(f"{args.schema} not found: pass the schema's path to --schema")
    if args.update:
        changed = update_reference(args.update, args.schema)
        print(f"{args.update}: {'updated' if changed else 'already up to date'}")
    else:
        print(key_reference(args.schema))
    return 0


def _add_simulate(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="write simulated raw scope exports for a campaign (YAML) or one acquisition",
        description="Simulate acquisitions from the theory model and an instrument model: "
        "raw vendor-format exports, ground truth in DIR/truth/, runs-sheet rows.",
        formatter_class=_Defaults,
    )
    p.add_argument(
        "campaign", help="campaign YAML (defaults + runs; see data/raw/demo/campaign.yaml)"
    )
    p.add_argument("--out", required=True, help="directory for the exports")
    p.add_argument("--sheet", help="write the runs-sheet rows (TSV) here")
    p.add_argument("--sheet-prefix", default="", help="prefix for file names in the sheet rows")


def _run_simulate(args) -> int:
    from mohilbert.io.atomic import write_bytes_atomic
    from mohilbert.simulate import campaign_sheet_text, write_campaign

    rows = write_campaign(args.campaign, args.out, args.sheet_prefix)
    if args.sheet:
        write_bytes_atomic(Path(args.sheet), campaign_sheet_text(rows).encode())
    print(f"wrote {len(rows)} simulated runs to {args.out}")
    return 0


def _add_prune(sub) -> None:
    p = sub.add_parser(
        "prune",
        help="remove results of runs and experiments that are no longer in the runs sheet",
    )
    p.add_argument("--config", default="config/config.yaml", help="the workflow configuration")
    p.add_argument("--results", default="results", help="the results folder")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")


def _run_prune(args) -> int:
    import yaml

    from mohilbert.config import RUNS_SCHEMA_PATH as schema
    from mohilbert.config import SCHEMA_PATH
    from mohilbert.pipeline import stale_results
    from mohilbert.runs import load_runs

    with open(SCHEMA_PATH) as fh:
        defaults = {k: v.get("default") for k, v in yaml.safe_load(fh)["properties"].items()}
    with open(args.config) as fh:
        cfg = {**defaults, **(yaml.safe_load(fh) or {})}
    runs = load_runs(
        cfg["runs"], schema, data_root=cfg["data_root"], check_files=False, allow_outside=True
    )
    series = [s for s in runs.get("series", []) if isinstance(s, str) and s]
    stale = stale_results(args.results, runs.index, runs["experiment"].unique(), series)
    for path in stale:
        print(f"{'would remove' if args.dry_run else 'removed'} {path}")
        if not args.dry_run:
            path.unlink()
    print(f"{len(stale)} file(s) of runs or experiments not in {cfg['runs']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mohilbert", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_theory(sub)
    _add_ingest(sub)
    _add_plot(sub)
    _add_config_reference(sub)
    _add_prune(sub)
    _add_simulate(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "theory":
            return _run_theory(args)
        if args.command == "ingest":
            return _run_ingest(args)
        if args.command == "prune":
            return _run_prune(args)
        if args.command == "plot":
            return _run_plot(args)
        if args.command == "config-reference":
            return _run_config_reference(args)
        return _run_simulate(args)
    except OutputError as exc:  # the machine's fault (full disk, permissions): status 1
        print(f"mohilbert {args.command}: {one_line(exc)}", file=sys.stderr)
        return 1
    except (MohilbertError, ValueError) as exc:  # the input's fault: status 2
        print(f"mohilbert {args.command}: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
