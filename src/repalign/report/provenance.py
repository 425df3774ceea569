"""The provenance section: how the results were made, read from the run folder.

From ``manifest.json`` (written by a study, :mod:`repalign.study.runner`): the run's name,
command line, config and fingerprint, library versions, creation time and machine; from
each ``units/*/record.json``: the model's weights file and SHA-256, the fingerprints of the
stimuli it saw, its time. What the run folder does not record is said to be missing, never
guessed; the machine and versions that built the report are listed separately.
"""

from __future__ import annotations

import datetime as _dt
import json
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._environment import machine_info, package_versions
from .model import Report, ReportContext
from .render import Table

__all__ = ["Provenance", "provenance_section"]

_LIBRARIES = ("numpy", "scipy", "pandas", "torch", "torchvision", "timm", "scikit-learn", "plotly", "jinja2", "matplotlib")


@dataclass
class Provenance:
    """Key/value lines and folded text blocks (rendered by the ``provenance`` macro)."""

    items: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[tuple[str, str]] = field(default_factory=list)


def _when(value: Any) -> str:
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(float(value), tz=_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def _versions(versions: dict[str, Any]) -> str:
    order = ["repalign", "python", "numpy", "torch", "timm"]
    keys = [k for k in order if k in versions] + sorted(k for k in versions if k not in order)
    return " · ".join(f"{k} {versions[k]}" for k in keys)


def _machine_value(key: str, value: Any) -> str:
    if isinstance(value, (list, tuple)):  # the GPUs: names, or none ("[]" is no way to say it)
        return ", ".join(str(v) for v in value) or "none"
    text = str(value)
    # a thread plan describes itself as "threads: ..."; under the key "threads" once is enough
    return text[len(key) + 2:] if text.startswith(f"{key}: ") else text


def _machine(machine: Any) -> str:
    if isinstance(machine, dict):
        return " · ".join(f"{k}: {_machine_value(str(k), v)}" for k, v in machine.items())
    return str(machine)


def _this_machine() -> dict[str, str]:
    return package_versions(_LIBRARIES)


def _weights(config: dict[str, Any]) -> str:
    """The weights a unit loaded; a random init with its seed (the seed is what reproduces it)."""
    weights = str(config.get("weights") or "–")
    if weights == "random-init" and config.get("seed") is not None:
        return f"random-init (seed {config['seed']})"
    return weights


def _unit_rows(units: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for uid, rec in units.items():
        config = rec.get("model_config") or {}
        stimuli = []
        for dataset, info in (rec.get("human") or {}).items():
            for domain, fp in (info.get("stimulus_fingerprints") or {}).items():
                stimuli.append(f"{dataset}/{domain}: {str(fp)[:16]}")
        for task, info in (rec.get("transfer") or {}).items():
            if info.get("stimulus_fingerprint"):
                stimuli.append(f"{task}: {str(info['stimulus_fingerprint'])[:16]}")
        rows.append({
            "model": rec.get("model", uid),
            # a zoo model is synthetic: its "weights" are the zoo settings (their digest is the hash)
            "weights": "synthetic (zoo settings)" if config.get("source") == "zoo" else _weights(config),
            "weights_sha256": str(config.get("weights_sha256") or "–"),
            "weights_file": str(config.get("weights_file") or "–"),
            "stimuli": "; ".join(stimuli) or "–",
            "seconds": rec.get("seconds", ""),
            "finished": _when(rec["finished"]) if "finished" in rec else "",
        })
    return pd.DataFrame(rows)


def provenance_section(rep: Report, ctx: ReportContext) -> None:
    """What made these results (see the module docstring); always present."""
    run = ctx.run
    manifest = run.manifest or {}
    sec = rep.section("provenance", "Provenance",
                      "Where these numbers come from: the run's own records (manifest.json and one record per unit), then what "
                      "built this page.")
    prov = Provenance()
    prov.items.append(("source", str(run.source)))
    if manifest:
        for key, label in (("name", "study"), ("fingerprint", "config fingerprint")):
            if key in manifest:
                prov.items.append((label, str(manifest[key])))
        if manifest.get("argv"):
            argv = manifest["argv"]
            prov.items.append(("command line", shlex.join(str(a) for a in argv) if isinstance(argv, list) else str(argv)))
        for key, label in (("created", "run created"), ("updated", "run last started")):
            if key in manifest:
                prov.items.append((label, _when(manifest[key])))
        if manifest.get("versions"):
            prov.items.append(("versions (run)", _versions(manifest["versions"])))
        prov.items.append(("machine (run)", _machine(manifest["machine"]) if manifest.get("machine") else "not recorded by this run"))
        if manifest.get("config") is not None:
            prov.blocks.append(("config", json.dumps(manifest["config"], indent=2, sort_keys=True, default=str)))
        if manifest.get("units"):
            prov.items.append(("units planned", str(len(manifest["units"]))))
    else:
        prov.items.append(("run records", "none: no manifest.json next to the results (a results table, not a study run folder)"))
    prov.items.append(("report built", _dt.datetime.now(tz=_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")))
    command = shlex.join(sys.argv) if sys.argv and sys.argv[0] not in ("", "-", "-c") else "the Python API"
    prov.items.append(("report command", command))
    prov.items.append(("versions (report)", _versions(_this_machine())))
    prov.items.append(("machine (report)", _machine(machine_info())))
    rep.add(sec, "provenance", prov)
    if run.units:
        units = _unit_rows(run.units)
        cells = units.set_index("model")[["weights", "weights_sha256", "stimuli", "seconds"]].copy()
        cells["weights_sha256"] = [s[:16] + "…" if len(s) > 17 else s for s in cells["weights_sha256"]]
        cells["seconds"] = [f"{float(v):.2f}" if str(v).strip() not in ("", "None", "nan") else "–" for v in cells["seconds"]]
        cells.columns = ["weights", "weights SHA-256", "stimuli fingerprints", "seconds"]
        cells = cells.astype(str)
        rep.add(sec, "table", Table("table_units", "", "Units of work.",
                                    "One row per finished unit: the weights it loaded (SHA-256 of the file; full hashes in the CSV), "
                                    "the fingerprints of the stimuli it saw and its time.", cells, units))
