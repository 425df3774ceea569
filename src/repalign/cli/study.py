"""``repalign study [CONFIG]``: run, resume or plan a study; ``repalign status RUN_DIR``."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from .._text import counted
from ._common import HelpFormatter, add_json_flag, format_table, print_json

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "study",
        help="run (or resume) a study described by a YAML config; no config: the built-in offline study",
        description="Runs every model of the study as one unit (extract -> align -> few-shot -> robustness "
        "join), writing each unit atomically, so re-running the same command resumes. At the end the "
        "collected tables are analysed and reported. See docs/study.md.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("config", nargs="?", type=Path, help="study YAML (default: the built-in offline study)")
    p.add_argument("--dry-run", action="store_true", help="resolve models and data and print the plan; run nothing")
    p.add_argument("--executor", choices=("local", "ray", "slurm"), help="override the config's executor")
    p.add_argument("--workers", type=int, help="local executor: parallel worker processes")
    p.add_argument("--address", help="Ray cluster address (default: start a local cluster)")
    p.add_argument("--slurm-cluster", choices=("slurm", "local", "debug"), default="slurm",
                   help="SLURM executor: 'slurm' submits with sbatch; 'local' runs the job array on submitit's "
                   "local cluster (this machine), to try a config before submitting it")
    p.add_argument("--units-per-task", type=int, default=1, metavar="N",
                   help="SLURM executor: units per job-array task (more for short units)")
    p.add_argument("--out", type=Path, help="override the config's output folder")
    p.add_argument("--data-root", type=Path, help="the folder holding the human datasets (peterson2018/); with a "
                   "config it replaces human.data_root, for the built-in study it also holds cifar10/")
    add_json_flag(p)
    p.set_defaults(handler=run_study_command)

    s = subparsers.add_parser(
        "status",
        help="done / failed / pending units of a study run",
        description="Shows the state of every unit of a run directory, with the error of failed ones.",
    )
    s.add_argument("run_dir", type=Path, help="a study's output folder")
    add_json_flag(s)
    s.set_defaults(handler=run_status)


def _configs(args: argparse.Namespace) -> list[Any]:
    from .._errors import InputError
    from ..study.config import load_config
    from ..study.plan import default_configs, with_data_root, with_output

    if args.config is not None:
        config = load_config(args.config)
        if args.data_root is not None:
            if not args.data_root.is_dir():
                raise InputError(f"--data-root {args.data_root}: no such folder (the folder holding peterson2018/).")
            config = with_data_root(config, args.data_root)
        return [with_output(config, args.out) if args.out else config]
    return default_configs(args.data_root, args.out or Path("runs/study"))


def run_study_command(args: argparse.Namespace) -> int:
    from ..study.plan import run_study

    configs = _configs(args)
    if args.dry_run:
        return _dry_run(configs, args)

    summaries = []
    exit_code = 0
    for config in configs:
        log.info("study %r -> %s (progress lines: [done/total] unit; the log is also in study.log there)", config.name, config.output)
        started = time.perf_counter()
        run, outputs = run_study(config, executor=args.executor, workers=args.workers, address=args.address,
                                 slurm_cluster=args.slurm_cluster, units_per_task=args.units_per_task)
        # the whole command (units, tables, analysis, report): `seconds` is the units' phase alone, which is 0 s
        # when every unit was already done or only collected from an earlier driver's tasks
        wall = time.perf_counter() - started
        summaries.append({
            "name": config.name, "run_dir": str(run.run_dir), "planned": len(run.planned),
            "skipped": len(run.skipped), "finished": len(run.finished), "failed": run.failed,
            "seconds": round(run.seconds, 1), "wall_seconds": round(wall, 1), "report": str(outputs.get("report", "")),
            "tables": {k: str(v) for k, v in outputs["tables"].items()}, "notes": outputs["notes"],
        })
        if run.failed:
            exit_code = 1
    if args.json:
        print_json(summaries if len(summaries) > 1 else summaries[0])
        return exit_code
    for s in summaries:
        print(f"{s['name']}: {s['finished']} run, {s['skipped']} already done, {len(s['failed'])} failed "
              f"of {counted(s['planned'], 'unit')}; units {s['seconds']:.0f} s, in all {s['wall_seconds']:.0f} s")
        if s["report"]:
            print(f"  report: {s['report']}")
        if "results" in s["tables"]:
            _print_results(s["tables"]["results"])
        for unit, error in list(s["failed"].items())[:10]:
            print(f"  failed: {unit}: {error}")
        for note in s["notes"][:5]:
            print(f"  note:   {note}")
        if len(s["notes"]) > 5:
            print(f"  note:   ... and {len(s['notes']) - 5} more (see the report's notes)")
    return exit_code


def _dry_run(configs: list[Any], args: argparse.Namespace) -> int:
    from ..study.estimate import estimate_time, parameter_download_bytes, weights_report
    from ..study.plan import make_plan

    reports = []
    for config in configs:
        plan = make_plan(config)
        weights = weights_report(plan.units, plan.model_options)
        for uid, approx in parameter_download_bytes(plan, weights).items():
            weights[uid]["download_bytes_from_parameters"] = approx  # download_bytes stays None: not recorded
        timing = estimate_time(plan)
        info = plan.to_dict()
        info["weights"] = weights
        info["estimate"]["seconds"] = round(timing["seconds"], 1)
        info["estimate"]["basis"] = timing["basis"]
        # images of a transfer set that is not here, priced at its published size (not in images_to_embed)
        info["estimate"]["images_priced_per_model"] = timing["priced_images_per_model"]
        info["estimate"]["seconds_per_model"] = {k: round(v, 2) for k, v in timing["per_model"].items()}
        info["notes"] = [*info["notes"], *timing["notes"]]
        reports.append((plan, info, timing))
    if args.json:
        dicts = [info for _, info, _ in reports]
        print_json(dicts if len(dicts) > 1 else dicts[0])
        return 0
    for plan, info, timing in reports:
        _print_plan(plan, info, timing)
    return 0


def _size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} GB"  # pragma: no cover


#: Models shown in the dry run's per-model table (``--json`` lists every one).
PLAN_ROWS = 8


def _weights_state(w: dict[str, Any]) -> str:
    """``present``, ``missing``, or what a model loads instead of weights (``random-init``, ``synthetic``)."""
    where = str(w.get("where") or "")
    if w.get("present") and where.startswith("random initialisation"):
        return "random-init"
    if w.get("present") and where.startswith("synthetic"):
        return "synthetic"
    return "present" if w.get("present") else "missing"


def _weights_line(weights: dict[str, dict[str, Any]]) -> str:
    absent = [w for w in weights.values() if not w.get("present")]
    recorded = [w["download_bytes"] for w in absent if w.get("download_bytes")]
    approx = [w["download_bytes_from_parameters"] for w in absent
              if not w.get("download_bytes") and w.get("download_bytes_from_parameters")]
    states = [_weights_state(w) for w in weights.values()]
    # a random init or a zoo model loads no weights: "present in the cache" would claim a file
    nothing = [f"{states.count(k)} {k} ({why})" for k, why in (("random-init", "no weights to load"),
                                                               ("synthetic", "zoo models, no weights")) if k in states]
    parts = [", ".join([f"{states.count('present')} present in the local cache", *nothing, f"{len(absent)} missing"])]
    if recorded:
        parts.append(f"{_size(sum(recorded))} to download for {len(recorded)} (recorded sizes)")
    if approx:
        parts.append(f"about {_size(sum(approx))} for {len(approx)} (parameters x 4 bytes; the hub's sizes "
                     "are not recorded locally)")
    unknown = len(absent) - len(recorded) - len(approx)
    if unknown:
        parts.append(f"{unknown} of unknown size")
    return "; ".join(parts)


def _model_rows(info: dict[str, Any], timing: dict[str, Any]) -> list[list[str]]:
    from ..study.runner import format_eta

    rows = []
    for uid, w in info["weights"].items():
        if w.get("present"):
            state, size = _weights_state(w), ""
        else:
            state = "missing"
            size = (_size(w["download_bytes"]) if w.get("download_bytes") else
                    f"~{_size(w['download_bytes_from_parameters'])}" if w.get("download_bytes_from_parameters") else "?")
        seconds = timing["per_model"].get(uid)
        rows.append([uid, state, size, "done" if seconds is None else format_eta(seconds)])
    return rows


def _print_plan(plan: Any, info: dict[str, Any], timing: dict[str, Any]) -> None:
    from ..study.runner import format_eta  # one duration format for plans and run lines

    est = plan.estimate()
    print(f"study {plan.config.name!r} -> {plan.config.output}")
    print(f"  units:      {counted(est['units'], 'model')} ({est['zoo_models']} synthetic, "
          f"{counted(est['image_models'], 'image model')})")
    if plan.unresolved:
        print(f"  unresolved: {len(plan.unresolved)}: {'; '.join(plan.unresolved[:5])}")
    for h in plan.human:
        print(f"  human:      {h['name']}: {counted(len(h['parts']), 'part')}" + (f", images for {', '.join(h['with_images'])}" if h.get("with_images") else ""))
    for t in plan.transfer:
        print(f"  transfer:   {t['name']}: shots {t['shots']}, heads {', '.join(t['heads'])}, {t['seeds']} seeds"
              + (f", {t['n_images']} images" if "n_images" in t else " (not on this machine)"))
    if plan.robustness.get("tables"):
        print(f"  robustness: {plan.robustness['tables']} ({counted(len(plan.robustness.get('unmatched', [])), 'model')} without a row)")
    print(f"  weights:    {_weights_line(info['weights'])}")
    per_model = est["images_to_embed_per_model"] + timing.get("priced_images_per_model", 0)
    priced = (f", of which {timing['priced_images_per_model']:,} at a missing transfer set's published size"
              if timing.get("priced_images_per_model") else "")
    print(f"  work:       {est['image_models'] * per_model:,} images to embed ({per_model:,} per image model{priced}), "
          f"{est['fewshot_fits']:,} few-shot fits")
    basis = "; ".join(f"{k}: {v}" for k, v in timing["basis"].items()) or "nothing left to run"
    workers = plan.config.execution.workers if plan.config.execution.executor == "local" else 1
    print(f"  time:       about {format_eta(timing['seconds'])} for {counted(timing['remaining_units'], 'unit')} on one worker"
          + (f", {format_eta(timing['seconds'] / workers)} on {workers}" if workers > 1 else "")
          + f" (estimate; {basis})")
    if len(timing["per_model"]) > 1:
        import statistics

        longest = max(timing["per_model"], key=timing["per_model"].get)
        print(f"  per model:  median {format_eta(statistics.median(timing['per_model'].values()))}, longest "
              f"{longest} ({format_eta(timing['per_model'][longest])})")
    for item in plan.missing:
        print(f"  MISSING:    {item}")
    for note in [*plan.notes, *timing["notes"]]:
        print(f"  note:       {note}")
    rows = _model_rows(info, timing)
    if rows:
        print("  " + format_table(rows[:PLAN_ROWS], ["model", "weights", "download", "time"]).replace("\n", "\n  "))
        if len(rows) > PLAN_ROWS:
            print(f"  ... {len(rows) - PLAN_ROWS} more models (--json lists every one with its weights and time)")


def _print_results(path: str, limit: int = 12) -> None:
    """The headline columns of a results table: alignment and the first few-shot columns."""
    import pandas as pd

    frame = pd.read_parquet(path)
    cols = [c for c in ("pearson", "spearman", "kendall", "triplet") if c in frame.columns]
    cols += [c for c in frame.columns if c.startswith("fewshot_")][:3]
    rows = [[str(r["model"])] + [f"{r[c]:.3f}" if c in ("pearson", "spearman", "kendall", "triplet") else f"{r[c]:.1f}" for c in cols]
            for _, r in frame.head(limit).iterrows()]
    print("  " + format_table(rows, ["model", *cols]).replace("\n", "\n  "))
    if len(frame) > limit:
        print(f"  ... {len(frame) - limit} more rows in {path}")


def run_status(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..study.store import RunStore

    store = RunStore(args.run_dir)
    if store.read_manifest() is None:
        raise InputError(f"{args.run_dir}: not a study run directory (no manifest.json).")
    table = store.status()
    counts = table["status"].value_counts().to_dict()
    if args.json:
        print_json({
            "run_dir": str(args.run_dir),
            "counts": {k: int(counts.get(k, 0)) for k in ("done", "failed", "pending")},
            "units": table.to_dict(orient="records"),
        })
        return 0
    print(f"{args.run_dir}: {counts.get('done', 0)} done, {counts.get('failed', 0)} failed, {counts.get('pending', 0)} pending")
    rows = [[r.unit_id, r.status, (r.error[:100] + "...") if len(r.error) > 100 else r.error] for r in table.itertuples()]
    if rows:
        print(format_table(rows, ["unit", "status", "error"]))
    return 0
