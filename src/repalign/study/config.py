"""Study configuration: a YAML file validated into typed dataclasses.

Validation is strict: an unknown key is an error (with the closest valid key suggested),
every value is type-checked, and every error names its place in the file
(``transfer[0].shots[2]``) and shows at most a short excerpt of the offending value. YAML
is read by :mod:`._yaml` (safe tags only, duplicate keys refused, alias expansion bounded);
nothing in a config is ever evaluated as code.

See ``docs/study.md`` for every key and ``configs/paper.yaml`` for the paper's study.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._files import safe_filename
from .slurm import SlurmSettings

__all__ = [
    "StudyConfig",
    "HumanConfig",
    "TransferTask",
    "RobustnessConfig",
    "AnalysisConfig",
    "ExtractionConfig",
    "ExecutionConfig",
    "load_config",
    "config_from_dict",
]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 60, 60


def _r(value: Any) -> str:
    """A bounded repr for error messages: a huge (or alias-expanded) value is never rendered whole."""
    return _REPR.repr(value)


class _Section:
    """Reads one mapping of a config, checking types and refusing unknown keys."""

    def __init__(self, data: Any, where: str, source: str):
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: {where} must be a mapping (key: value), got {type(data).__name__}.")
        self.data = dict(data)
        self.where = where
        self.source = source
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        key = key if len(key) <= 60 else key[:57] + "..."
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.source}: {self._path(key)}: {message}")

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def str_(self, key: str, default: str | None = None, *, choices: Sequence[str] | None = None, required: bool = False) -> str | None:
        value = self.get(key, default)
        if value is None:
            if required:
                raise self.error(key, "is required.")
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_r(value)}.")
        if choices is not None and value not in choices:
            close = difflib.get_close_matches(value, list(choices), n=1)
            hint = f" Did you mean {_r(close[0])}?" if close else ""
            raise self.error(key, f"{_r(value)} is not one of {', '.join(choices)}.{hint}")
        return value

    def int_(self, key: str, default: int, *, minimum: int | None = None) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {_r(value)}.")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}.")
        return value

    def float_(self, key: str, default: float | None) -> float | None:
        value = self.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"must be a number, got {_r(value)}.")
        return float(value)

    def bool_(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_r(value)}.")
        return value

    def list_(self, key: str, default: Sequence[Any], *, item: type | tuple[type, ...] = str, choices: Sequence[str] | None = None) -> list[Any]:
        value = self.get(key, list(default))
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise self.error(key, f"must be a list, got {_r(value)}.")
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, item):
                raise self.error(f"{key}[{i}]", f"must be {getattr(item, '__name__', item)}, got {_r(v)}.")
            if choices is not None and v not in choices:
                close = difflib.get_close_matches(str(v), list(choices), n=1)
                hint = f" Did you mean {_r(close[0])}?" if close else ""
                raise self.error(f"{key}[{i}]", f"{_r(v)} is not one of {', '.join(choices)}.{hint}")
        if not value:
            raise self.error(key, "must not be empty.")
        return list(value)

    def path_(self, key: str, base: Path | None, default: str | None = None) -> Path | None:
        value = self.str_(key, default)
        if value is None:
            return None
        p = Path(os.path.expandvars(value)).expanduser()
        return p if p.is_absolute() or base is None else (base / p)

    def finish(self) -> None:
        unknown = [k for k in self.data if k not in self.used]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), sorted(self.used), n=1)
            hint = f" Did you mean {_r(close[0])}?" if close else f" Valid keys: {', '.join(sorted(self.used))}."
            raise self.error(str(key), f"unknown key.{hint}")


@dataclass(frozen=True)
class HumanConfig:
    datasets: tuple[str, ...] = ("peterson2018",)
    data_root: Path | None = None
    metrics: tuple[str, ...] = ("pearson", "spearman", "triplet")
    similarity: str = "cosine"
    ties: str = "half"


@dataclass(frozen=True)
class TransferTask:
    name: str
    dataset: str
    root: Path | None = None
    shots: tuple[int, ...] = (1, 5, 10, 20, 40, 80)
    heads: tuple[str, ...] = ("linear", "mlp1", "mlp2")
    seeds: int = 5
    max_per_class: int | None = None


@dataclass(frozen=True)
class RobustnessConfig:
    tables: Path | None = None


@dataclass(frozen=True)
class AnalysisConfig:
    covariate: str | None = "imagenet_top1"
    k: int = 5
    report: bool = True


@dataclass(frozen=True)
class ExtractionConfig:
    batch_size: int = 32
    device: str = "auto"
    num_workers: int = 0
    precision: str = "fp32"
    weights_dir: Path | None = None


@dataclass(frozen=True)
class ExecutionConfig:
    executor: str = "local"
    workers: int = 1
    address: str | None = None
    slurm: SlurmSettings = field(default_factory=SlurmSettings)


@dataclass(frozen=True)
class StudyConfig:
    """A whole study; see ``docs/study.md``."""

    name: str
    output: Path
    models: tuple[Any, ...]
    human: HumanConfig = field(default_factory=HumanConfig)
    transfer: tuple[TransferTask, ...] = ()
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    extraction: ExtractionConfig = field(default_factory=ExtractionConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    zoo: dict[str, Any] | None = None
    source: str = "<dict>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (paths as strings), as recorded in the manifest."""
        def clean(obj: Any) -> Any:
            if isinstance(obj, Path):
                return str(obj)
            if isinstance(obj, dict):
                return {k: clean(v) for k, v in obj.items()}
            if isinstance(obj, (list, tuple)):
                return [clean(v) for v in obj]
            return obj

        d = clean(asdict(self))
        d.pop("source", None)
        return d

    def fingerprint(self) -> str:
        """Hash of everything that changes unit results (not the executor, output or analysis)."""
        d = self.to_dict()
        for volatile in ("output", "execution", "name", "analysis"):
            d.pop(volatile, None)
        d["extraction"].pop("num_workers", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _models(value: Any, source: str) -> tuple[Any, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise InputError(f"{source}: models must be a non-empty list of model ids, patterns or 'paper'.")
    out: list[Any] = []
    for i, item in enumerate(value):
        where = f"models[{i}]"
        if isinstance(item, str):
            if not item.strip():
                raise InputError(f"{source}: {where}: empty model id.")
            out.append(item.strip())
        elif isinstance(item, Mapping):
            sec = _Section(item, where, source)
            pattern = sec.str_("pattern")
            model_id = sec.str_("id")
            weights = sec.str_("weights")
            limit = sec.get("limit")
            pretrained = sec.get("pretrained")
            seed = sec.get("seed")
            image_size = sec.get("image_size")
            sec.finish()
            if (pattern is None) == (model_id is None):
                raise InputError(f"{source}: {where}: give exactly one of 'id' or 'pattern'.")
            for key, value, minimum in (("limit", limit, 1), ("seed", seed, 0), ("image_size", image_size, 8)):
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
                    raise InputError(f"{source}: {where}.{key}: must be an integer >= {minimum}, got {_r(value)}.")
            if pretrained is not None and not isinstance(pretrained, bool):
                raise InputError(f"{source}: {where}.pretrained: must be true or false, got {_r(pretrained)}.")
            if pattern is not None and weights is not None:
                raise InputError(f"{source}: {where}: 'weights' applies to one model id, not a pattern.")
            if weights is not None and pretrained is False:
                raise InputError(f"{source}: {where}: 'weights' and 'pretrained: false' contradict each other.")
            entries = (("pattern", pattern), ("id", model_id), ("weights", weights), ("limit", limit),
                       ("pretrained", pretrained), ("seed", seed), ("image_size", image_size))
            out.append({k: v for k, v in entries if v is not None})
        else:
            raise InputError(f"{source}: {where}: must be a model id string or a mapping with 'id' or 'pattern', got {_r(item)}.")
    return tuple(out)


def config_from_dict(data: Mapping[str, Any], *, source: str = "<dict>", base: Path | None = None) -> StudyConfig:
    """Validate a parsed config mapping (see :func:`load_config`)."""
    from ..metrics import METRICS, TIE_POLICIES
    from ..similarity import SIMILARITY_FUNCTIONS

    top = _Section(data, "", source)
    name = top.str_("name", "study")
    output = top.path_("output", base)
    if output is None:  # the name becomes the folder under runs/: it must stay there
        try:
            output = Path("runs") / safe_filename(name)
        except InputError:
            raise InputError(
                f"{source}: name: {name!r} would be the run folder runs/{name}, outside runs/ (no '/', '\\', "
                "'..' or drive in a name); use a plain name such as 'my-study', or set output: to the folder you want."
            ) from None
    if "models" not in top.data:
        raise InputError(f"{source}: models: is required (a list of model ids, patterns, or 'paper').")
    models = _models(top.get("models"), source)

    h = _Section(top.get("human"), "human", source)
    human = HumanConfig(
        datasets=tuple(h.list_("datasets", HumanConfig.datasets)),
        data_root=h.path_("data_root", base),
        metrics=tuple(h.list_("metrics", HumanConfig.metrics, choices=METRICS)),
        similarity=h.str_("similarity", "cosine", choices=SIMILARITY_FUNCTIONS) or "cosine",
        ties=h.str_("ties", "half", choices=TIE_POLICIES) or "half",
    )
    h.finish()

    raw_transfer = top.get("transfer", [])
    if isinstance(raw_transfer, Mapping):
        raw_transfer = [raw_transfer]
    if not isinstance(raw_transfer, list):
        raise InputError(f"{source}: transfer: must be a list of tasks, got {_r(raw_transfer)}.")
    tasks = []
    for i, item in enumerate(raw_transfer):
        t = _Section(item, f"transfer[{i}]", source)
        dataset = t.str_("dataset", required=True)
        shots = t.list_("shots", TransferTask.shots, item=int)
        for j, s in enumerate(shots):
            if s < 1:
                raise t.error(f"shots[{j}]", f"must be >= 1, got {s}.")
        task = TransferTask(
            name=t.str_("name", dataset.split(":")[0]) or dataset,
            dataset=dataset,
            root=t.path_("root", base),
            shots=tuple(shots),
            heads=tuple(t.list_("heads", TransferTask.heads, choices=("linear", "mlp1", "mlp2"))),
            seeds=t.int_("seeds", 5, minimum=1),
            max_per_class=t.get("max_per_class"),
        )
        if task.max_per_class is not None and (isinstance(task.max_per_class, bool) or not isinstance(task.max_per_class, int) or task.max_per_class < 2):
            raise t.error("max_per_class", f"must be an integer >= 2, got {_r(task.max_per_class)}.")
        t.finish()
        tasks.append(task)
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InputError(f"{source}: transfer: task names must be unique; got {names}.")

    r = _Section(top.get("robustness"), "robustness", source)
    robustness = RobustnessConfig(tables=r.path_("tables", base))
    r.finish()

    a = _Section(top.get("analysis"), "analysis", source)
    cov = a.get("covariate", "imagenet_top1")
    if cov is not None and not isinstance(cov, str):
        raise a.error("covariate", f"must be a column name or null, got {_r(cov)}.")
    analysis = AnalysisConfig(covariate=cov, k=a.int_("k", 5, minimum=1), report=a.bool_("report", True))
    a.finish()

    e = _Section(top.get("extraction"), "extraction", source)
    device = e.str_("device", "auto") or "auto"
    # only the spelling here: the units may run on other machines (a SLURM GPU node) than this one
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device.strip().lower()):
        raise e.error("device", f"{device!r} is not a device name (auto, cpu, cuda, cuda:N, mps).")
    extraction = ExtractionConfig(
        batch_size=e.int_("batch_size", 32, minimum=1),
        device=device,
        num_workers=e.int_("num_workers", 0, minimum=0),
        precision=e.str_("precision", "fp32", choices=("fp32", "bf16")) or "fp32",
        weights_dir=e.path_("weights_dir", base),
    )
    e.finish()

    x = _Section(top.get("execution"), "execution", source)
    execution = ExecutionConfig(
        executor=x.str_("executor", "local", choices=("local", "ray", "slurm")) or "local",
        workers=x.int_("workers", 1, minimum=1),
        address=x.str_("address"),
        slurm=_slurm_section(x.get("slurm"), source),
    )
    x.finish()
    zoo = _zoo_section(top.get("zoo"), source)
    top.finish()
    return StudyConfig(name, output, models, human, tuple(tasks), robustness, analysis, extraction, execution, zoo, source)


def _slurm_section(value: Any, source: str) -> SlurmSettings:
    d = SlurmSettings()
    sl = _Section(value, "execution.slurm", source)
    mem = sl.float_("mem_gb", d.mem_gb)
    if mem is None or mem <= 0:
        raise sl.error("mem_gb", f"must be a positive number, got {_r(mem)}.")
    settings = SlurmSettings(
        partition=sl.str_("partition"),
        gpus_per_task=sl.int_("gpus_per_task", d.gpus_per_task, minimum=0),
        cpus_per_task=sl.int_("cpus_per_task", d.cpus_per_task, minimum=1),
        mem_gb=mem,
        time_min=sl.int_("time_min", d.time_min, minimum=1),
        array_parallelism=sl.int_("array_parallelism", d.array_parallelism, minimum=1),
    )
    sl.finish()
    return settings


#: Settings of the synthetic zoo a study may give (arguments of repalign.theory.make_zoo).
ZOO_KEYS: dict[str, type | tuple[type, ...]] = {
    "n_classes": int, "n_per_class": int, "dim": int, "separation": (int, float),
    "models_per_family": int, "feature_dim": int, "rotation_fraction": (int, float), "seed": int,
}


def _zoo_section(value: Any, source: str) -> dict[str, Any] | None:
    if value is None:
        return None
    z = _Section(value, "zoo", source)
    out: dict[str, Any] = {}
    for key, kind in ZOO_KEYS.items():
        v = z.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, kind):
            raise z.error(key, f"must be a number of type {getattr(kind, '__name__', 'number')}, got {_r(v)}.")
        out[key] = v
    z.finish()
    return out


def load_config(path: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate a study YAML file.

    Relative paths in the file (``output``, ``data_root``, ...) are relative to the current
    working directory, like paths given on the command line.

    Raises
    ------
    InputError
        For YAML syntax errors, unknown keys, wrong types or values, naming the place.
    """
    from ._yaml import load_yaml_text

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such study config file.")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the study config ({exc}).") from exc
    return config_from_dict(load_yaml_text(text, str(p)), source=str(p))
