"""What every unit of a study receives: one typed, picklable context, built at plan time.

The plan resolves the config once (datasets scanned, transfer sets checked, model options
parsed) and hands each unit a :class:`UnitContext`. The human datasets travel with their
plan-time scans (:class:`HumanTarget.scan`: the matrices and the image paths), so a unit
never scans a dataset again, in this process, a worker process, a Ray task or a SLURM job.

Examples
--------
>>> ctx = UnitContext(human=(HumanTarget("zoo", "zoo"),), metrics=("pearson",))
>>> import pickle; pickle.loads(pickle.dumps(ctx)) == ctx
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HumanTarget", "TransferSpec", "ExtractionSettings", "UnitContext", "ZOO_DATASET"]

#: The reference of the synthetic zoo's teacher (as a human dataset) and its classes (as a
#: transfer task); they apply to the zoo's models only.
ZOO_DATASET = "zoo"


@dataclass(frozen=True)
class HumanTarget:
    """One human dataset of the study, resolved at plan time.

    ``reference`` as written in the config (``peterson2018``, ``peterson2018:animals``,
    ``zoo``); ``parts`` the domains the study uses, ``with_images`` those whose images this
    copy has; ``n_available`` how many domains the dataset has in all (for
    ``n_domains_available``); ``scan`` the plan-time scan (None for the zoo).
    """

    reference: str
    name: str
    root: str | None = None
    parts: tuple[str, ...] = ()
    with_images: tuple[str, ...] = ()
    n_available: int = 1
    n_images: int = 0
    scan: Any = field(default=None, compare=False, repr=False)

    @property
    def is_zoo(self) -> bool:
        return self.reference == ZOO_DATASET

    def summary(self) -> dict[str, Any]:
        """The JSON-able description in the plan and the manifest."""
        return {"name": self.reference, "root": self.root, "parts": list(self.parts),
                "with_images": list(self.with_images), "n_images": self.n_images}


@dataclass(frozen=True)
class TransferSpec:
    """One few-shot transfer task, resolved at plan time."""

    name: str
    dataset: str
    root: str | None = None
    shots: tuple[int, ...] = (1, 5, 10, 20, 40, 80)
    heads: tuple[str, ...] = ("linear", "mlp1", "mlp2")
    seeds: int = 5
    max_per_class: int | None = None
    n_images: int | None = None
    n_classes: int | None = None

    @property
    def is_zoo(self) -> bool:
        return self.dataset == ZOO_DATASET

    @property
    def fits(self) -> int:
        return len(self.shots) * len(self.heads) * self.seeds

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dataset": self.dataset, "root": self.root,
                               "shots": list(self.shots), "heads": list(self.heads), "seeds": self.seeds,
                               "max_per_class": self.max_per_class}
        if self.n_images is not None:
            out.update(n_images=self.n_images, n_classes=self.n_classes)
        return out


@dataclass(frozen=True)
class ExtractionSettings:
    """How image models embed (keyword arguments of :func:`repalign.models.extract_features`)."""

    batch_size: int = 32
    device: str = "auto"
    num_workers: int = 0
    precision: str = "fp32"

    def kwargs(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "device": self.device, "num_workers": self.num_workers,
                "precision": self.precision}


@dataclass(frozen=True)
class UnitContext:
    """Everything a unit needs besides its model id (see the module docstring).

    ``model_options`` maps a model id to its :class:`repalign.models.ModelOptions` (weights,
    random init, image size); ``zoo`` the settings of the synthetic zoo; ``threads`` the
    torch threads of a unit whose problems are tiny (the zoo's), None to leave them.
    """

    human: tuple[HumanTarget, ...] = ()
    metrics: tuple[str, ...] = ("pearson", "spearman", "triplet")
    similarity: str = "cosine"
    ties: str = "half"
    transfer: tuple[TransferSpec, ...] = ()
    extraction: ExtractionSettings = field(default_factory=ExtractionSettings)
    fewshot_device: str = "cpu"
    zoo: Mapping[str, Any] = field(default_factory=dict)
    model_options: Mapping[str, Any] = field(default_factory=dict)
    robustness_tables: str | None = None
    threads: int | None = None
