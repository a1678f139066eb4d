"""Density-based clustering with HDBSCAN (Campello, Moulavi & Sander, 2013). Documents in no
dense region are outliers, topic ``-1``.

Two implementations, chosen by ``cluster.method``:

- ``hdbscan``: the ``hdbscan`` package (McInnes & Healy, 2017), BERTopic's default;
- ``fast_hdbscan``: McInnes's ``fast_hdbscan`` (parallel Boruvka minimum spanning tree over a
  k-d tree, numba) for large corpora. Its parallel Boruvka is not deterministic: on 300 real
  reduced abstracts, 12 of 30 runs gave another labelling (ARI 0.998 to the first). Run on
  one numba thread it gave the same labels in 40 of 40 runs, so it runs on one thread; at
  200k points (5-d Gaussian blobs, 2 cores) that took 57 s against 31 s on two. Its own
  ``reproducible`` mode was slower still (374 s).

Both select clusters from the same condensed tree with the same settings, but their tie
breaks differ, so labels can differ between them on the same data.
"""

from __future__ import annotations

import numpy as np

from topics.config import ClusterConfig


def cluster(reduced: np.ndarray, config: ClusterConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cluster reduced embeddings.

    Parameters
    ----------
    reduced : float32, shape (n_docs, n_components)
    config : HDBSCAN settings, and ``method`` (``hdbscan`` or ``fast_hdbscan``)

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
    min_samples = min(c.min_samples, n_docs - 1) if c.min_samples else None
    if c.method == "fast_hdbscan":
        import fast_hdbscan

        model = fast_hdbscan.HDBSCAN(
            min_cluster_size=c.min_cluster_size,
            # fast_hdbscan's own default is 10 whatever min_cluster_size; hdbscan's is
            # min_cluster_size, which the settings document.
            min_samples=min_samples or min(c.min_cluster_size, n_docs - 1),
            cluster_selection_method=c.cluster_selection_method,
            cluster_selection_epsilon=float(c.cluster_selection_epsilon),
        )
        _fit_on_one_thread(model, reduced)
    else:
        import hdbscan

        model = hdbscan.HDBSCAN(
            min_cluster_size=c.min_cluster_size,
            min_samples=min_samples,
            metric=c.metric,
            cluster_selection_method=c.cluster_selection_method,
            cluster_selection_epsilon=c.cluster_selection_epsilon,
            core_dist_n_jobs=1,
        )
        model.fit(reduced)
    return np.asarray(model.labels_, dtype=np.int64), np.asarray(model.probabilities_, dtype=np.float32)


def _fit_on_one_thread(model, reduced: np.ndarray) -> None:
    """Fit a numba-parallel model on one thread, so that equal input gives equal labels."""
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # per calling thread: other tasks keep their own count
    try:
        model.fit(reduced)
    finally:
        numba.set_num_threads(threads)
