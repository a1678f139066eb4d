"""Dimensionality reduction with UMAP (McInnes, Healy & Melville, 2018; umap-learn).

Two separate reductions of the same embeddings:

- :func:`reduce` into the clustering space (``n_components``, 5 by default), and
- :func:`project` into the 2-D document map, with its own settings, so that changing the
  map never changes the clustering.

Both are seeded (``random_state``), which makes umap-learn run single-threaded and the
result repeatable.

Large corpora: above ``fit_sample`` documents, UMAP is fitted on a seeded random sample of
that many documents, and every other document is placed with ``UMAP.transform`` in chunks of
:data:`TRANSFORM_CHUNK` (BERTopic's advice for large data, and umap-learn's own out-of-sample
method). Sampled documents keep their fitted coordinates. Chunk boundaries are fixed, so a
re-run (or a run whose chunks are computed elsewhere) gives the same coordinates.
"""

from __future__ import annotations

import warnings

import numpy as np

from topics.config import ProjectConfig, ReduceConfig

MIN_DOCS = 3
# Documents placed per UMAP.transform call: bounds the memory of the new points' neighbour
# graph; fixed, because umap-learn's transform depends on which points share a call.
TRANSFORM_CHUNK = 20_000


class ReductionError(ValueError):
    """Raised when the embeddings cannot be reduced (too few documents, bad shape)."""


def fit_sample_rows(n_docs: int, fit_sample: int | None, random_state: int | None) -> np.ndarray | None:
    """The rows UMAP is fitted on: None (all) when ``n_docs <= fit_sample`` or ``fit_sample``
    is None, else ``fit_sample`` distinct rows drawn with ``random_state``, ascending (int64)."""
    if fit_sample is None or n_docs <= fit_sample:
        return None
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_docs, size=fit_sample, replace=False)).astype(np.int64)


def key_settings(config: ReduceConfig | ProjectConfig, n_docs: int) -> dict:
    """The settings that shape a reduction of ``n_docs`` documents, for its cache key:
    ``fit_sample`` only when it applies (so a corpus below it keeps its key whatever the
    threshold)."""
    settings = config.model_dump(mode="json")
    if fit_sample_rows(n_docs, config.fit_sample, config.random_state) is None:
        settings.pop("fit_sample")
    return settings


def transform_chunks(n_docs: int, rows: np.ndarray, size: int | None = None) -> list[np.ndarray]:
    """The rows not in ``rows`` (the fitted sample), in chunks of ``size`` (default
    :data:`TRANSFORM_CHUNK`), in corpus order: the units that ``UMAP.transform`` places (and a
    task runner or a process pool may spread)."""
    size = size or TRANSFORM_CHUNK
    rest = np.setdiff1d(np.arange(n_docs, dtype=np.int64), rows, assume_unique=True)
    return [rest[start:start + size] for start in range(0, len(rest), size)]


def _umap(embeddings: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, metric: str, random_state: int | None,
          y: np.ndarray | None = None, fit_sample: int | None = None) -> np.ndarray:
    if getattr(embeddings, "ndim", 2) != 2:
        raise ReductionError(f"embeddings must be 2-D (n_docs, dim), got shape {np.shape(embeddings)}")
    rows = fit_sample_rows(len(embeddings), fit_sample, random_state)
    if rows is None:
        return _fit_transform(embeddings, n_components, n_neighbors, min_dist, metric, random_state, y)[0]
    # Only the sample and one chunk at a time are copied out of a memory-mapped matrix.
    sample = np.asarray(embeddings[rows], dtype=np.float32)
    fitted, model = _fit_transform(sample, n_components, n_neighbors, min_dist, metric, random_state,
                                   None if y is None else np.asarray(y)[rows], keep_model=True)
    out = np.empty((len(embeddings), n_components), dtype=np.float32)
    out[rows] = fitted
    for chunk in transform_chunks(len(embeddings), rows):
        out[chunk] = place(model, np.asarray(embeddings[chunk], dtype=np.float32))
    return out


def fit_model(sample: np.ndarray, config: ReduceConfig | ProjectConfig) -> tuple[np.ndarray, object]:
    """Fit UMAP on ``sample`` (float32, (n, dim)) with ``config``'s settings (2 components for a
    :class:`ProjectConfig`); returns the fitted coordinates, float32 (n, n_components), and
    the fitted ``umap.UMAP`` that :func:`place` uses for every other document.

    Raises
    ------
    ReductionError
        Fewer than 3 documents, or a sample that is not 2-D.
    """
    n_components = getattr(config, "n_components", 2)
    return _fit_transform(sample, n_components, config.n_neighbors, config.min_dist, config.metric, config.random_state,
                          keep_model=True)


def place(model, embeddings: np.ndarray) -> np.ndarray:
    """Coordinates of new documents in a fitted UMAP's space (``UMAP.transform``); float32,
    shape (n, n_components)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs value.*", category=UserWarning)
        return np.ascontiguousarray(model.transform(embeddings), dtype=np.float32)


def _fit_transform(embeddings: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, metric: str,
                   random_state: int | None, y: np.ndarray | None = None, keep_model: bool = False):
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
    return np.ascontiguousarray(coordinates, dtype=np.float32), model if keep_model else None


def reduce(embeddings: np.ndarray, config: ReduceConfig | None = None, y: np.ndarray | None = None) -> np.ndarray:
    """Reduce embeddings to the clustering space.

    Parameters
    ----------
    embeddings : float32, shape (n_docs, dim)
    config : UMAP settings (``n_components``, ``n_neighbors``, ``min_dist``, ``metric``, seed,
        ``fit_sample``: above this many documents, fit on a sample and transform the rest)
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
    return _umap(embeddings, c.n_components, c.n_neighbors, c.min_dist, c.metric, c.random_state, y, c.fit_sample)


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
    return _umap(embeddings, 2, c.n_neighbors, c.min_dist, c.metric, c.random_state, fit_sample=c.fit_sample)
