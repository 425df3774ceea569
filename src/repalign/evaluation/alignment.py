"""Aligning one model with every domain of a human dataset, as the paper does.

Sucholutsky & Griffiths (2023) score each model on the six Peterson et al. (2018)
domains and average each metric over them. :func:`align_dataset` does this for any
matrix dataset: it asks the model for one representation per domain, compares it with the
human matrix (:func:`repalign.compare`), adds the noise ceiling where the copy has split
halves, and averages each metric over the domains that entered, listing them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import parse_list, preview
from ..metrics import DEFAULT_METRICS, METRICS, compare
from ..representations import Representation
from .ceilings import NoiseCeiling, part_ceiling

__all__ = ["DomainStimuli", "DatasetAlignment", "align_dataset"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainStimuli:
    """What a model gets to build its representation of one domain.

    Attributes
    ----------
    reference : str
        ``"peterson2018:animals"``.
    domain : str
    ids : tuple of str
        Stimulus ids in the human matrix's order.
    image_paths : tuple of Path or None
        One image per id, same order; None when this copy has no (complete) images.
    names : tuple of str or None
        One text name per id (for text models); None when there are none.
    """

    reference: str
    domain: str
    ids: tuple[str, ...]
    image_paths: tuple[Path, ...] | None
    names: tuple[str, ...] | None


#: A model: representations by domain, or a function from a domain's stimuli to one (or None).
Model = Union[Mapping[str, Representation], Callable[[DomainStimuli], Union[Representation, None]]]


@dataclass
class DatasetAlignment:
    """Per-domain alignment of one model with a dataset, and the mean over domains.

    Attributes
    ----------
    dataset : str
    metrics : list of str
    per_domain : DataFrame
        Columns ``domain``, ``n_stimuli`` and one per metric; one row per domain that entered.
    aggregate : dict
        Metric -> mean over the domains that entered.
    domains : list of str
        The domains that entered the aggregate.
    not_entered : dict
        Domain -> why it did not enter (no model representation, missing from the copy).
    ceilings : dict
        Domain -> :class:`~repalign.evaluation.ceilings.NoiseCeiling` where split halves exist.
    """

    dataset: str
    metrics: list[str]
    per_domain: pd.DataFrame
    aggregate: dict[str, float]
    domains: list[str]
    not_entered: dict[str, str]
    ceilings: dict[str, NoiseCeiling] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when no domain was left out."""
        return not self.not_entered

    def to_long(self, model: str) -> pd.DataFrame:
        """Rows ``model, dataset, metric, value`` (the ``alignment.parquet`` schema); dataset is the domain."""
        rows = [
            {"model": model, "dataset": row["domain"], "metric": m, "value": float(row[m])}
            for _, row in self.per_domain.iterrows()
            for m in self.metrics
        ]
        return pd.DataFrame(rows, columns=["model", "dataset", "metric", "value"])

    def to_wide(self, model: str) -> dict[str, Any]:
        """One results-table row: ``model``, each metric's mean, and ``<metric>_<domain>`` columns."""
        out: dict[str, Any] = {"model": model, **self.aggregate}
        for _, row in self.per_domain.iterrows():
            for m in self.metrics:
                out[f"{m}_{row['domain']}"] = float(row[m])
        return out

    def ceiling_frame(self) -> pd.DataFrame:
        """Noise ceilings: ``domain``, ``metric``, ``lower``, ``upper``, ``corrected``."""
        rows = [
            {"domain": d, "metric": m, "lower": e.lower, "upper": e.upper, "corrected": e.corrected}
            for d, c in self.ceilings.items()
            for m, e in c.estimates.items()
        ]
        return pd.DataFrame(rows, columns=["domain", "metric", "lower", "upper", "corrected"])

    def to_dict(self) -> dict[str, Any]:
        per_domain = []
        for _, row in self.per_domain.iterrows():
            item = {"domain": row["domain"], "n_stimuli": int(row["n_stimuli"]), **{m: float(row[m]) for m in self.metrics}}
            if row["domain"] in self.ceilings:
                item["noise_ceiling"] = {m: e.to_dict() for m, e in self.ceilings[row["domain"]].estimates.items()}
            per_domain.append(item)
        return {
            "dataset": self.dataset,
            "metrics": list(self.metrics),
            "aggregate": dict(self.aggregate),
            "aggregate_domains": list(self.domains),
            "not_entered": dict(self.not_entered),
            "per_domain": per_domain,
            **self.settings,
        }


