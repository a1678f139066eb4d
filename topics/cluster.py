"""Density-based clustering with HDBSCAN (Campello, Moulavi & Sander, 2013; the ``hdbscan``
package by McInnes & Healy). Documents in no dense region are outliers, topic ``-1``.
"""

from __future__ import annotations

import numpy as np

from topics.config import ClusterConfig


def cluster(reduced: np.ndarray, config: ClusterConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cluster reduced embeddings.

    Parameters
    ----------
    reduced : float32, shape (n_docs, n_components)
    config : HDBSCAN settings

    Returns
    -------
    labels : int64, shape (n_docs,)
        Cluster per document, ``-1`` for outliers. A corpus smaller than
        ``min_cluster_size`` is all outliers (a documented result, not an error).
    probabilities : float32, shape (n_docs,)
        HDBSCAN membership strength in [0, 1]; 0 for outliers.
    """
    c = config or ClusterConfig()
    reduced = np.asarray(reduced, dtype=np.float64)
    n_docs = reduced.shape[0]
    if n_docs < max(c.min_cluster_size, 2):
        return np.full(n_docs, -1, dtype=np.int64), np.zeros(n_docs, dtype=np.float32)
    import hdbscan

    model = hdbscan.HDBSCAN(
        min_cluster_size=c.min_cluster_size,
        min_samples=min(c.min_samples, n_docs - 1) if c.min_samples else None,
        metric=c.metric,
        cluster_selection_method=c.cluster_selection_method,
        cluster_selection_epsilon=c.cluster_selection_epsilon,
        core_dist_n_jobs=1,
    )
    model.fit(reduced)
    return model.labels_.astype(np.int64), model.probabilities_.astype(np.float32)
