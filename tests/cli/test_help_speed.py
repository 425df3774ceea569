"""A fast command line: building any parser imports no numpy, pandas, scipy or torch.

``repalign --help`` took 2-6 s when the parsers imported the scientific stack; with nothing
heavy imported it takes about 0.1 s (figures in the progress branch's closing note). The
option names the parsers offer live in ``repalign.cli._choices``; the second test keeps
them equal to the modules that define them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

HEAVY = ("numpy", "pandas", "scipy", "torch", "torchvision", "timm", "PIL", "matplotlib", "sklearn", "numba", "yaml", "jinja2")

_PROBE = r"""
import argparse, json, sys
HEAVY = %r
import repalign.cli as cli

def loaded():
    return sorted(m for m in HEAVY if m in sys.modules)

report = {"build_parser": loaded()}
parser = cli.build_parser()
report["build_parser"] = loaded()

def paths(p, prefix=()):
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,)
                yield from paths(sub, prefix + (name,))

import contextlib, io
for path in [(), *paths(parser)]:
    before = set(loaded())
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.main([*path, "--help"])
        except SystemExit:
            pass
    new = sorted(set(loaded()) - before)
    report[" ".join(path) or "(main)"] = new
print(json.dumps(report))
"""


def _probe() -> dict[str, list[str]]:
    env = {"PYTHONPATH": str(REPO_ROOT / "src"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    return json.loads(out.stdout)


def test_no_parser_imports_anything_heavy() -> None:
    report = _probe()
    assert len(report) > 12, report  # the main parser, every command and the data/models sub-commands
    offenders = {cmd: mods for cmd, mods in report.items() if mods}
    assert not offenders, (
        f"building these parsers imported heavy modules: {offenders}; import them inside the "
        "command's run()/handler, and take option names from repalign.cli._choices"
    )


def test_choices_match_their_source_of_truth() -> None:
    from repalign.cli import _choices
    from repalign.data.triplets import TRIPLET_METRICS
    from repalign.metrics import ALL_METRICS, DEFAULT_METRICS, METRICS, TIE_POLICIES
    from repalign.robustness.evaluate import EVAL_DATASETS
    from repalign.similarity import SIMILARITY_FUNCTIONS
    from repalign.transfer.heads import OPTIMIZERS, STANDARDIZATIONS

    truth = {
        "METRICS": tuple(METRICS),
        "ALL_METRICS": tuple(ALL_METRICS),
        "DEFAULT_METRICS": tuple(DEFAULT_METRICS),
        "TIE_POLICIES": tuple(TIE_POLICIES),
        "TRIPLET_METRICS": dict(TRIPLET_METRICS),
        "SIMILARITY_FUNCTIONS": tuple(SIMILARITY_FUNCTIONS),
        "OPTIMIZERS": tuple(OPTIMIZERS),
        "STANDARDIZATIONS": tuple(STANDARDIZATIONS),
        "EVAL_DATASETS": tuple(sorted(EVAL_DATASETS)),
    }
    for name, expected in truth.items():
        got = getattr(_choices, name)
        got = tuple(sorted(got)) if name == "EVAL_DATASETS" else got
        assert got == expected, f"repalign.cli._choices.{name} = {got!r}; set it to {expected!r}"


@pytest.mark.parametrize("argv", [["--help"], ["align", "--help"], ["data", "list", "--help"]])
def test_help_still_prints_the_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from repalign.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: repalign" in capsys.readouterr().out


def _subparsers(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner, deeper in _subparsers(sub):
                    yield f"{name} {inner}", deeper


def test_help_never_says_default_none_or_a_default_twice():
    import re

    from repalign.cli import build_parser

    checked = 0
    for name, sub in _subparsers(build_parser()):
        text = " ".join(sub.format_help().split())
        assert "(default: None)" not in text, name
        assert not re.search(r"\(default: [^()]*(\([^()]*\)[^()]*)*\) \(default:", text), name
        checked += 1
    assert checked >= 12
    # a default that is a value is still shown
    align = dict(_subparsers(build_parser()))["align"]
    assert "(default: " in align.format_help()
