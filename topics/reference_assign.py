"""Assigning a new corpus to a reference run's topics (see :mod:`topics.reference`).

:func:`assign`: a document whose text the reference holds (compared by SHA-256 of the text,
whatever its id) keeps its reference topic; another joins the reference topic whose embedding
is most cosine-similar to its own when that similarity reaches the topic's threshold; for the
rest, HDBSCAN clusters the whole new corpus in its reduced space, and a cluster becomes a
candidate new topic when most of its documents fit no reference topic and they number at least
``min_cluster_size``; only those documents join it, the others stay outliers.
:func:`assign_like_reference` does the first two steps alone: it reproduces the reference
run's own assignments for its documents, which BERTopic's ``transform`` after ``load`` cannot
(see that function).

A text the reference holds several times (duplicate documents) may sit in several topics.
Its copies in the new corpus take the topics of the reference's copies in order (the first
copy the topic of the reference's first copy, and so on, in each corpus's row order); copies
beyond the reference's count take the topic most of the reference's copies hold (on a tie,
the earliest copy's). So a corpus compared with its own reference, in any row order, has
exactly the reference's topic volumes.

Default threshold (``auto``): per topic, the 5th percentile of the cosine similarities of the
topic's own reference documents to its topic embedding (outliers that outlier reduction moved
into the topic left out). A new document is assigned only if it
sits as close to the topic as 95% of the documents that formed it; documents further out are
left for new topics. A single number instead applies one cosine threshold to every topic.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from topics.reference import Reference, ReferenceRunError, load_reference, unit_rows

# Per-document assignment status, in documents.parquet's ``status`` column.
SEEN, ASSIGNED, NEW, OUTLIER = "seen", "assigned", "new", "outlier"
# In seen_topics' result: the reference does not hold the text (topic ids are >= -1).
NOT_SEEN = -2


@dataclass(frozen=True)
class Assignment:
    """Result of :func:`assign`.

    Attributes
    ----------
    labels : int64, shape (n_docs,)
        Reference topic id, a new candidate topic id (above every reference id), or -1.
    status : object array of str, shape (n_docs,)
        ``seen`` (the reference holds the document's text), ``assigned`` (joined a reference topic),
        ``new`` (in a candidate new topic) or ``outlier``.
    similarity : float32, shape (n_docs,)
        Cosine similarity to the most similar reference topic embedding.
    new_topics : list of int
        Ids of the candidate new topics.
    """

    labels: np.ndarray
    status: np.ndarray
    similarity: np.ndarray
    new_topics: list[int]


def text_digest(text: str) -> bytes:
    """SHA-256 of a document's text (UTF-8): what identifies a document across runs. Ids do
    not (without ``corpus.id_column`` they are row numbers)."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def seen_topics(texts: list[str], reference: Reference) -> np.ndarray:
    """The reference topic of each document whose text the reference holds.

    Copies of a text take the topics of the reference's copies in order, and copies beyond
    the reference's count the topic most of its copies hold (on a tie, the earliest copy's):
    see the module docstring.

    Parameters
    ----------
    texts : list of str, length n_docs
    reference : from :func:`load_reference`

    Returns
    -------
    seen : int64, shape (n_docs,): the reference topic (-1 for a reference outlier), or
        ``NOT_SEEN`` where the reference does not hold the text
    """
    copies: dict[bytes, list[int]] = {}
    for text, topic in reference.documents[["text", "topic"]].itertuples(index=False):
        copies.setdefault(text_digest(text), []).append(int(topic))
    seen = np.full(len(texts), NOT_SEEN, dtype=np.int64)
    taken: Counter = Counter()
    for i, text in enumerate(texts):
        digest = text_digest(text)
        topics = copies.get(digest)
        if topics is None:
            continue
        k = taken[digest]
        taken[digest] += 1
        seen[i] = topics[k] if k < len(topics) else _most_held(topics)
    return seen


def _most_held(topics: list[int]) -> int:
    counts = Counter(topics)
    return max(counts, key=lambda topic: (counts[topic], -topics.index(topic)))


def assign_like_reference(
    reference: Reference | str | Path, texts: list[str], embeddings: np.ndarray, threshold: float | str = "auto",
) -> Assignment:
    """Place documents the way the reference run would, without looking for new topics.

    A document whose text the reference holds keeps its reference topic (status ``seen``,
    outliers included, see :func:`seen_topics`), so the reference's own documents get exactly
    their training topics back, whatever their ids or order; another joins the most
    cosine-similar reference topic when the similarity reaches its threshold (``assigned``),
    else it is an outlier (-1, ``outlier``).

    BERTopic's ``transform`` after ``BERTopic.load(<run>/model)`` cannot do this: the
    safetensors files hold no UMAP or HDBSCAN model, so it gives every document the nearest
    topic embedding (the outliers' mean embedding counting as topic -1), and HDBSCAN's
    density-based clusters in the UMAP space are no nearest-centroid partition of the
    embedding space (the README gives the measured agreement).

    Parameters
    ----------
    reference : a :class:`Reference` or a completed run directory
    texts : list of str, length n_docs
    embeddings : float32, shape (n_docs, dim), by the reference's embedding model
    threshold : ``"auto"`` (per-topic thresholds from the reference) or a cosine similarity in [-1, 1]

    Returns
    -------
    Assignment, with no new topics

    Raises
    ------
    ReferenceRunError
        If the run directory cannot serve as a reference, or the embedding dimension differs
        from the reference's.
    """
    if not isinstance(reference, Reference):
        reference = load_reference(reference)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    n_docs = len(texts)
    if len(embeddings) != n_docs:
        raise ValueError(f"{n_docs} texts but {len(embeddings)} embeddings")
    if reference.topic_embeddings.size and embeddings.shape[1] != reference.topic_embeddings.shape[1]:
        raise ReferenceRunError(
            f"reference {reference.run_dir}: topic embeddings have {reference.topic_embeddings.shape[1]} dimensions, "
            f"the new documents {embeddings.shape[1]}: embed with the reference's model"
        )
    labels = np.full(n_docs, -1, dtype=np.int64)
    status = np.full(n_docs, OUTLIER, dtype=object)
    similarity = np.zeros(n_docs, dtype=np.float32)
    topic_ids = reference.topics["topic"].to_numpy()
    if len(topic_ids) and n_docs:
        scores = unit_rows(embeddings) @ unit_rows(reference.topic_embeddings).T
        best = scores.argmax(axis=1)
        similarity = scores[np.arange(n_docs), best].astype(np.float32)
        limits = reference.topics["threshold"].to_numpy() if threshold == "auto" else np.full(len(topic_ids), float(threshold))
        fits = similarity >= limits[best]
        labels[fits] = topic_ids[best[fits]]
        status[fits] = ASSIGNED
    seen = seen_topics(list(texts), reference)
    known = seen != NOT_SEEN
    labels[known], status[known] = seen[known], SEEN
    return Assignment(labels, status, similarity, [])


def assign(
    texts: list[str], embeddings: np.ndarray, reduced: np.ndarray, reference: Reference,
    threshold: float | str = "auto", cluster_config=None,
) -> Assignment:
    """Assign a new corpus to a reference's topics; cluster what does not fit into new topics.

    Documents are first placed by :func:`assign_like_reference` (``seen`` by text, or
    ``assigned`` by similarity); the outliers left are clustered for new topics.

    Parameters
    ----------
    texts : list of str, length n_docs
    embeddings : float32, shape (n_docs, dim), same model as the reference
    reduced : float32, shape (n_docs, n_components), the new corpus's clustering space
    reference : from :func:`load_reference`
    threshold : ``"auto"`` (per-topic thresholds from the reference) or a cosine similarity in [-1, 1]
    cluster_config : HDBSCAN settings for finding candidate new topics (``min_cluster_size`` is
        the smallest new topic reported)

    Returns
    -------
    Assignment

    Raises
    ------
    ReferenceRunError
        If the embedding dimension differs from the reference's.
    """
    from topics.cluster import cluster

    placed = assign_like_reference(reference, texts, embeddings, threshold)
    labels, status = placed.labels, placed.status
    topic_ids = reference.topics["topic"].to_numpy()
    rest = status == OUTLIER
    new_topics: list[int] = []
    if rest.any():
        # HDBSCAN over the whole new corpus (density needs the context: on the leftovers alone a
        # single new theme tends to dissolve into noise); a cluster becomes a new topic when most
        # of its documents fit no reference topic, and only those documents join it.
        clusters, _ = cluster(np.asarray(reduced), cluster_config)
        min_size = (cluster_config.min_cluster_size if cluster_config is not None else 10)
        candidates = []
        for c in sorted(set(clusters[rest].tolist()) - {-1}):
            members = clusters == c
            leftover = members & rest
            if leftover.sum() >= min_size and leftover.sum() > 0.5 * members.sum():
                candidates.append((int(leftover.sum()), c))
        first = int(max(topic_ids.max() if len(topic_ids) else -1, reference.documents["topic"].max()) + 1)
        # New ids by size, largest first, above every reference id.
        for k, (_, c) in enumerate(sorted(candidates, key=lambda item: (-item[0], item[1]))):
            chosen = (clusters == c) & rest
            labels[chosen], status[chosen] = first + k, NEW
            new_topics.append(first + k)
    return Assignment(labels, status, placed.similarity, new_topics)
