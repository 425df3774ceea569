"""The ``repalign`` command line: a thin layer that parses, calls one API function, prints.

Each sub-command lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser, and the parser's ``handler`` default is called
with the parsed arguments and returns the exit code. Modules are imported only when the
parser is built, and heavy dependencies only inside handlers.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from .._errors import MissingDependencyError, RepalignError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

#: Sub-command modules, in the order ``repalign --help`` lists them (``study`` also adds ``status``).
COMMAND_MODULES: tuple[str, ...] = ("demo", "align", "data", "models", "extract", "fewshot", "analyze", "report", "robustness", "study")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repalign",
        description="Measure how well model representations align with human representations, "
        "and what that alignment buys (few-shot transfer, robustness).",
    )
    parser.add_argument("--version", action="version", version=f"repalign {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("repalign").setLevel(level)
    for noisy in ("numba", "matplotlib", "PIL", "urllib3", "filelock", "timm"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 bad usage or input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _configure_logging(args.verbose, args.quiet)
    try:
        return int(args.handler(args) or EXIT_OK)
    except MissingDependencyError as exc:
        print(f"repalign {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RepalignError as exc:
        print(f"repalign {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"repalign {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def run() -> None:  # pragma: no cover - console entry point
    sys.exit(main())
