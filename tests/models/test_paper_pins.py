"""The paper's 489 model names pinned to timm weights: the committed table, a fresh derivation,
and the derivation rules on small synthetic tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import timm

from repalign import InputError
from repalign.models import paper_pins, resolve_name
from repalign.models.paper import (
    METHODS,
    PIN_COLUMNS,
    ResultRow,
    derive_paper_pins,
    paper_to_results_name,
    read_paper_names,
    read_pins,
    write_pins,
)
from repalign.models.resolve import paper_pins_header

ROOT = Path(__file__).resolve().parents[2]

#: Paper names with no weights in timm today, and why (the test fails if this list changes).
EXPECTED_UNRESOLVED = {
    "gluon_xception65": "timm dropped the Gluon Xception-65 weights; xception65.tf_in1k is other weights",
}


def test_committed_table_covers_the_paper_list(shared_data):
    names = read_paper_names(shared_data / "paper_models.txt")
    pins = paper_pins()
    assert [p.paper_name for p in pins] == names and len(names) == 489
    unresolved = {p.paper_name for p in pins if not p.resolved}
    assert unresolved == set(EXPECTED_UNRESOLVED)
    for p in pins:
        assert p.method in METHODS
        if p.resolved:
            assert timm.models.is_model_pretrained(p.timm_name), p  # the pinned weights exist in this timm
            assert p.results_2022_name == paper_to_results_name(p.paper_name)


@pytest.mark.skipif(timm.__version__ != paper_pins_header().get("timm"), reason="the pins were derived with another timm")
def test_committed_table_equals_a_fresh_derivation(shared_data, tmp_path):
    spec = importlib.util.spec_from_file_location("make_paper_pins", ROOT / "tools" / "make_paper_pins.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    pins, header = tool.derive(shared_data)
    fresh = tmp_path / "pins.csv"
    write_pins(pins, fresh, header=header)
    committed = ROOT / "src" / "repalign" / "models" / "paper_pins.csv"
    assert fresh.read_text() == committed.read_text(), "run: python tools/make_paper_pins.py"


@pytest.mark.parametrize(
    "paper, timm_name",
    [
        ("xcit_tiny_12_p16_224.dist", "xcit_tiny_12_p16_224.fb_dist_in1k"),  # the paper's '.dist'
        ("tf_efficientnet_b0_ns", "tf_efficientnet_b0.ns_jft_in1k"),        # deprecated name
        ("tf_efficientnet_b0", "tf_efficientnet_b0.aa_in1k"),               # default tag changed since
        ("resnet18", "resnet18.tv_in1k"),                                   # default tag changed since
        ("ig_resnext101_32x16d", "resnext101_32x16d.fb_wsl_ig1b_ft_in1k"),  # timm's map is wrong here
        ("convnext_base_384_in22ft1k", "convnext_base.fb_in22k_ft_in1k_384"),  # map beats a top-1 coincidence
    ],
)
def test_known_pins(paper, timm_name):
    assert {p.paper_name: p for p in paper_pins()}[paper].timm_name == timm_name
    assert resolve_name(f"paper:{paper}").model_id == f"timm:{timm_name}"


def row(model, top1, params=10.0, size=224, crop=0.875, interp="bicubic"):
    return ResultRow(model, size, top1, params, crop, interp)


def test_derivation_rules_on_synthetic_tables():
    old = [row("a_ns", 80.00), row("b", 75.00), row("c", 70.00), row("d", 60.00, crop=0.95), row("e", 50.0),
           row("f_old", 40.0, params=20.0), row("g", 30.0), row("h_gone", 20.0, params=5.0)]
    new = [
        row("a.ns_in1k", 80.30),                                    # map target: trusted despite +0.3
        row("b.x", 75.04), row("b.y", 75.90),                       # one within 0.06
        row("c.only", 70.50),                                       # single tag
        row("d.p", 60.01, crop=0.95), row("d.q", 59.98, crop=0.9),  # two within: eval config decides
        row("e.p", 50.2), row("e.q", 51.0),                         # none within: nearest
        row("f.wrong", 40.0, params=8.0), row("f_new.right", 40.01, params=20.0),  # map to other params
        row("g.p", 30.0), row("g.q", 30.0),                         # a tie that nothing breaks
        row("zz.other", 19.0, params=5.0),                          # nothing close
    ]
    tags = {"a": ["a.ns_in1k"], "b": ["b.x", "b.y"], "c": ["c.only"], "d": ["d.p", "d.q"], "e": ["e.p", "e.q"],
            "f": ["f.wrong"], "g": ["g.p", "g.q"]}
    pins = derive_paper_pins(
        ["a_ns", "b", "c", "d", "e", "f_old", "g", "h_gone", "missing"], old, new,
        deprecated={"a_ns": "a.ns_in1k", "f_old": "f.wrong"},
        pretrained_tags=lambda arch: tags.get(arch, []),
        is_architecture=lambda name: name in tags,
    )
    got = {p.paper_name: (p.timm_name, p.method) for p in pins}
    assert got == {
        "a_ns": ("a.ns_in1k", "deprecation-map"),
        "b": ("b.x", "top1-match"),
        "c": ("c.only", "single-tag"),
        "d": ("d.p", "top1-eval-match"),
        "e": ("e.p", "nearest-top1"),
        "f_old": ("f_new.right", "renamed-top1-match"),
        "g": ("", "unresolved"),
        "h_gone": ("", "unresolved"),
        "missing": ("", "unresolved"),
    }
    notes = {p.paper_name: p.note for p in pins}
    assert "+0.300" in notes["a_ns"] and "ambiguous" in notes["g"] and "2022-07" in notes["missing"]
    assert "8M parameters, not 20M" in notes["f_old"]


def test_pins_round_trip(tmp_path):
    pins = paper_pins()[:5]
    path = tmp_path / "p.csv"
    write_pins(pins, path, header=["timm: 0.0", "note: x"])
    back, header = read_pins(path.read_text())
    assert header == {"timm": "0.0", "note": "x"}
    assert [p.as_row() for p in back] == [p.as_row() for p in pins]
    assert path.read_text().splitlines()[2] == ",".join(PIN_COLUMNS)


def test_resolve_names():
    assert resolve_name("resnet50").model_id == "timm:resnet50.a1_in1k"
    r = resolve_name("resnet18")
    assert r.method == "default-tag" and "paper:resnet18" in r.note
    assert resolve_name("timm:vit_base_patch16_224.augreg_in1k").method == "exact"
    assert resolve_name("tf_efficientnet_b0_ns").method == "deprecated-name"
    fixed = resolve_name("ig_resnext101_32x16d")  # timm would load the 32x8d weights
    assert fixed.model_id == "timm:resnext101_32x16d.fb_wsl_ig1b_ft_in1k" and fixed.method == "paper-pin"
    assert not resolve_name("paper:gluon_xception65").resolved
    assert resolve_name("hf:org/model").method == "as-given"
    with pytest.raises(InputError, match="did you mean resnet50"):
        resolve_name("resnt50")
    with pytest.raises(InputError, match="not one of the paper's 489"):
        resolve_name("paper:resnet5000")
    with pytest.raises(InputError, match="Valid sources: timm:.*paper:.*Did you mean 'timm'"):
        resolve_name("tim:resnet50")
