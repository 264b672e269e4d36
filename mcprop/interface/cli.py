"""The ``mcprop`` command line."""

import argparse
import json
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from mcprop import __version__
from mcprop.errors import EXIT_USER_ERROR, ArgumentError, McpropError

log = logging.getLogger("mcprop")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line with exit code 2."""

    def error(self, message):
        raise ArgumentError(f"{self.prog}: {message}")


def _workers(text: str) -> int:
    from mcprop.inference.executors import check_workers

    try:
        return check_workers(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _cmd_predict(args) -> int:
    import numpy as np

    from mcprop.physics.prediction import predict

    try:
        with np.errstate(all="ignore"):
            # without --flavour, predict's default (mcprop.physics.flavour, one definition)
            flavour = {} if args.flavour is None else {"flavour": args.flavour}
            result = predict(args.mass_MeV, args.g, interference=not args.no_interference,
                             lines=tuple(args.lines.split(",")), composition=args.composition,
                             radiative_corrections=not args.tree_level, **flavour)
    except ValueError as exc:
        raise ArgumentError(f"predict: {exc}") from None
    bad = [key for key, value in result.items() if not np.isfinite(value)]
    if bad:
        raise ArgumentError(f"predict: {', '.join(bad)} not finite at --mass-MeV {args.mass_MeV:g} "
                            f"--g {args.g:g} (outside the range the model can compute)")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:16s} {value:.6g}")
    return 0


def _cmd_run(args) -> int:
    from mcprop.interface.config import load_config
    from mcprop.interface.runner import run_config

    overrides: dict = {}
    if args.seed is not None:
        overrides["sampler"] = {"seed": args.seed}
    if args.out is not None:
        overrides["output"] = {"directory": os.path.abspath(args.out)}
    if args.expected is not None:
        overrides["expected"] = {"n_toys": args.expected}
    config = load_config(args.config)  # the file as written must be valid on its own
    if overrides:
        config = load_config(args.config, overrides)
    if args.executor == "dask" and args.scheduler is not None:
        _check_scheduler(args.scheduler)
    try:
        scan = run_config(config, write=True, workers=args.workers, executor=args.executor,
                          scheduler=args.scheduler, resume=args.resume, force=args.force,
                          progress=not args.quiet, argv=sys.argv)
    except KeyboardInterrupt:
        print(f"mcprop: interrupted; finished masses are saved, continue with: "
              f"{resume_command(args)}", file=sys.stderr)
        return 130
    n_converged = sum(r.converged for r in scan.results)
    if not scan.has_masses:
        what = "the fit" if scan.is_fit else "the moment limits"
        log.info("done: %s %s; results in %s (mcprop corner %s for the posterior)", what,
                 "converged" if scan.converged else "did NOT converge",
                 scan.run_dir / "limits.csv", scan.run_dir)
        return 0
    log.info("done: %d/%d masses converged; limits in %s, plot in %s", n_converged,
             len(scan.masses_MeV), scan.run_dir / "limits.csv", scan.run_dir / "limit_curve.png")
    return 0


def resume_command(args) -> str:
    """The command that continues the run of ``args`` (a ``run`` command): the same config,
    run directory and seed, with ``--resume``.

    >>> from types import SimpleNamespace as A
    >>> resume_command(A(config="my run.toml", out="out/r", seed=5))
    "mcprop run 'my run.toml' --out out/r --seed 5 --resume"
    """
    command = ["mcprop", "run", str(args.config)]
    if args.out is not None:
        command += ["--out", str(args.out)]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    return shlex.join([*command, "--resume"])


def _cmd_coverage(args) -> int:
    from mcprop.interface.api import coverage

    result = coverage(args.config, args.mass_MeV, args.g, args.toys, draw=args.draw,
                      seed=args.seed, profile=False if args.no_profile else None).record()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"m = {result['m_zprime_MeV']:g} MeV, g = {result['g_true']:g}: {result['n_toys']} "
          f"pseudo-experiments (truth nuisances: {result['draw']})")
    if result["credible_coverage"] is not None:
        print(f"credible limit ({100 * result['credibility']:g}%): covers "
              f"{result['credible_coverage']:.3f} +- {result['credible_coverage_error']:.3f}")
    if result["profile_coverage"] is not None:
        print(f"profile-likelihood limit: covers {result['profile_coverage']:.3f} +- "
              f"{result['profile_coverage_error']:.3f}")
    return 0


def _check_scheduler(address: str) -> None:
    """A dask scheduler address must be host:port, optionally with a tcp/tls/ws scheme."""
    import re

    if not re.fullmatch(r"((tcp|tls|ws|wss|inproc|ucx)://)?[\w.\-\[\]:]+:\d{1,5}", address):
        raise ArgumentError(f"--scheduler: not a dask scheduler address (host:port or "
                            f"tcp://host:port): {address!r}")


def _cmd_corner(args) -> int:
    return corner_command(args.run_dir, args.mass_MeV, args.out)


def corner_command(run_dir: Path, mass_MeV: float | None, out: Path | None) -> int:
    """``mcprop corner``: default output ``RUN_DIR/corner_mNNN.png``; ``mass_MeV`` None for a
    run without masses. Returns the exit code."""
    from mcprop.interface.plots import check_output, corner_figure, save_figure
    from mcprop.interface.result import load

    if out is not None:
        check_output(out)
    scan = load(run_dir)
    result = scan.result_at(mass_MeV)
    fig = corner_figure(scan, mass_MeV)
    if out is None:
        out = Path(run_dir) / f"corner_m{result.point_index:03d}.png"
    save_figure(fig, out)
    log.info("corner plot of %s written to %s", result.label(), out)
    return 0


def _cmd_plot(args) -> int:
    context = [name.strip() for name in args.context.split(",") if name.strip()] \
        if args.context else []
    return plot_command(args.run_dirs, args.out, args.overlay, context)


def plot_command(run_dirs: list[Path], out: Path | None, overlays: list[str],
                 context: Sequence[str] = ()) -> int:
    """``mcprop plot``: the default output is ``RUN_DIR/limit_curve.png`` for one run,
    ``./limit_curves.png`` for several. Returns the exit code."""
    from mcprop.interface.plots import check_output, limit_figure, save_figure
    from mcprop.interface.result import load

    if out is None:
        out = (Path(run_dirs[0]) / "limit_curve.png" if len(run_dirs) == 1
               else Path("limit_curves.png"))
    check_output(out)
    scans = [load(root) for root in run_dirs]
    save_figure(limit_figure(scans, overlays, context), out)
    log.info("limit curves written to %s", out)
    return 0


def _cmd_export(args) -> int:
    """``mcprop export``: the run's limits as csv, json or hepdata, to ``--out`` or stdout."""
    from mcprop.errors import RunDirectoryError, require_extra
    from mcprop.interface.formats import check_output, write_output
    from mcprop.interface.reports import missing_points, unconverged
    from mcprop.interface.result import load

    fmt, out = args.format, args.out
    if fmt.startswith("hepdata"):
        require_extra("hepdata", f"--format {fmt}")
    scan = load(args.run_dir)
    if not scan.results:
        raise RunDirectoryError(f"{scan.run_dir}: no finished results to export (results/ is "
                                f"empty)")
    if out is not None:
        check_output(out, scan.run_dir, new_folder=fmt == "hepdata-submission")
    missing = missing_points(scan)
    if missing:
        log.warning("%s: incomplete run, exporting %d masses; no result for %s", scan.run_dir,
                    len(scan.results), ", ".join(missing))
    failed = unconverged(scan)
    if failed:
        log.warning("%s: not converged: %s (see 'mcprop diagnose')", scan.run_dir,
                    ", ".join(failed))
    if fmt == "hepdata-submission":
        if out is None:
            raise ArgumentError("--format hepdata-submission: needs --out FOLDER (a new folder)")
        scan.to_hepdata(out)
        log.info("wrote the HEPData submission %s", out)
        return 0
    renderers = {"csv": scan.to_csv, "json": scan.to_json, "hepdata": scan.to_hepdata_table}
    if fmt not in renderers:
        raise ArgumentError(f"--format: unknown format {fmt!r} (choose {', '.join(renderers)})")
    text = renderers[fmt]()
    if out is None:
        sys.stdout.write(text)
        return 0
    write_output(out, text)
    log.info("wrote %s", out)
    return 0


