"""Small synthetic examples that need no data: a "human" similarity matrix and a model.

Used by ``repalign align --example`` and in docstrings.
"""

from __future__ import annotations

import numpy as np

from .representations import Representation

__all__ = ["make_example"]


def make_example(
    n_stimuli: int = 60, *, n_features: int = 128, noise: float = 1.0, seed: int = 0
) -> tuple[Representation, Representation]:
    """A human similarity matrix and a model's features that partly agree with it.

    The "human" representation is an 8-dimensional latent embedding with 4 clusters,
    turned into a similarity matrix on [0, 1] (ratings rounded to 1/20, so ties occur as
    in real rating data). The model sees the latent points through a random linear map
    to ``n_features`` dimensions plus Gaussian noise of scale ``noise``.

    Examples
    --------
    >>> human, model = make_example(12, seed=1)
    >>> human.kind, model.kind, model.values.shape
    ('similarity', 'features', (12, 128))
    """
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(4, 8))
    latent = centers[rng.integers(0, 4, size=n_stimuli)] + rng.normal(size=(n_stimuli, 8))
    ids = [f"stim-{i:03d}" for i in range(n_stimuli)]
    d = np.sqrt(((latent[:, None, :] - latent[None, :, :]) ** 2).sum(-1))
    sim = np.round(20 * np.exp(-d / np.median(d[np.triu_indices(n_stimuli, 1)]))) / 20
    np.fill_diagonal(sim, 1.0)
    features = latent @ rng.normal(size=(8, n_features)) + noise * rng.normal(size=(n_stimuli, n_features))
    human = Representation.from_similarity(ids, sim, name="example-human", meta={"source": "synthetic"})
    model = Representation.from_features(ids, features, name="example-model", meta={"source": "synthetic"})
    return human, model