def align_dataset(
    model: Model,
    dataset: str = "peterson2018",
    *,
    root: str | os.PathLike[str] | None = None,
    domains: Iterable[str] | None = None,
    metrics: str | Iterable[str] = DEFAULT_METRICS,
    similarity: str = "cosine",
    ties: str = "half",
    how: str = "exact",
    backend: str = "auto",
    ceiling: bool = True,
) -> DatasetAlignment:
    """Align a model with every domain of a matrix dataset; the aggregate is the mean over domains.

    Parameters
    ----------
    model : mapping or callable
        ``{domain: Representation}``, or a function receiving :class:`DomainStimuli` and
        returning a Representation (or None to skip the domain, e.g. an image model on a
        domain without images).
    dataset : str
        A matrix dataset (``"peterson2018"`` or one registered with ``repalign data add``).
    root : path-like, optional
        Folder of the local copy (default: the registered one).
    domains : iterable of str, optional
        Domains to use (default: all the dataset has; those the copy lacks or the model
        skips are listed in ``not_entered``).
    metrics, similarity, ties, how, backend
        As for :func:`repalign.compare`.
    ceiling : bool
        Add noise ceilings for domains with split halves.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign.evaluation import align_dataset
    >>> def pixel_model(stimuli):  # doctest: +SKIP
    ...     return None if stimuli.image_paths is None else my_features(stimuli)
    >>> result = align_dataset(pixel_model, root="../shared/data/peterson2018")  # doctest: +SKIP
    >>> result.aggregate, result.domains  # doctest: +SKIP
    """
    from ..data.registry import get_adapter, open_dataset_at

    metric_list = parse_list("metric", metrics, METRICS)
    if not (isinstance(model, Mapping) or callable(model)):
        raise InputError(f"model must be a mapping domain -> Representation or a callable; got {type(model).__name__}.")
    adapter = get_adapter(dataset)
    if adapter.dataset.kind != "matrices":
        raise InputError(f"{dataset}: holds {adapter.dataset.kind}, not similarity matrices; align with triplet_accuracy instead.")
    opened = open_dataset_at(dataset, root)
    index = opened.index  # which domains exist; only the wanted ones are read
    available = [*adapter.dataset.parts, *(p for p in index.parts if p not in adapter.dataset.parts)]
    if domains is None:
        wanted = available
    else:
        wanted = parse_list("domain", domains)
        unknown = [d for d in wanted if d not in index.parts and d not in index.problems]
        if unknown:
            raise InputError(f"{dataset}: unknown domains {preview(unknown)}; it has {', '.join(available)}.")
    rows: list[dict[str, Any]] = []
    not_entered: dict[str, str] = {}
    ceilings: dict[str, NoiseCeiling] = {}
    for domain in wanted:
        if domain not in index.parts:
            not_entered[domain] = f"not in this copy: {index.problems.get(domain, 'missing')}"
            continue
        try:
            part = adapter.matrix_part(opened, domain)
        except (InputError, DataNotFoundError) as exc:
            not_entered[domain] = f"not in this copy: {exc}"
            continue
        if isinstance(model, Mapping):
            rep = model.get(domain)
        else:
            images = tuple(p for _, p in part.stimulus_images()) if part.has_images else None
            rep = model(DomainStimuli(part.reference, domain, part.ids, images, part.names.names))
        if rep is None:
            not_entered[domain] = "the model gives no representation for it"
            continue
        if not isinstance(rep, Representation):
            raise InputError(f"the model's representation of {part.reference} is a {type(rep).__name__}, not a Representation.")
        result = compare(part.representation, rep, metrics=metric_list, similarity=similarity, ties=ties, how=how, backend=backend)
        rows.append({"domain": domain, "n_stimuli": result.n_stimuli, **result.scores})
        found = part_ceiling(part, metrics=metric_list, ties=ties, backend=backend) if ceiling else None
        if found is not None:
            ceilings[domain] = found
    if not rows:
        raise InputError(
            f"{dataset}: no domain could be aligned: "
            + "; ".join(f"{d}: {why}" for d, why in not_entered.items())
        )
    frame = pd.DataFrame(rows, columns=["domain", "n_stimuli", *metric_list])
    aggregate = {m: float(np.mean(frame[m].to_numpy())) for m in metric_list}
    entered = frame["domain"].tolist()
    if not_entered:
        log.warning(
            "%s: the aggregate averages %d of %d domains (%s); left out: %s",
            dataset, len(entered), len(wanted), ", ".join(entered),
            "; ".join(f"{d} ({why})" for d, why in not_entered.items()),
        )
    settings = {"similarity": similarity, "ties": ties, "how": how, "root": str(opened.root)}
    return DatasetAlignment(dataset, metric_list, frame, aggregate, entered, not_entered, ceilings, settings)
