"""The ``repalign`` command line: a thin layer that parses, calls one API function, prints.

Each sub-command lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser, and the parser's ``handler`` default is called
with the parsed arguments and returns the exit code. Modules are imported only when the
parser is built, and heavy dependencies only inside handlers (``tests/cli/test_help_speed.py``
checks that building every parser imports no numpy, pandas, scipy or torch).

Global options (``-v``, ``-q``, ``--threads``) are accepted before the command and after
it (``repalign -q align ...`` and ``repalign align ... -q``) and take effect before the
command runs: ``-q`` silences progress bars and info logs, ``--threads N`` fixes the thread
budget (see :mod:`repalign._threads`) before numpy or torch start their thread pools.

Errors: bad input (:class:`~repalign.InputError` and the other repalign errors) and
operating-system errors (a read-only or full disk, a file in the way) end with one
``error:`` line and exit code 2; anything else is a bug and exits 1 with one line too.
``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence

from .. import __version__
from .._errors import RepalignError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

#: Sub-command modules, in the order ``repalign --help`` lists them (``study`` also adds ``status``).
COMMAND_MODULES: tuple[str, ...] = ("demo", "align", "data", "models", "extract", "fewshot", "analyze", "report", "robustness", "study")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number >= 1")
    return value


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Below the top level the defaults are SUPPRESS, so a sub-command's missing flag never
    # overwrites the value given before the command name.
    default: dict[str, object] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "-v", "--verbose", action="count", help="more log output (-vv for debug) and tracebacks on errors",
        **({"default": 0} if top else default),
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress and only warnings and errors on stderr",
        **({"default": False} if top else default),
    )
    parser.add_argument(
        "--threads", type=_positive_int, metavar="N",
        help="threads to use in all (torch, BLAS and data loading together; default: the cores available, "
        "or $REPALIGN_THREADS)", **({"default": None} if top else default),
    )


def _sub_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share one parser
                yield sub
                yield from _sub_parsers(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repalign",
        description="Measure how well model representations align with human representations, "
        "and what that alignment buys (few-shot transfer, robustness).",
    )
    parser.add_argument("--version", action="version", version=f"repalign {__version__}")
    _add_global_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    for sub in _sub_parsers(parser):
        taken = set(sub._option_string_actions)
        if not taken & {"-v", "--verbose", "-q", "--quiet", "--threads"}:
            _add_global_options(sub, top=False)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("repalign").setLevel(level)
    for noisy in ("numba", "matplotlib", "PIL", "urllib3", "filelock", "timm"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def _global_options(quiet: bool, threads: int | None) -> Iterator[None]:
    """Apply ``-q`` and ``--threads`` for one command; restored after (tests call main() often)."""
    from .. import _progress, _threads

    was_quiet, was_override = _progress.is_quiet(), _threads.thread_override()
    was_source = _threads.thread_override_source()
    saved_env = {name: os.environ.get(name) for name in _threads._RUNTIME_ENVS}
    _progress.set_quiet(quiet)
    source = "--threads"
    if threads is None:
        # Always fix the budget before numpy/torch start their pools: with no OMP/BLAS
        # variable set, the same thread count ran the few-shot grid 13x slower
        # (benchmarks/bench_threads.py). Validates $REPALIGN_THREADS (InputError if bad).
        default = _threads.thread_plan()
        threads, source = default.budget, default.source  # provenance says "cores", not "--threads"
    try:
        if threads is not None:
            _threads.set_thread_override(threads, source=source)
            _threads.apply_thread_plan()  # numpy/torch already loaded (in-process callers)
        yield
    finally:
        _progress.set_quiet(was_quiet)
        if threads is not None:
            _threads.set_thread_override(was_override, source=was_source)
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _os_error_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    reason = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: "; free some space or write somewhere else",
        errno.EROFS: "; write somewhere else",
        errno.EACCES: "; check the permissions or write somewhere else",
        errno.ENOTDIR: "; a file is in the way of a folder on that path",
        errno.EISDIR: "; give a file name, not a folder",
        errno.EEXIST: "; a file is in the way on that path",
    }.get(exc.errno or 0, "")
    return f"{where}: {reason}{hint}" if where else f"{reason}{hint}"


def _error(command: str, message: str) -> None:
    # One line, always: a log reader or a test looks for exactly one ``error:`` line.
    print(f"repalign {command}: error: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 bad usage or input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _configure_logging(args.verbose, args.quiet)
    verbose = args.verbose > 0
    try:
        with _global_options(args.quiet, args.threads):
            return int(args.handler(args) or EXIT_OK)
    except (RepalignError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):  # `repalign ... | head`: the reader left, not an error
            _silence_stdout()
            return EXIT_OK
        if verbose:
            traceback.print_exc()
        message = str(exc) if isinstance(exc, RepalignError) else _os_error_message(exc)
        _error(args.command, message)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"repalign {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback with -v
        if verbose:
            traceback.print_exc()
        hint = "" if verbose else " (rerun with -v for the traceback)"
        _error(args.command, f"unexpected {type(exc).__name__}: {exc}{hint}")
        return EXIT_FAILURE


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the pipe gone that would print a second error.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def run() -> None:  # pragma: no cover - console entry point
    sys.exit(main())
