"""The on-disk store of a study run: one atomic record per finished unit.

Layout of a run directory::

    RUN_DIR/
      manifest.json            config, its hash, versions, start time, plan
      study.log                the log of every invocation
      units/<key>/             one folder per finished unit, complete or absent
        record.json            unit id, status, timings, provenance (hashes, seeds)
        <table>.parquet        the unit's rows of each result table
      failed/<key>.json        the error and traceback of a unit's last failed attempt
      results.parquet, ...     the collected tables (rewritten after every run)

A unit is written to a temporary folder next to ``units/`` and renamed into place with one
``os.rename``, which is atomic on POSIX file systems: a reader (or a resumed run after
``kill -9``) sees either the whole record or none of it. Only the driver process writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import InputError

__all__ = ["RunStore", "UnitResult", "unit_key", "STATUSES"]

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("done", "failed", "pending")
_RECORD = "record.json"


def unit_key(unit_id: str) -> str:
    """A file-system-safe, collision-free folder name for a unit id.

    Examples
    --------
    >>> unit_key("timm:resnet50.a1_in1k")
    'timm_resnet50.a1_in1k-4d4ea6ef'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", unit_id).strip("._")[:80] or "unit"
    digest = hashlib.sha256(unit_id.encode()).hexdigest()[:8]
    return f"{safe}-{digest}"


@dataclass
class UnitResult:
    """What one unit of work produced: named tables plus a JSON-able record."""

    unit_id: str
    tables: dict[str, pd.DataFrame]
    record: dict[str, Any]


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunStore:
    """Read and write the records of one run directory (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.units_dir = self.root / "units"
        self.failed_dir = self.root / "failed"

    # -- manifest -------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.is_file():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{self.manifest_path}: corrupt manifest ({exc}).") from exc

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(self.manifest_path, dict(manifest))

    # -- units ----------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the folders and remove temporary folders left by a killed run."""
        self.units_dir.mkdir(parents=True, exist_ok=True)
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.units_dir.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
            log.info("removed an incomplete unit left by an interrupted run: %s", leftover.name)

    def unit_dir(self, unit_id: str) -> Path:
        return self.units_dir / unit_key(unit_id)

    def is_done(self, unit_id: str) -> bool:
        return (self.unit_dir(unit_id) / _RECORD).is_file()

    def write_unit(self, result: UnitResult) -> Path:
        """Write a finished unit atomically; an existing record for it is an error."""
        final = self.unit_dir(result.unit_id)
        if final.exists():
            raise InputError(f"unit {result.unit_id!r} is already recorded in {final}; refusing to duplicate it.")
        tmp = self.units_dir / f".tmp-{final.name}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        tables = {}
        for name, frame in result.tables.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise InputError(f"table name {name!r} must be lower-case letters, digits and underscores.")
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
            tables[name] = int(len(frame))
        record = {**result.record, "unit_id": result.unit_id, "tables": tables, "finished": time.time()}
        with open(tmp / _RECORD, "w") as fh:
            json.dump(record, fh, indent=2, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        os.rename(tmp, final)  # the commit point
        _fsync_dir(self.units_dir)
        failed = self.failed_dir / f"{final.name}.json"
        if failed.exists():
            failed.unlink()
        return final

    def write_failure(self, unit_id: str, error: BaseException | str, *, tb: str | None = None, attempt_seconds: float | None = None) -> None:
        """Record a unit's failure (replacing an earlier one); the unit stays pending for retries."""
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if tb is None and isinstance(error, BaseException):
            tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        _write_json(
            self.failed_dir / f"{unit_key(unit_id)}.json",
            {"unit_id": unit_id, "error": message, "traceback": tb, "time": time.time(), "seconds": attempt_seconds},
        )

    def failures(self) -> dict[str, dict[str, Any]]:
        out = {}
        for path in sorted(self.failed_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError:
                continue
            out[data["unit_id"]] = data
        return out

    def done_units(self) -> dict[str, Path]:
        """Finished units (id -> folder); unreadable records are reported and skipped."""
        out: dict[str, Path] = {}
        if not self.units_dir.is_dir():
            return out
        for folder in sorted(self.units_dir.iterdir()):
            if folder.name.startswith(".") or not (folder / _RECORD).is_file():
                continue
            try:
                out[json.loads((folder / _RECORD).read_text())["unit_id"]] = folder
            except (json.JSONDecodeError, KeyError) as exc:
                log.warning("ignoring unreadable unit record %s (%s)", folder, exc)
        return out

    def status(self, planned: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per unit: ``unit_id``, ``status`` (done/failed/pending), ``error``."""
        done = self.done_units()
        failed = self.failures()
        if planned is None:
            manifest = self.read_manifest() or {}
            planned = manifest.get("units", [])
        ids = list(dict.fromkeys([*planned, *done, *failed]))
        rows = []
        for uid in ids:
            if uid in done:
                rows.append({"unit_id": uid, "status": "done", "error": ""})
            elif uid in failed:
                rows.append({"unit_id": uid, "status": "failed", "error": failed[uid]["error"]})
            else:
                rows.append({"unit_id": uid, "status": "pending", "error": ""})
        return pd.DataFrame(rows, columns=["unit_id", "status", "error"])

    def collect(self, table: str) -> pd.DataFrame:
        """Concatenate one table over all finished units (sorted by unit id for stability)."""
        frames = []
        for uid, folder in sorted(self.done_units().items()):
            path = folder / f"{table}.parquet"
            if path.is_file():
                frames.append(pd.read_parquet(path))
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)
