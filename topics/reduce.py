"""Dimensionality reduction with UMAP (McInnes, Healy & Melville, 2018; umap-learn).

Two separate reductions of the same embeddings:

- :func:`reduce` into the clustering space (``n_components``, 5 by default), and
- :func:`project` into the 2-D document map, with its own settings, so that changing the
  map never changes the clustering.

Both are seeded (``random_state``), which makes umap-learn run single-threaded and the
result repeatable.
"""

from __future__ import annotations

import warnings

import numpy as np

from topics.config import ProjectConfig, ReduceConfig

MIN_DOCS = 3


class ReductionError(ValueError):
    """Raised when the embeddings cannot be reduced (too few documents, bad shape)."""


def _umap(embeddings: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, metric: str, random_state: int | None,
          y: np.ndarray | None = None) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ReductionError(f"embeddings must be 2-D (n_docs, dim), got shape {embeddings.shape}")
    n_docs = embeddings.shape[0]
    if n_docs < MIN_DOCS:
        raise ReductionError(f"UMAP needs at least {MIN_DOCS} documents, got {n_docs}")
    from umap import UMAP

    # Small corpora: n_neighbors must stay below n_docs, and the spectral initialisation
    # needs more documents than output dimensions.
    neighbours = min(n_neighbors, n_docs - 1)
    init = "spectral" if n_docs > n_components + 2 else "random"
    model = UMAP(
        n_components=n_components,
        n_neighbors=neighbours,
        min_dist=min_dist,
        metric=metric,
        random_state=random_state,
        init=init,
        low_memory=True,
    )
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state" is expected when seeded.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*", category=UserWarning)
        coordinates = model.fit_transform(embeddings) if y is None else model.fit_transform(embeddings, y=np.asarray(y))
    return np.ascontiguousarray(coordinates, dtype=np.float32)


def reduce(embeddings: np.ndarray, config: ReduceConfig | None = None, y: np.ndarray | None = None) -> np.ndarray:
    """Reduce embeddings to the clustering space.

    Parameters
    ----------
    embeddings : float32, shape (n_docs, dim)
    config : UMAP settings (``n_components``, ``n_neighbors``, ``min_dist``, ``metric``, seed)
    y : int64, shape (n_docs,), optional
        Targets for semi-supervised UMAP, ``-1`` for unlabelled documents (BERTopic passes the
        seed topics of guided topic modeling this way; see :mod:`topics.guide`).

    Returns
    -------
    reduced : float32, shape (n_docs, n_components)

    Raises
    ------
    ReductionError
        Fewer than 3 documents, or embeddings that are not 2-D.
    """
    c = config or ReduceConfig()
    return _umap(embeddings, c.n_components, c.n_neighbors, c.min_dist, c.metric, c.random_state, y)


def project(embeddings: np.ndarray, config: ProjectConfig | None = None) -> np.ndarray:
    """Project embeddings to 2-D coordinates for the document map.

    Returns
    -------
    coordinates : float32, shape (n_docs, 2), unitless UMAP coordinates

    Raises
    ------
    ReductionError
        Fewer than 3 documents, or embeddings that are not 2-D.
    """
    c = config or ProjectConfig()
    return _umap(embeddings, 2, c.n_neighbors, c.min_dist, c.metric, c.random_state)