def _cmd_diagnose(args) -> int:
    """``mcprop diagnose``: the convergence table of a run; exit code 1 unless every grid
    point has a converged result."""
    from mcprop.interface.reports import diagnose_report
    from mcprop.interface.result import load

    text, ok = diagnose_report(load(args.run_dir))
    sys.stdout.write(text)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mcprop", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mcprop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("predict", help="prediction at one (m, g) with central input values")
    p.add_argument("--mass-MeV", type=float, required=True, dest="mass_MeV",
                   help="Z' mass [MeV]")
    p.add_argument("--g", type=float, required=True, help="Z' coupling g")
    p.add_argument("--flavour",
                   help="flavour model: equipartition, decoherent-vacuum, decoherent-msw, pee "
                        "(default decoherent-msw: adiabatic MSW over the B16 7Be profile)")
    p.add_argument("--no-interference", action="store_true",
                   help="drop the SM-Z' interference term")
    p.add_argument("--lines", default="862keV",
                   help="7Be lines in the rate, comma-separated: 862keV,384keV (default 862keV)")
    p.add_argument("--composition", choices=("gs98", "agss09met"), default="gs98",
                   help="B16 solar model for the 7Be flux and the MSW profile (default gs98)")
    p.add_argument("--tree-level", action="store_true",
                   help="tree-level cross section (default: with radiative corrections)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("run", help="sample the posterior over the mass grid of a run config "
                                   "(the one posterior of a magnetic-moment run)")
    p.add_argument("config", type=Path, help="run config (TOML), or the name of a shipped one "
                                             "(borexino-phase1, models/b-l: a file of runs/ "
                                             "without .toml)")
    p.add_argument("--out", type=Path, help="run directory (default: the config's output)")
    p.add_argument("--workers", type=_workers, default=2,
                   help="parallel workers, 1 to 10000 (local processes: at most one per mass "
                        "to sample)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local processes or a dask.distributed cluster")
    p.add_argument("--scheduler", help="dask scheduler address (default: a LocalCluster)")
    p.add_argument("--seed", type=_non_negative_int, help="override the config's seed")
    p.add_argument("--expected", type=_non_negative_int, metavar="N",
                   help="expected limits from N Standard-Model pseudo-experiments (overrides "
                        "expected.n_toys; 0: none)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue an interrupted run")
    mode.add_argument("--force", action="store_true", help="overwrite an existing run")
    p.add_argument("--quiet", action="store_true", help="no progress bar or log lines")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("coverage", help="how often the limits cover a Z' injected at one "
                                        "(m, g): pseudo-experiments of the run's measurements")
    p.add_argument("config", type=Path, help="run config (TOML) of a Z' rate analysis")
    p.add_argument("--mass-MeV", type=float, required=True, dest="mass_MeV",
                   help="Z' mass [MeV] of the truth")
    p.add_argument("--g", type=float, required=True, help="Z' coupling g of the truth")
    p.add_argument("--toys", type=_positive_int, required=True, help="pseudo-experiments")
    p.add_argument("--draw", choices=("prior-draws", "prior-centres", "best-fit"),
                   help="truth nuisances: drawn from the priors per toy (default of a rate "
                        "analysis), at the prior centres, or at the constrained fit of the "
                        "data with the Z' held at the truth (default of a spectrum)")
    p.add_argument("--seed", type=_non_negative_int, help="override the config's seed")
    p.add_argument("--no-profile", action="store_true",
                   help="credible limits only (no profile-likelihood fit per toy)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_coverage)

    p = sub.add_parser("corner", help="corner plot of g and the nuisances at one mass (of the "
                                      "moments for a magnetic-moment run)")
    p.add_argument("run_dir", type=Path, help="run directory")
    p.add_argument("--mass-MeV", type=float, dest="mass_MeV",
                   help="Z' mass [MeV]; the nearest grid mass is used (required for a run "
                        "over masses; none for a magnetic-moment run)")
    p.add_argument("--out", type=Path, help="output file, .png or .pdf")
    p.set_defaults(func=_cmd_corner)

    p = sub.add_parser("plot", help="limit curves of Z' runs with the g-2 bands")
    p.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="run directories")
    p.add_argument("--out", type=Path, help="output file, .png or .pdf")
    p.add_argument("--overlay", action="append", default=[], metavar="CSV[:LABEL]",
                   help="extra curve from a CSV of m_zprime_MeV,g (repeatable)")
    p.add_argument("--context", metavar="NAMES",
                   help="other experiments' constraints, comma-separated: ccfr, babar, "
                        "borexino-bfj, amaral, icecube, g-2 (digitised curves and stated "
                        "points, labelled as such)")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("export", help="export the credible limits (the curve of a Z' run)")
    p.add_argument("run_dir", type=Path, help="run directory")
    p.add_argument("--format", choices=("csv", "json", "hepdata", "hepdata-submission"),
                   required=True, help="csv, json, one HEPData table (YAML), or a HEPData "
                                       "submission folder (hepdata_lib; needs --out)")
    p.add_argument("--out", type=Path, help="output file (default: standard output); the "
                                            "new folder for hepdata-submission")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("diagnose", help="convergence table per mass (per moment); exit 1 if "
                                        "any failed")
    p.add_argument("run_dir", type=Path, help="run directory")
    p.set_defaults(func=_cmd_diagnose)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mcprop`` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        quiet = getattr(args, "quiet", False)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s",
                            stream=sys.stderr, force=True)
        logging.getLogger("mcprop").setLevel(logging.WARNING if quiet else logging.INFO)
        # dask.distributed's own log, also in its workers (which inherit this): its INFO
        # lines never, its warnings unless quiet; a failed task still reaches the main
        # process as an exception
        os.environ["DASK_LOGGING__DISTRIBUTED"] = "critical" if quiet else "warning"
        return args.func(args)
    except McpropError as exc:
        print(f"mcprop: error: {exc.cli_message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mcprop: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USER_ERROR
