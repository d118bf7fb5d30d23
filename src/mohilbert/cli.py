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

from mohilbert.errors import MohilbertError, OutputError, one_line


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


def _add_theory(sub) -> None:
    p = sub.add_parser(
        "theory",
        help="transmission spectra of an alkali vapour cell (weak or intense probe)",
        description="Compute theory spectra (S0-S3, intensities, chi, mode indices, rotation) "
        "and write them to netCDF (.nc) or CSV (.csv).",
    )
    p.add_argument("--element", default="Rb", choices=["Rb", "Cs", "K", "Na"])
    p.add_argument("--line", default="D2", choices=["D1", "D2"])
    p.add_argument("--length-m", type=float, default=0.075, help="cell length [m]")
    p.add_argument("--temperature-C", type=float, default=20.0, help="cell temperature [degC]")
    p.add_argument("--field-T", type=float, default=0.0, help="magnetic field [T]")
    p.add_argument("--theta-deg", type=float, default=0.0, help="angle of B from the beam [deg]")
    p.add_argument("--phi-deg", type=float, default=0.0, help="azimuth of B about the beam [deg]")
    p.add_argument("--isotope-percent", default="natural", help="natural, or e.g. 85Rb:99")
    p.add_argument(
        "--gamma-buffer-MHz", type=float, default=0.0, help="extra Lorentzian FWHM [MHz]"
    )
    p.add_argument("--shift-MHz", type=float, default=0.0, help="shift of all lines [MHz]")
    p.add_argument(
        "--doppler-temperature-C",
        type=float,
        default=None,
        help="temperature for the Doppler width only [degC]",
    )
    p.add_argument("--populations", default="boltzmann", choices=["boltzmann", "equal"])
    p.add_argument("--conventions", default="textbook", choices=["textbook", "elecsus"])
    p.add_argument("--propagation", default="exact", choices=["exact", "elecsus"])
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
    g.add_argument("--probe-power-W", type=float, default=None, help="probe power [W]")
    g.add_argument(
        "--beam-diameter-m",
        type=float,
        default=None,
        help="beam diameter [m] (1/e^2 diameter of a gaussian beam)",
    )
    g.add_argument("--beam-profile", default="flat", choices=["flat", "gaussian"])
    g.add_argument("--transit", default="mean", choices=["mean", "distribution"])
    g.add_argument("--solver", default="rate", choices=["rate", "lindblad"])
    g.add_argument(
        "--z-slices", type=int, default=1, help="slices along the cell (falling intensity)"
    )
    g.add_argument("--compat", default="mohilbert", choices=["mohilbert", "hip-elecsus"])
    p.add_argument(
        "--detuning-MHz",
        type=_grid,
        default=_grid("-30000:30000:6001"),
        help="grid START:STOP:N in MHz (use --detuning-MHz=-30000:30000:6001)",
    )
    p.add_argument(
        "--outputs",
        default="S0,S1,S2,S3",
        help="CSV columns (comma-separated names of the dataset variables)",
    )
    p.add_argument("-o", "--output", required=True, help="output file, .nc or .csv")


def _run_theory(args) -> int:
    from mohilbert.io.netcdf import save_dataset
    from mohilbert.theory import Cell, spectrum

    cell = Cell(
        element=args.element,
        line=args.line,
        length_m=args.length_m,
        temperature_C=args.temperature_C,
        field_T=args.field_T,
        field_theta_deg=args.theta_deg,
        field_phi_deg=args.phi_deg,
        isotope_percent=None if args.isotope_percent == "natural" else args.isotope_percent,
        gamma_buffer_MHz=args.gamma_buffer_MHz,
        shift_MHz=args.shift_MHz,
        doppler_temperature_C=args.doppler_temperature_C,
        populations=args.populations,
        conventions=args.conventions,
        propagation=args.propagation,
    )
    probe = None
    if args.probe_power_W is not None:
        from mohilbert.intense import Probe

        if args.beam_diameter_m is None:
            raise ValueError("--probe-power-W needs --beam-diameter-m")
        probe = Probe(
            args.probe_power_W,
            args.beam_diameter_m,
            args.beam_profile,
            transit=args.transit,
            solver=args.solver,
            z_slices=args.z_slices,
            compat=args.compat,
        )
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

    from mohilbert.pipeline import stale_results
    from mohilbert.runs import load_runs

    schema = Path("workflow/schemas/runs.schema.yaml")  # run from the workflow's folder
    if not schema.exists():
        raise ValueError(f"{schema} not found: run mohilbert prune in the workflow's folder")
    with open(schema.with_name("config.schema.yaml")) as fh:
        defaults = {k: v.get("default") for k, v in yaml.safe_load(fh)["properties"].items()}
    with open(args.config) as fh:
        cfg = {**defaults, **(yaml.safe_load(fh) or {})}
    runs = load_runs(
        cfg["runs"], schema, data_root=cfg["data_root"], check_files=False, allow_outside=True
    )
    stale = stale_results(args.results, runs.index, runs["experiment"].unique())
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
    _add_prune(sub)
    from mohilbert import simulate

    simulate.add_cli(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "theory":
            return _run_theory(args)
        if args.command == "ingest":
            return _run_ingest(args)
        if args.command == "prune":
            return _run_prune(args)
        return args.run(args)
    except OutputError as exc:  # the machine's fault (full disk, permissions): status 1
        print(f"mohilbert {args.command}: {one_line(exc)}", file=sys.stderr)
        return 1
    except (MohilbertError, ValueError) as exc:  # the input's fault: status 2
        print(f"mohilbert {args.command}: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
