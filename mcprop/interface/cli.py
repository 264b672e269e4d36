"""The ``mcprop`` command line."""

import argparse
import json
import logging
import sys

from mcprop import __version__
from mcprop.interface.errors import EXIT_USER_ERROR, UserError

log = logging.getLogger("mcprop")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line with exit code 2."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message}")


def _cmd_predict(args) -> int:
    from mcprop.physics.prediction import predict

    try:
        result = predict(args.mass_MeV, args.g, args.flavour, not args.no_interference)
    except ValueError as exc:
        raise UserError(f"predict: {exc}") from None
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:16s} {value:.6g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mcprop", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mcprop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("predict", help="prediction at one (m, g) with central input values")
    p.add_argument("--mass-MeV", type=float, required=True, dest="mass_MeV",
                   help="Z' mass [MeV]")
    p.add_argument("--g", type=float, required=True, help="Z' coupling g")
    p.add_argument("--flavour", default="decoherent-vacuum",
                   help="flavour model: equipartition, decoherent-vacuum, pee")
    p.add_argument("--no-interference", action="store_true",
                   help="drop the SM-Z' interference term")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mcprop`` console script; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UserError as exc:
        print(f"mcprop: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
