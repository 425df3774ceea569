"""The feature cache: content-addressed, atomic, self-checking.

A cache entry's key is the SHA-256 of everything that determines the features:

* the model configuration (:meth:`ModelConfig.fingerprint`): model id with its pinned
  tag, the SHA-256 of the weight file (or the seed of a random init), the preprocessing,
  build arguments, and the versions of repalign, torch, timm and the other libraries
  involved;
* the layer and pool read, and the precision (``fp32``/``bf16``);
* the stimulus set's fingerprint (ids plus the SHA-256 of every file).

The key is computed without building the model, so a cache hit loads no model. Entries
live in ``$REPALIGN_CACHE`` (see :func:`repalign._paths.feature_cache_dir`) as
``<key[:2]>/<key>.npz``, written to a temporary file and moved into place, so a crash
never leaves half an entry. Each entry carries a checksum of its content; an entry that
fails to read or to check is logged, removed and recomputed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._paths import feature_cache_dir
from ._hashing import digest_json
from .config import ModelConfig
from .features import ExtractedFeatures, load_features
from .stimuli import Stimuli

log = logging.getLogger(__name__)

__all__ = ["FeatureCache", "CACHE_FORMAT"]

#: Bumped when the meaning of cached entries changes.
CACHE_FORMAT = 1


class FeatureCache:
    """Extracted features on disk, keyed by content.

    Parameters
    ----------
    root : path, optional
        Default: :func:`repalign._paths.feature_cache_dir` (``$REPALIGN_CACHE``).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else feature_cache_dir()

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.root)!r})"

    @staticmethod
    def key_parts(*, config: ModelConfig, layer: str, pool: str, precision: str, stimuli: Stimuli) -> dict[str, Any]:
        """What the key is the hash of (JSON-able, for inspection and tests)."""
        if not config.weights_known:
            raise InputError(f"{config.model_id}: the weights are not pinned by content yet; load them first.")
        return {
            "format": CACHE_FORMAT,
            "model": config.fingerprint(),
            "layer": layer,
            "pool": pool,
            "precision": precision,
            "stimuli": stimuli.fingerprint(),
        }

    def key(self, *, config: ModelConfig, layer: str, pool: str, precision: str, stimuli: Stimuli) -> str:
        """The cache key (hex SHA-256)."""
        return digest_json(self.key_parts(config=config, layer=layer, pool=pool, precision=precision, stimuli=stimuli))

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> ExtractedFeatures | None:
        """The cached features for ``key``, or ``None`` (absent, or corrupt and removed)."""
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            found = load_features(p)
        except InputError as exc:
            log.warning("feature cache: %s is unusable (%s); removing it and recomputing", p, exc)
            p.unlink(missing_ok=True)
            return None
        if found.metadata.get("cache_key") != key:
            log.warning("feature cache: %s holds another key; removing it and recomputing", p)
            p.unlink(missing_ok=True)
            return None
        return ExtractedFeatures(found.ids, found.features, found.metadata, cache_hit=True)

    def put(self, key: str, features: ExtractedFeatures) -> Path | None:
        """Store features under ``key`` atomically; a failure to write is logged, not raised."""
        meta = dict(features.metadata)
        meta["cache_key"] = key
        entry = ExtractedFeatures(features.ids, features.features, meta)
        try:
            return entry.save(self.path(key), sidecar=False)
        except (OSError, InputError) as exc:
            log.warning("feature cache: could not write %s (%s); continuing without caching", self.path(key), exc)
            return None

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""
        n = 0
        if self.root.is_dir():
            for p in self.root.glob("??/*.npz"):
                p.unlink(missing_ok=True)
                n += 1
        return n
