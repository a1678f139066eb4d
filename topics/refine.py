"""Refine HDBSCAN's assignments: outlier reduction and topic reduction (BERTopic's methods).

These change which topic a document belongs to, so they sit on the assignment side of the
cache, before the topic representation: changing them recomputes from here; changing only
the representation chain or the LLM labels does not.

- Topic reduction (``nr_topics``): BERTopic's ``reduce_topics``, agglomerative merging of
  the topics whose c-TF-IDF vectors are most cosine-similar (or, with ``auto``, HDBSCAN over
  those vectors), applied when BERTopic is fitted. ``nr_topics`` counts topics, not the
  outliers (BERTopic counts ``-1`` among them).
- Outlier reduction: BERTopic's ``reduce_outliers`` with the ``c-tf-idf``, ``embeddings`` or
  ``distributions`` strategy; an outlier moves to its most similar topic when the similarity
  is at least ``threshold``, otherwise it stays ``-1``.

Topic reduction runs first, so outliers join the merged topics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topics.config import RefineConfig, RepresentConfig


# Documents per call of BERTopic's reduce_outliers (see refine).
OUTLIER_BLOCK = 20_000


@dataclass(frozen=True)
class Refinement:
    """Result of :func:`refine`.

    Attributes
    ----------
    labels : int64, shape (n_docs,)
        Topic per document, ``-1`` for outliers. Ids are not yet ordered by size (the
        representation renumbers them).
    n_merged : int
        Topics removed by topic reduction.
    n_reassigned : int
        Outliers moved into a topic.
    """

    labels: np.ndarray
    n_merged: int
    n_reassigned: int


def uses_vocabulary(config: RefineConfig) -> bool:
    """Whether the refinement reads c-TF-IDF, so that tokenisation settings change its result."""
    return config.nr_topics is not None or config.outliers.strategy in ("c-tf-idf", "distributions")


def refine(
    texts: list[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    config: RefineConfig,
    represent_config: RepresentConfig | None = None,
) -> Refinement:
    """Apply topic reduction then outlier reduction to HDBSCAN's ``labels``.

    Parameters
    ----------
    texts : list of str, length n_docs
    embeddings : float32, shape (n_docs, dim)
    labels : int64, shape (n_docs,), ``-1`` for outliers
    config : what to refine; with neither option set, ``labels`` come back unchanged
    represent_config : tokenisation for the c-TF-IDF that topic reduction and the
        ``c-tf-idf``/``distributions`` strategies compare

    Returns
    -------
    Refinement

    Raises
    ------
    topics.represent.RepresentationError
        If tokenisation leaves no terms.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n_before = len(set(labels.tolist()) - {-1})
    no_outliers = not (labels == -1).any()
    if n_before == 0 or (config.nr_topics is None and (config.outliers.strategy == "none" or no_outliers)):
        return Refinement(labels.copy(), 0, 0)

    from topics.represent.ctfidf import fit_bertopic

    nr_topics = config.nr_topics
    if isinstance(nr_topics, int) and not no_outliers:
        nr_topics += 1  # BERTopic counts the outliers as a topic; ours counts real topics only
    # Reassigning by embedding compares outliers with the topics' mean document embeddings,
    # which BERTopic computes from the embeddings alone: its c-TF-IDF is not read, so two
    # placeholder terms per document spare a pass of tokenisation over the whole corpus.
    vectorizer = None if uses_vocabulary(config) else _placeholder_vectorizer()
    model = fit_bertopic(texts, embeddings, labels, represent_config or RepresentConfig(), nr_topics=nr_topics,
                         vectorizer_model=vectorizer)
    refined = np.asarray(model.topics_, dtype=np.int64)
    n_merged = n_before - len(set(refined.tolist()) - {-1})
    n_reassigned = 0
    if config.outliers.strategy != "none" and (refined == -1).any():
        # Each outlier is compared with every topic on its own, so documents go through in
        # blocks: BERTopic builds a dense (outliers x topics) float64 similarity matrix, 10 GB
        # for 770,000 outliers and 1,665 topics at once.
        updated = np.concatenate([
            np.asarray(model.reduce_outliers(
                list(texts[start:start + OUTLIER_BLOCK]), refined[start:start + OUTLIER_BLOCK].tolist(),
                strategy=config.outliers.strategy, threshold=config.outliers.threshold,
                embeddings=np.asarray(embeddings[start:start + OUTLIER_BLOCK]),
            ), dtype=np.int64)
            for start in range(0, len(refined), OUTLIER_BLOCK)
        ])
        n_reassigned = int(((refined == -1) & (updated != -1)).sum())
        refined = updated
    return Refinement(refined, n_merged, n_reassigned)


def _placeholder_terms(document: str) -> list[str]:
    # Two, not one: BERTopic's c-TF-IDF squeezes a one-term vocabulary into a scalar and fails.
    return ["_a", "_b"]


def _placeholder_vectorizer():
    """A CountVectorizer that reads no text: the same two terms in every document (a
    module-level analyzer, so the fitted model still pickles)."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer=_placeholder_terms)


def nr_topics_adjustment(config: RefineConfig, n_found: int) -> dict | None:
    """The report (a :class:`topics.preflight.Adjustment` as a dict) when ``nr_topics`` asks
    for at least as many topics as clustering found, so that nothing is merged; else None."""
    from topics.preflight import Adjustment

    if not isinstance(config.nr_topics, int) or config.nr_topics < n_found:
        return None
    reason = f"clustering found {n_found} topic(s), no more than asked; nothing was merged"
    return Adjustment("refine.nr_topics", config.nr_topics, n_found, reason).as_dict()
