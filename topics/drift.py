"""Run-to-run drift: what changed between a reference run and a new one.

Two ways topics correspond across runs:

- **assign** (the new run was assigned to the reference, see :func:`topics.reference_assign.assign`):
  each new topic that holds reference-assigned documents *is* that reference topic; candidate
  new topics are new by construction.
- **refit** (the new run was fitted from scratch): each new topic is matched to the
  reference topic whose topic embedding is most cosine-similar to its own, when that
  similarity reaches ``match_threshold``. Several new topics may match one reference topic
  (a topic that split between fits): its volume now is theirs together.

Per reference topic the report gives its volume then and now (documents and share of the
corpus) and the change in share; reference topics with no documents now are *vanished*;
new topics without a partner are *new*, with their terms and nearest reference topic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from topics.reference import Reference, unit_rows


def match_topics(reference_embeddings: np.ndarray, current_embeddings: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """``(reference row, current row, cosine similarity)`` for each current topic whose most
    similar reference topic reaches ``threshold`` (several current topics may share one).

    Parameters
    ----------
    reference_embeddings : float32, shape (n_ref, dim)
    current_embeddings : float32, shape (n_cur, dim)
    threshold : cosine similarity in [-1, 1]
    """
    if not len(reference_embeddings) or not len(current_embeddings):
        return []
    similarity = unit_rows(reference_embeddings) @ unit_rows(current_embeddings).T
    best = similarity.argmax(axis=0)
    return [(int(r), c, float(similarity[r, c])) for c, r in enumerate(best) if similarity[r, c] >= threshold]


def drift_report(
    reference: Reference,
    topics: pd.DataFrame,
    topic_embeddings: np.ndarray,
    doc_topics: np.ndarray,
    match_threshold: float,
    assignment_labels: np.ndarray | None = None,
    status: np.ndarray | None = None,
) -> dict[str, Any]:
    """The drift of a run against ``reference``, as a JSON-ready dict (``drift.json``).

    Parameters
    ----------
    reference : the reference run
    topics : the new run's topic table (``topic``, ``size``, ``name``, ``terms``), outliers included
    topic_embeddings : float32, shape (len(topics), dim), rows aligned with ``topics``
    doc_topics : int64, shape (n_docs,), the new run's topic per document
    match_threshold : cosine similarity for matching (and for naming a new topic's nearest
        reference topic as its partner)
    assignment_labels : int64, shape (n_docs,), from :func:`topics.reference_assign.assign` (reference
        ids, new ids, -1); None when the run was fitted from scratch
    status : str per document from the assignment, or None

    Returns
    -------
    dict with ``mode`` (``assign`` or ``refit``, as ``reference.mode``), ``reference`` (run id, directory,
    documents), ``n_docs``, ``status_counts`` (assigned mode), ``topics`` (one row per reference
    topic: ``reference_topic``, ``name``, ``size_then``, ``share_then``, ``size_now``,
    ``share_now``, ``change`` (share now minus then), ``current_topics`` (ids, empty when
    vanished), ``similarity`` (the best match's, or None)), ``new_topics`` (``current_topic``, ``size``, ``share``, ``name``,
    ``terms``, ``nearest_reference_topic``, ``similarity``), ``vanished`` (reference topic ids)
    and ``match_threshold``.
    """
    doc_topics = np.asarray(doc_topics)
    n_docs = max(len(doc_topics), 1)
    n_then = max(reference.n_docs, 1)
    real = (topics["topic"] >= 0).to_numpy()
    current = topics[real].reset_index(drop=True)
    current_embeddings = np.asarray(topic_embeddings)[real]
    ref_ids = reference.topics["topic"].tolist()

    partners: dict[int, list[tuple[int, float]]] = {}  # reference id -> [(current id, similarity)]
    similarity = unit_rows(reference.topic_embeddings) @ unit_rows(current_embeddings).T if len(current) and len(ref_ids) else None
    if assignment_labels is not None:
        mode = "assign"
        assignment_labels = np.asarray(assignment_labels)
        for row, topic in enumerate(current["topic"]):
            origin = set(assignment_labels[doc_topics == topic].tolist())
            (label,) = origin  # each topic of an assigned run comes from exactly one assignment label
            if label in ref_ids:
                r = ref_ids.index(label)
                partners.setdefault(label, []).append((int(topic), float(similarity[r, row])))
    else:
        mode = "refit"
        for r, c, sim in match_topics(reference.topic_embeddings, current_embeddings, match_threshold):
            partners.setdefault(ref_ids[r], []).append((int(current["topic"][c]), sim))

    sizes_now = current.set_index("topic")["size"].to_dict()
    rows = []
    for ref in reference.topics.itertuples(index=False):
        matched = sorted(partners.get(int(ref.topic), []))
        size_now = int(sum(sizes_now.get(cur, 0) for cur, _ in matched))
        share_then, share_now = ref.size / n_then, size_now / n_docs
        rows.append({
            "reference_topic": int(ref.topic), "name": ref.name, "size_then": int(ref.size), "share_then": share_then,
            "size_now": size_now, "share_now": share_now, "change": share_now - share_then,
            "current_topics": [cur for cur, _ in matched], "similarity": max((sim for _, sim in matched), default=None),
        })

    partnered = {cur for matched in partners.values() for cur, _ in matched}
    new_topics = []
    for row, topic in enumerate(current["topic"]):
        if int(topic) in partnered:
            continue
        nearest, near_sim = None, None
        if similarity is not None:
            r = int(similarity[:, row].argmax())
            nearest, near_sim = ref_ids[r], float(similarity[r, row])
        new_topics.append({
            "current_topic": int(topic), "size": int(current["size"][row]), "share": int(current["size"][row]) / n_docs,
            "name": str(current["name"][row]), "terms": [str(t) for t in list(current["terms"][row])[:10]],
            "nearest_reference_topic": nearest, "similarity": near_sim,
        })

    report: dict[str, Any] = {
        "mode": mode,
        "reference": {"run_dir": str(reference.run_dir), "run_id": reference.info.get("run_id") or reference.run_dir.name,
                      "n_docs": reference.n_docs},
        "n_docs": int(len(doc_topics)),
        "match_threshold": match_threshold,
        "topics": rows,
        "new_topics": new_topics,
        "vanished": [r["reference_topic"] for r in rows if r["size_now"] == 0],
    }
    if status is not None:
        report["status_counts"] = {str(k): int(v) for k, v in pd.Series(np.asarray(status)).value_counts().items()}
    return report

