"""``repalign align HUMAN F.npz`` when F is a multi-layer feature file: one row per layer."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ._common import add_ceiling, format_table, print_json


def run_layered(args: argparse.Namespace, rep_a: Any, noise_ceiling: Callable[..., tuple[Any, str]]) -> int:
    """Align every layer of ``args.b`` with ``rep_a``; JSON ``"layers": {name: {metric: value}}``.

    ``noise_ceiling(args, metrics, compared_ids)`` is align's own (ceiling, why-not) helper,
    so the ceiling is the one a single-layer run would print.
    """
    from ..models import compare_layers, load_layered_features

    layered = load_layered_features(args.b)
    results = compare_layers(
        rep_a, layered, metrics=args.metric, similarity=args.similarity, ties=args.ties, bootstrap=args.bootstrap,
        confidence=args.confidence, seed=args.seed, how="intersect" if args.intersect else "exact",
    )
    first = next(iter(results.values()))
    metrics = list(first.scores)
    in_b = set(layered.ids)
    ceiling, ceiling_note = noise_ceiling(args, metrics, [x for x in rep_a.ids if x in in_b])
    if args.json:
        out: dict[str, Any] = {
            "n_stimuli": first.n_stimuli, "similarity": first.similarity, "ties": first.ties,
            "layers": {name: dict(res.scores) for name, res in results.items()},
            "depth": {name: i for i, name in enumerate(results)},
            "a": {"path": args.a, "kind": rep_a.kind, "n_stimuli": rep_a.n_stimuli},
            "b": {"path": args.b, "kind": "layered features", "model_id": layered.metadata.get("model_id"),
                  "n_stimuli": len(layered.ids), "n_layers": len(layered.layers)},
        }
        if first.intervals:
            out["intervals"] = {name: {m: list(v) for m, v in res.intervals.items()} for name, res in results.items()}
            out["confidence"], out["n_bootstrap"] = first.confidence, first.n_bootstrap
        add_ceiling(out, ceiling, ceiling_note)
        print_json(out)
        return 0
    print(f"A: {args.a}: {rep_a.kind} ({rep_a.n_stimuli} stimuli)")
    print(f"B: {args.b}: {layered.metadata.get('model_id', 'model')}, {len(layered.layers)} layers "
          f"({args.similarity} similarity)")
    print(f"{first.n_stimuli} stimuli compared; triplet ties policy: {first.ties}\n")
    rows = []
    for depth, (name, res) in enumerate(results.items()):
        row = [name, str(depth)]
        for m in metrics:
            cell = f"{res.scores[m]:.4f}"
            if res.intervals:
                lo, hi = res.intervals[m]
                cell += f" [{lo:.4f}, {hi:.4f}]"
            row.append(cell)
        rows.append(row)
    print(format_table(rows, ["layer", "depth", *metrics]))
    if ceiling is not None:
        print("\nnoise ceiling [lower, upper]: " + ", ".join(
            f"{m} [{ceiling[m].lower:.4f}, {ceiling[m].upper:.4f}]" for m in metrics))
    elif ceiling_note:
        print(f"\nno noise ceiling: {ceiling_note}")
    return 0
