"""``repalign models``: list model ids (and whether they load offline), resolve names to pinned
ids, and list a model's layers."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_json_flag, format_table, print_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "models",
        help="list models and resolve model names to pinned ids",
        description="List the models each source can load here, or resolve names (timm names, "
        "deprecated timm names, the paper's model names) to pinned source:name ids.",
    )
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    ls = sub.add_parser(
        "list", help="list model ids (timm pretrained, EfficientNet-Lite, torchvision, ...)",
        description="List model ids matching PATTERN (a glob such as 'resnet5*', or a substring).",
    )
    ls.add_argument("pattern", nargs="?", metavar="PATTERN")
    ls.add_argument("--paper", action="store_true", help="the paper's model names, with their pinned timm ids")
    ls.add_argument("--source", help="only this source (timm, torchvision, open_clip, efficientnet-lite, ...)")
    ls.add_argument("--sources", action="store_true", help="list the model sources instead")
    ls.add_argument("--offline", action="store_true", help="only the ids that can load offline now (weights on this machine)")
    ls.add_argument("--status", action="store_true",
                    help="say for each id whether it can load offline now and where its weights are")
    add_json_flag(ls)
    ls.set_defaults(handler=run_list)
    ly = sub.add_parser(
        "layers", help="list a model's layers in forward order with their output shapes",
        description="Run one dummy image through MODEL and list its modules in the order the forward pass "
        "calls them, with the output shape of each for one stimulus (the batch dimension dropped). A "
        "module called more than once (a reused activation) is listed at its last call, whose output is what "
        "extract reads. The names are what `repalign extract --layer/--layers` take.",
    )
    ly.add_argument("model", metavar="MODEL")
    ly.add_argument("--weights", metavar="FILE", help="local weights (safetensors or a PyTorch state dict)")
    ly.add_argument("--random-init", action="store_true", help="random weights (the layers are the same)")
    ly.add_argument("--image-size", type=int, metavar="PX", help="override the model's input resolution")
    ly.add_argument("--json", action="store_true", help='print a JSON list of {"name", "shape"} objects')
    ly.set_defaults(handler=run_layers)
    rs = sub.add_parser(
        "resolve", help="resolve names to pinned model ids",
        description="Resolve each NAME to a pinned id: 'resnet50' -> 'timm:resnet50.a1_in1k', "
        "'paper:ig_resnext101_32x16d' -> 'timm:resnext101_32x16d.fb_wsl_ig1b_ft_in1k'. "
        "--paper prints the whole pins table of the paper's 489 models.",
    )
    rs.add_argument("names", nargs="*", metavar="NAME")
    rs.add_argument("--paper", action="store_true", help="print the paper's pins table (NAMES filter it)")
    add_json_flag(rs)
    rs.set_defaults(handler=run_resolve)
    p.set_defaults(handler=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_list(args: argparse.Namespace) -> int:
    from ..models import list_models, list_sources

    if args.sources:
        rows = list_sources()
        if args.json:
            print_json(rows)
        else:
            print(format_table([[r["prefix"] + ":", r["extra"], r["example"], r["summary"]] for r in rows],
                               ["source", "extra", "example", "what"]))
        return 0
    if args.paper:  # the paper source's names, each with the timm id it pins to
        from ..models import resolve_name

        pinned = [(mid.partition(":")[2], resolve_name(mid).model_id or None) for mid in list_models(args.pattern, source="paper")]
        if args.json:
            print_json([{"paper_name": n, "model_id": m} for n, m in pinned])
        else:
            print(format_table([[n, m.partition(":")[2] if m else "(unresolved)"] for n, m in pinned],
                               ["paper name", "timm name"]))
        return 0
    from ..models import weights_status

    ids = list_models(args.pattern, source=args.source)
    status = {mid: weights_status(mid) for mid in ids} if (args.offline or args.status) else {}
    if args.offline:
        ids = [mid for mid in ids if status[mid]["present"]]
    if args.status:
        if args.json:
            print_json([{"model_id": mid, "offline": status[mid]["present"], **status[mid]} for mid in ids])
        else:
            print(format_table([[mid, "yes" if status[mid]["present"] else "no", status[mid]["where"]] for mid in ids],
                               ["model id", "offline now", "weights"]))
    elif args.json:
        print_json(ids)
    else:
        for mid in ids:
            print(mid)
    return 0


def run_layers(args: argparse.Namespace) -> int:
    from .._errors import DataNotFoundError
    from ..models import list_layers

    try:
        rows = list_layers(args.model, pretrained=False if args.random_init else None, weights=args.weights,
                           image_size=args.image_size)
    except DataNotFoundError as exc:
        if args.random_init or args.weights:
            raise
        raise DataNotFoundError(f"{exc} The layers do not depend on the weights: add --random-init to list them "
                                "without.").with_traceback(exc.__traceback__) from exc.__cause__
    if args.json:
        print_json([{"name": r["name"], "shape": r["shape"]} for r in rows])
    else:
        # A module called several times is listed at its last call, whose output is what extract reads.
        print(format_table([[str(i), r["name"], r["type"] + (f" ({r['calls']} calls, last)" if r["calls"] > 1 else ""),
                             "x".join(map(str, r["shape"]))] for i, r in enumerate(rows)],
                           ["depth", "name", "module", "output shape"]))
    return 0


def run_resolve(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..models import paper_pins, resolve_name

    if args.paper:
        pins = paper_pins()
        if args.names:
            wanted = set(args.names)
            pins = [p for p in pins if p.paper_name in wanted or p.results_2022_name in wanted]
        if args.json:
            print_json([p.as_row() for p in pins])
        else:
            print(format_table(
                [[p.paper_name, p.timm_name or "-", p.results_2022_name or "-", p.method, p.note] for p in pins],
                ["paper name", "timm name", "2022-07 results name", "resolved by", "note"],
            ))
        return 0
    if not args.names:
        raise InputError("models resolve needs at least one NAME (or --paper for the paper's table).")
    rows, failed = [], 0
    for name in args.names:
        try:
            rows.append(resolve_name(name).to_dict())
        except InputError as exc:
            failed += 1
            rows.append({"requested": name, "model_id": "", "method": "error", "note": str(exc)})
    if args.json:
        print_json(rows)
    else:
        print(format_table([[r["requested"], r["model_id"] or "-", r["method"], r["note"]] for r in rows],
                           ["name", "model id", "resolved by", "note"]))
    return 2 if failed or any(not r["model_id"] for r in rows) else 0
