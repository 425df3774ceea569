"""The on-disk store of a study run: one atomic record per finished unit.

Layout of a run directory::

    RUN_DIR/
      manifest.json            config, its hash, versions, start time, plan
      study.log                the log of every invocation
      units/<key>/             one folder per finished unit, complete or absent
        record.json            unit id, status, timings, provenance (hashes, seeds)
        <table>.parquet        the unit's rows of each result table
      units/<key>.broken-<t>/  a unit found unreadable or incomplete, kept for inspection
      failed/<key>.json        the error and traceback of a unit's last failed attempt
      running/<key>.json       a unit the in-process executor is running (pid, start time)
      results.parquet, ...     the collected tables (rewritten after every run)

A unit is written to a temporary folder next to ``units/`` and renamed into place with one
``os.rename``, which is atomic on POSIX file systems: a reader (or a resumed run after
``kill -9``) sees either the whole record or none of it. Only the driver process writes.

The store heals itself: a unit folder whose ``record.json`` cannot be read, or whose tables
are missing, truncated or hold another number of rows than the record says, is moved aside
to ``units/<key>.broken-<timestamp>/`` (kept for inspection) and its unit runs again.
Collection reads every table in full and names the unit it could not read; ``status``
applies the same checks, so it never calls a unit done that collection would refuse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import InputError
from .._files import atomic_path, atomic_write_text

__all__ = ["RunStore", "UnitResult", "unit_key", "STATUSES"]

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("done", "failed", "pending")
_RECORD = "record.json"
_BROKEN = ".broken-"


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
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str), what="study record")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process of that id
        return True
    return True


def check_unit_folder(folder: Path) -> tuple[str | None, str | None]:
    """``(unit_id, problem)`` of one unit folder; ``problem`` is None for a complete unit.

    A unit is complete when ``record.json`` parses, names its unit and lists its tables,
    and every listed table exists, reads in full (footer and every data page) and holds
    that many rows.
    """
    import pyarrow.parquet as pq

    record_path = folder / _RECORD
    if not record_path.is_file():
        return None, "no record.json"
    try:
        record = json.loads(record_path.read_text())
        unit_id = record["unit_id"]
        tables = record["tables"]
        if not isinstance(unit_id, str) or not isinstance(tables, dict):
            raise TypeError("unit_id or tables of the wrong type")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        return None, f"unreadable record.json ({type(exc).__name__}: {_one_line(exc)})"
    for name, n_rows in tables.items():
        path = folder / f"{name}.parquet"
        if not path.is_file():
            return unit_id, f"{path.name} is missing"
        try:
            found = pq.read_table(path).num_rows
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
            return unit_id, f"{path.name} is unreadable ({type(exc).__name__}: {_one_line(exc)})"
        if found != n_rows:
            return unit_id, f"{path.name} holds {found} rows, the record says {n_rows}"
    return unit_id, None


class RunStore:
    """Read and write the records of one run directory (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.units_dir = self.root / "units"
        self.failed_dir = self.root / "failed"
        self.running_dir = self.root / "running"

    # -- manifest -------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.is_file():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.manifest_path}: corrupt manifest ({exc}); use a new output folder (--out).") from exc

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(self.manifest_path, dict(manifest))

    # -- units ----------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the folders and remove temporary folders left by a killed run."""
        for folder in (self.units_dir, self.failed_dir, self.running_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.units_dir.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
            log.info("removed an incomplete unit left by an interrupted run: %s", leftover.name)

    def unit_dir(self, unit_id: str) -> Path:
        return self.units_dir / unit_key(unit_id)

    def is_done(self, unit_id: str) -> bool:
        folder = self.unit_dir(unit_id)
        return folder.is_dir() and check_unit_folder(folder)[1] is None

    def _unit_folders(self) -> list[Path]:
        if not self.units_dir.is_dir():
            return []
        return [f for f in sorted(self.units_dir.iterdir())
                if f.is_dir() and not f.name.startswith(".") and _BROKEN not in f.name]

    def scan(self) -> tuple[dict[str, Path], dict[Path, str]]:
        """``(done, broken)``: complete units (id -> folder) and damaged folders (folder -> problem)."""
        done: dict[str, Path] = {}
        broken: dict[Path, str] = {}
        for folder in self._unit_folders():
            unit_id, problem = check_unit_folder(folder)
            if problem is None and unit_id is not None and folder.name == unit_key(unit_id):
                done[unit_id] = folder
            else:
                broken[folder] = problem or f"its record names unit {unit_id!r}, which belongs in another folder"
        return done, broken

    def heal(self) -> list[Path]:
        """Move every damaged unit folder aside (``<key>.broken-<timestamp>``); its unit reruns."""
        moved = []
        for folder, problem in self.scan()[1].items():
            target = folder.with_name(f"{folder.name}{_BROKEN}{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
            os.rename(folder, target)
            log.warning("unit folder %s is damaged (%s): moved aside to %s; the unit runs again",
                        folder.name, problem, target.name)
            moved.append(target)
        if moved:
            _fsync_dir(self.units_dir)
        return moved

    def write_unit(self, result: UnitResult) -> Path:
        """Write a finished unit atomically; an existing complete record for it is an error.

        A damaged folder in the way is moved aside first (see :meth:`heal`).
        """
        final = self.unit_dir(result.unit_id)
        if final.exists():
            if check_unit_folder(final)[1] is None:
                raise InputError(f"unit {result.unit_id!r} is already recorded in {final}; refusing to duplicate it.")
            self.heal()
        self.units_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.units_dir, prefix=f".tmp-{final.name}-"))
        try:
            tables = {}
            for name, frame in result.tables.items():
                if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                    raise InputError(f"table name {name!r} must be lower-case letters, digits and underscores.")
                with atomic_path(tmp / f"{name}.parquet", what="unit table") as part:
                    frame.to_parquet(part, index=False)
                tables[name] = int(len(frame))
            record = {**result.record, "unit_id": result.unit_id, "tables": tables, "finished": time.time()}
            _write_json(tmp / _RECORD, record)
            os.chmod(tmp, 0o777 & ~_umask())
            _fsync_dir(tmp)
            os.rename(tmp, final)  # the commit point
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(self.units_dir)
        for leftover in (self.failed_dir / f"{final.name}.json", self.running_dir / f"{final.name}.json"):
            leftover.unlink(missing_ok=True)
        return final

    # -- failures and units in flight --------------------------------------------------
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
        (self.running_dir / f"{unit_key(unit_id)}.json").unlink(missing_ok=True)

    def failures(self) -> dict[str, dict[str, Any]]:
        out = {}
        for path in sorted(self.failed_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                out[data["unit_id"]] = data
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
                log.warning("ignoring an unreadable failure record %s (%s)", path, exc)
        return out

    def mark_running(self, unit_id: str) -> None:
        """Note that this process runs ``unit_id`` now (cleared when its outcome is written)."""
        self.running_dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.running_dir / f"{unit_key(unit_id)}.json",
                    {"unit_id": unit_id, "pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})

    def interrupted(self, *, dead_only: bool = True) -> dict[str, dict[str, Any]]:
        """Units whose in-process run never reported back (the process exited or was killed).

        With ``dead_only``, a unit whose driver is still alive on this host is left out.
        """
        out = {}
        if not self.running_dir.is_dir():
            return out
        host = socket.gethostname()
        for path in sorted(self.running_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                unit_id, pid = data["unit_id"], int(data["pid"])
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
                continue
            if dead_only and data.get("host") == host and _pid_alive(pid) and pid != os.getpid():
                continue
            out[unit_id] = data
        return out

    def clear_running(self, unit_id: str) -> None:
        (self.running_dir / f"{unit_key(unit_id)}.json").unlink(missing_ok=True)

    # -- reading -------------------------------------------------------------------------
    def done_units(self) -> dict[str, Path]:
        """Complete units (id -> folder); damaged ones are logged and left out (see :meth:`heal`)."""
        done, broken = self.scan()
        for folder, problem in broken.items():
            log.warning("unit folder %s is not a complete unit (%s); the next run moves it aside and reruns it",
                        folder, problem)
        return done

    def status(self, planned: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per unit: ``unit_id``, ``status`` (done/failed/pending), ``error``.

        A damaged unit folder counts as failed (collection could not read it), and so does a
        unit whose in-process run ended without an outcome (its process exited or was killed).
        """
        done, broken = self.scan()
        failed = {uid: f["error"] for uid, f in self.failures().items()}
        if planned is None:
            manifest = self.read_manifest() or {}
            planned = manifest.get("units", [])
        planned = list(planned)
        by_key = {unit_key(u): u for u in planned}
        for folder, problem in broken.items():
            uid = by_key.get(folder.name, folder.name)
            failed[uid] = f"damaged unit folder {folder.name} ({problem}); the next run moves it aside and reruns it"
        for uid, info in self.interrupted().items():
            if uid not in done:
                failed[uid] = (f"the process running this unit (pid {info.get('pid')}) ended without an outcome "
                               "(a hard exit or a kill); the next run reruns it in a child process")
        ids = list(dict.fromkeys([*planned, *done, *failed]))
        rows = []
        for uid in ids:
            if uid in done:
                rows.append({"unit_id": uid, "status": "done", "error": ""})
            elif uid in failed:
                rows.append({"unit_id": uid, "status": "failed", "error": failed[uid]})
            else:
                rows.append({"unit_id": uid, "status": "pending", "error": ""})
        return pd.DataFrame(rows, columns=["unit_id", "status", "error"])

    def collect(self, table: str) -> pd.DataFrame:
        """Concatenate one table over all finished units (sorted by unit id for stability).

        Every table is read in full and its row count checked against the unit's record; a
        table that cannot be read, or a damaged unit folder, is an error naming the unit.
        """
        done, broken = self.scan()
        if broken:
            folder, problem = next(iter(broken.items()))
            raise InputError(
                f"{len(broken)} unit folder(s) in {self.units_dir} are damaged, e.g. {folder.name} ({problem}); "
                "run the study again to move them aside and recompute them."
            )
        frames = []
        for uid, folder in sorted(done.items()):
            path = folder / f"{table}.parquet"
            if not path.is_file():
                continue
            try:
                frame = pd.read_parquet(path)
                expected = json.loads((folder / _RECORD).read_text())["tables"].get(table)
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
                raise InputError(
                    f"unit {uid!r}: {path} cannot be read ({type(exc).__name__}: {_one_line(exc)}); run the study again to "
                    "move the unit aside and recompute it."
                ) from exc
            if expected is not None and len(frame) != expected:
                raise InputError(f"unit {uid!r}: {path} holds {len(frame)} rows, its record says {expected}; "
                                 "run the study again to move the unit aside and recompute it.")
            frames.append(frame)
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
