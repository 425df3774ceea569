"""``repalign data list|info|fetch|add|ceiling``: the human datasets."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

from ._common import HelpFormatter, add_json_flag, format_table, print_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "data",
        help="human datasets: list, describe, fetch, register, noise ceilings",
        description="Human similarity and triplet datasets: what they are, where the local copy is, and how "
        "reliable they are. References such as peterson2018:animals name a dataset part wherever a file is accepted.",
    )
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True

    q = sub.add_parser("list", help="the known datasets and whether a local copy exists")
    add_json_flag(q)
    q.set_defaults(handler=run_list)

    q = sub.add_parser("info", help="citation, licence, layout, and what the local copy holds")
    q.add_argument("name", help="dataset name, e.g. peterson2018")
    q.add_argument("--data-root", "--root", dest="root", type=Path,
                   help="folder holding the datasets (e.g. ../shared/data) or the dataset's own folder "
                   "(default: the registered copy)")
    q.add_argument("--verify", action="store_true", help="check the registered copy against its recorded hashes")
    add_json_flag(q)
    q.set_defaults(handler=run_info)

    q = sub.add_parser("fetch", help="download a dataset's verified files (or explain how to obtain it)")
    q.add_argument("name", help="dataset name, e.g. lee or cifar100")
    q.add_argument("--root", type=Path, help="where to put the files (default: <data dir>/NAME)")
    q.set_defaults(handler=run_fetch)

    q = sub.add_parser("add", help="register a copy you already have (structure checked, hashes recorded)")
    q.add_argument("name", help="a built-in name (see repalign data list) or a new name for your own data")
    q.add_argument("path", type=Path, help="the folder holding the copy")
    add_json_flag(q)
    q.set_defaults(handler=run_add)

    from ._choices import METRICS

    q = sub.add_parser(
        "ceiling",
        help="split-half reliability and noise ceilings of human data",
        description="Noise ceiling of each metric: 'lower' = one half of the participants against the other, "
        "'upper' = each half against the full data, 'corrected' (pearson) = sqrt of the Spearman-Brown reliability. "
        "Give a dataset reference with split halves, --halves A B, or --ratings FILE (participant, stim_a, stim_b, rating).",
        formatter_class=HelpFormatter,
    )
    q.add_argument("source", nargs="?", help="a dataset reference with split halves (peterson2018:animals), or "
                   "triplets with repeated trials (things:test, or a triplet file)")
    q.add_argument("--data-root", type=Path, help="folder holding the datasets (e.g. ../shared/data) or the "
                   "referenced dataset's own folder")
    q.add_argument("--halves", nargs=2, metavar=("A", "B"), help="the matrices of two halves of the participants")
    q.add_argument("--ratings", type=Path, help="long table of per-participant ratings")
    q.add_argument("--metric", default=",".join(METRICS), help=f"comma-separated, of: {', '.join(METRICS)}")
    q.add_argument("--ties", default="half", choices=("half", "exclude"), help="tie policy of the triplet metric")
    q.add_argument("--n-splits", type=int, default=100, help="random splits averaged (--ratings)")
    q.add_argument("--seed", type=int, default=0, help="seed of the random splits (--ratings)")
    add_json_flag(q)
    q.set_defaults(handler=run_ceiling)


def _wrap(label: str, text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=f"  {label:<9} ", subsequent_indent=" " * 12)


def _local(name: str, root: Path | None) -> tuple[Any, Path | None, str]:
    """(scan or None, root or None, how the root was found / why none)."""
    from .._errors import DataNotFoundError
    from ..data.registry import dataset_root, scan_dataset

    if root is not None:
        r, how = dataset_root(name, root)  # a missing --root folder is an error
        return scan_dataset(name, r), r, how
    try:
        r, how = dataset_root(name)
    except DataNotFoundError as exc:
        return None, None, str(exc)
    return scan_dataset(name, r), r, how


def run_list(args: argparse.Namespace) -> int:
    from ..data.registry import dataset_names, get_dataset, registered_datasets

    rows = []
    registered = registered_datasets()
    for name in dataset_names():
        ds = get_dataset(name)
        try:
            _, root, how = _local(name, None)
            error = how if root is None and name in registered else None  # registered, but gone
        except Exception as exc:  # noqa: BLE001 - a broken copy must not hide the other datasets
            root, how, error = None, None, str(exc)
        rows.append({
            "name": name,
            "kind": ds.kind,
            "role": ds.role,
            "parts": list(ds.parts),
            "download": f"{len(ds.remote)} verified files" if ds.remote else "manual (see info)",
            "local": str(root) if root is not None else None,
            "local_source": how if root is not None else None,
            "local_error": error,
            "title": ds.title,
        })
    if args.json:
        print_json({"datasets": rows})
        return 0
    table = [
        [r["name"], r["kind"], r["role"], r["download"],
         f"{r['local']} ({r['local_source']})" if r["local"] else (f"error: {r['local_error']}" if r["local_error"] else "not found"),
         r["title"]]
        for r in rows
    ]
    print(format_table(table, ["name", "kind", "role", "download", "local copy", "title"]))
    return 0


def _print_matrix_scan(scan: Any) -> None:
    rows = []
    for domain, part in scan.parts.items():
        names = "yes" if part.names.available else "no"
        rows.append([domain, str(part.n_stimuli), part.image_status(), names,
                     "yes" if part.split_halves else "no", part.layout])
    for domain, problem in scan.problems.items():
        rows.append([domain, "-", "-", "-", "-", f"unavailable: {problem}"])
    print(format_table(rows, ["domain", "stimuli", "images", "names", "split halves", "layout"]))
    with_images = [d for d, p in scan.parts.items() if p.has_images]
    matrix_only = [d for d, p in scan.parts.items() if not p.has_images]
    sizes = sorted({p.n_stimuli for p in scan.parts.values()})
    size_text = f"{sizes[0]} stimuli each" if len(sizes) == 1 else f"{', '.join(map(str, sizes))} stimuli"
    print(f"\n{len(scan.parts)} domains readable ({size_text}); images for {len(with_images)}"
          + (f" ({', '.join(with_images)})" if with_images else "")
          + (f"; matrix only: {', '.join(matrix_only)}" if matrix_only else "") + ".")
    for domain, part in scan.parts.items():
        if part.images is not None and not part.images.complete:
            print(part.images.problem(f"{domain}"))
        for note in part.notes:
            print(f"{domain}: {note}")
        if not part.names.available:
            print(f"{domain}: no stimulus names: {part.names.source}")


def _print_things_scan(scan: Any) -> None:
    print(f"{scan.n_concepts} concepts")
    if scan.embedding:
        e = scan.embedding
        print(f"embedding {e['reference']}: {e['n_items']} x {e['n_dimensions']} ({e['file']})")
    else:
        print("embedding: not in this copy")
    rows = []
    for v in scan.triplets.values():
        c = v.get("noise_ceiling")
        ceiling = f"[{c['lower']:.4f}, {c['upper']:.4f}] ({c['n_repeated']} repeated)" if c else "- (no repeats)"
        rows.append([v["reference"], v["format"], str(v["n_triplets"]), str(v["n_items_used"]),
                     str(v["n_participants"]), ceiling])
    if rows:
        print(format_table(rows, ["triplets", "format", "trials", "items used", "participants", "noise ceiling"]))
    for part, problem in scan.problems.items():
        print(f"{part}: unavailable: {problem}")


def run_info(args: argparse.Namespace) -> int:
    from ..data.registry import get_dataset, registered_datasets, verify_registered

    ds = get_dataset(args.name)
    scan, root, how = _local(args.name, args.root)
    verification = verify_registered(args.name) if args.verify else None
    if args.json:
        out = ds.to_dict()
        out["local"] = {"root": str(root), "root_source": how, **scan.to_dict()} if scan is not None else None
        if scan is None:
            out["local_error"] = how
        if args.name in registered_datasets():
            out["registered"] = {k: v for k, v in registered_datasets()[args.name].items() if k != "files"}
        if verification is not None:
            out["verification"] = verification
        print_json(out)
        return 0
    print(f"{ds.name}: {ds.title}")
    for label, text in (("citation", ds.citation), ("licence", ds.licence), ("stimuli", ds.stimuli), ("layout", ds.layout)):
        print(_wrap(label + ":", text))
    if ds.remote:
        for r in ds.remote:
            print(_wrap("download:", f"{r.filename} from {r.url} ({r.known_hash}; verified by: {r.hash_source})"))
    else:
        print(_wrap("download:", ds.obtain))
    if scan is None:
        print(_wrap("local:", f"none. {how}"))
        return 0
    print(_wrap("local:", f"{root} ({how})"))
    print()
    if hasattr(scan, "lines"):
        print("\n".join(scan.lines()))
    elif hasattr(scan, "parts"):
        _print_matrix_scan(scan)
    else:
        _print_things_scan(scan)
    if verification is not None:
        bad = verification["changed"] + verification["missing"]
        print(f"\nverification: {'intact' if not bad else f'{len(bad)} files changed or missing since registration'}"
              + (f"; {len(verification['added'])} files added" if verification["added"] else ""))
        return 1 if bad else 0
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from ..data.registry import fetch_dataset

    path = fetch_dataset(args.name, args.root)
    print(f"{args.name}: available at {path}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from ..data.registry import register_dataset

    entry = register_dataset(args.name, args.path)
    if args.json:
        out = {k: v for k, v in entry.items() if k != "files"}
        out.update(name=args.name, n_files=len(entry["files"]))
        print_json(out)
        return 0
    print(f"registered {args.name} at {entry['path']}: parts {', '.join(entry['parts'])}; "
          f"{len(entry['files'])} files hashed (sha256)")
    for part, problem in entry["problems"].items():
        print(f"  {part}: unavailable: {problem}")
    return 0


def run_ceiling(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..evaluation.ceilings import noise_ceiling, part_ceiling, ratings_noise_ceiling, read_ratings

    given = [x for x in (args.source, args.halves, args.ratings) if x]
    if len(given) != 1:
        raise InputError("give exactly one of: a dataset reference, --halves A B, or --ratings FILE.")
    if args.source and _is_triplet_source(args.source, args.data_root):
        return _triplet_ceiling(args)
    if args.ratings:
        result = ratings_noise_ceiling(read_ratings(args.ratings), metrics=args.metric, n_splits=args.n_splits,
                                       seed=args.seed, ties=args.ties, name=str(args.ratings))
    elif args.halves:
        from ..io import load_representation

        first, second = (Path(h) for h in args.halves)
        if first.exists() and second.exists() and first.resolve() == second.resolve():
            raise InputError(f"--halves {args.halves[0]} {args.halves[1]}: the same file twice; give the matrices of "
                             "two different halves of the participants.")
        halves = tuple(load_representation(h) for h in args.halves)
        result = noise_ceiling(*halves, metrics=args.metric, ties=args.ties)
    else:
        from ..data.references import matrix_part

        found = part_ceiling(matrix_part(args.source, data_root=args.data_root), metrics=args.metric, ties=args.ties)
        if found is None:
            raise InputError(f"{args.source}: this copy has no split-half matrices (split_halves/<part>_first_half.csv).")
        result = found
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"noise ceiling of {result.source} ({result.n_stimuli} stimuli, from {result.method}"
          + (f", {args.n_splits} random splits" if result.method == "ratings" else "") + ")")
    if result.reliability is not None:
        rel = result.reliability
        print(f"split-half reliability: r = {rel.r_half:.4f} over {rel.n_pairs} pairs; Spearman-Brown {rel.reliability:.4f}")
    rows = []
    for e in result.estimates.values():
        lower = f"{e.lower:.4f}" + (f" ± {e.lower_sd:.4f}" if e.n_splits > 1 else "")
        upper = f"{e.upper:.4f}" + (f" ± {e.upper_sd:.4f}" if e.n_splits > 1 else "")
        rows.append([e.metric, lower, upper, f"{e.corrected:.4f}" if e.corrected is not None else "-"])
    print(format_table(rows, ["metric", "lower (half vs half)", "upper (half vs all)", "corrected"]))
    return 0


def _is_triplet_source(source: str, data_root: Path | None) -> bool:
    from ..data.references import is_reference, parse_reference
    from ..data.registry import get_dataset

    if is_reference(source):
        return get_dataset(parse_reference(source).name).kind == "triplets"
    return Path(source).is_file()  # a file given as SOURCE is a triplet file (matrices go with --halves)


def _triplet_ceiling(args: argparse.Namespace) -> int:
    from ..data.references import resolve_triplets
    from ..evaluation.triplets import triplet_ceiling

    data = resolve_triplets(args.source, data_root=args.data_root)
    c = triplet_ceiling(data)
    if args.json:
        print_json({"source": str(args.source), **c.to_dict()})
        return 0
    print(f"noise ceiling of {args.source}: {c.n_repeated} triplets asked more than once ({c.n_trials} trials)")
    print(format_table([[c.metric, f"{c.lower:.4f}", f"{c.upper:.4f}"]],
                       ["metric", "lower (person vs person)", "upper (most frequent answer)"]))
    return 0
