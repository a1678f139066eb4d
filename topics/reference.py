"""Completed runs as references: saving a run's topic model, and assigning new documents to it.

Every completed run keeps its topic model in ``<run>/model/``:

- BERTopic's own safetensors serialization (``config.json``, ``topics.json``,
  ``topic_embeddings.safetensors``, ``ctfidf.safetensors``, ``ctfidf_config.json``), so
  ``BERTopic.load(path, embedding_model=...)`` followed by ``transform`` works on new text.
  (BERTopic saves no UMAP or HDBSCAN model in this format: after loading, ``transform``
  assigns each document to the topic embedding it is most cosine-similar to, every document
  to some topic. The pipeline's own assignment, below, does not.)
- ``reference.json``: the run id, the embedding model's identity, the settings, and per topic
  its id, size, name and the similarity threshold used for assignment.
- ``topic_embeddings.npy`` float32 (n_topics, dim), rows in the order of
  ``reference.json``'s topics (outliers excluded).

Assignment of a new corpus (:func:`assign`): a document the reference already holds (same
id) keeps its reference topic; another joins the reference topic whose embedding is most
cosine-similar to its own when that similarity reaches the topic's threshold; the rest are
clustered by HDBSCAN, in the new corpus's reduced space, into candidate new topics (only
clusters of at least ``min_cluster_size`` documents: smaller groups stay outliers).

Default threshold (``auto``): per topic, the 5th percentile of the cosine similarities of the
topic's own reference documents to its topic embedding. A new document is assigned only if it
sits as close to the topic as 95% of the documents that formed it; documents further out are
left for new topics. A single number instead applies one cosine threshold to every topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topics.artifacts import write_json, write_npy

MODEL_DIR = "model"
REFERENCE_FILE = "reference.json"
TOPIC_EMBEDDINGS_FILE = "topic_embeddings.npy"
AUTO_PERCENTILE = 5.0

# Per-document assignment status, in documents.parquet's ``status`` column.
SEEN, ASSIGNED, NEW, OUTLIER = "seen", "assigned", "new", "outlier"


class ReferenceRunError(ValueError):
    """Raised when a run directory cannot serve as a reference."""


def member_thresholds(embeddings: np.ndarray, doc_topics: np.ndarray, topic_embeddings: np.ndarray, topic_ids: list[int]) -> list[float]:
    """Per topic, the ``AUTO_PERCENTILE``-th percentile of its documents' cosine similarity to
    its topic embedding (the ``auto`` assignment threshold).

    Parameters
    ----------
    embeddings : float32, shape (n_docs, dim)
    doc_topics : int64, shape (n_docs,)
    topic_embeddings : float32, shape (n_topics, dim), rows aligned with ``topic_ids``
    topic_ids : list of int (no -1)
    """
    docs = unit_rows(embeddings)
    centres = unit_rows(topic_embeddings)
    thresholds = []
    for row, topic in enumerate(topic_ids):
        similarity = docs[doc_topics == topic] @ centres[row]
        thresholds.append(float(np.percentile(similarity, AUTO_PERCENTILE)) if len(similarity) else 1.0)
    return thresholds


def save_reference(
    path: str | Path, bertopic_model, embedding_model_path: str, info: dict[str, Any], topics: pd.DataFrame,
    topic_embeddings: np.ndarray, thresholds: list[float],
) -> None:
    """Write a reference model folder (see the module docstring).

    Parameters
    ----------
    path : folder to create (must not hold a model already)
    bertopic_model : the fitted ``BERTopic`` whose topics these are
    embedding_model_path : what BERTopic records as the embedding model (a name or a local path)
    info : run-level fields for ``reference.json`` (embedding model identity, settings)
    topics : the topic table (``topic``, ``size``, ``name``, ``terms``), outliers included or not
    topic_embeddings : float32, shape (len(topics), dim), rows aligned with ``topics``
    thresholds : cosine thresholds, one per non-outlier topic in table order
    """
    path = Path(path)
    bertopic_model.save(str(path), serialization="safetensors", save_ctfidf=True, save_embedding_model=embedding_model_path)
    real = (topics["topic"] >= 0).to_numpy()
    rows = topics[real]
    write_npy(path / TOPIC_EMBEDDINGS_FILE, np.asarray(topic_embeddings, dtype=np.float32)[real])
    write_json(path / REFERENCE_FILE, {
        **info,
        "auto_percentile": AUTO_PERCENTILE,
        "topics": [
            {"topic": int(r.topic), "size": int(r.size), "name": str(r.name), "terms": [str(t) for t in list(r.terms)[:10]],
             "threshold": float(t)}
            for r, t in zip(rows.itertuples(index=False), thresholds)
        ],
    })


@dataclass(frozen=True)
class Reference:
    """A loaded reference run.

    Attributes
    ----------
    run_dir : Path
    info : dict, ``reference.json`` (run_id, embedding identity, settings, topics)
    topics : DataFrame, one row per reference topic (no outliers): topic, size, name, terms, threshold
    topic_embeddings : float32, shape (n_topics, dim), rows aligned with ``topics``
    documents : DataFrame, doc_id (str) and topic (int64) of every document of the reference run
    n_docs : int
    """

    run_dir: Path
    info: dict
    topics: pd.DataFrame
    topic_embeddings: np.ndarray
    documents: pd.DataFrame

    @property
    def n_docs(self) -> int:
        return len(self.documents)


def load_reference(run_dir: str | Path) -> Reference:
    """Read a completed run's reference model.

    Raises
    ------
    ReferenceRunError
        If ``run_dir`` is not a completed run or has no model folder (runs made before
        references existed), naming the path.
    """
    from topics.run import is_completed, read_manifest

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReferenceRunError(f"reference {run_dir}: no such run directory")
    if not is_completed(run_dir):
        raise ReferenceRunError(f"reference {run_dir}: not a completed run (its manifest.json does not say completed)")
    model = run_dir / MODEL_DIR
    if not (model / REFERENCE_FILE).is_file() or not (model / TOPIC_EMBEDDINGS_FILE).is_file():
        raise ReferenceRunError(f"reference {run_dir}: no {MODEL_DIR}/{REFERENCE_FILE} (the run predates reference models; re-run it)")
    info = json.loads((model / REFERENCE_FILE).read_text(encoding="utf-8"))
    info["run_id"] = read_manifest(run_dir).get("run_id", run_dir.name)
    topics = pd.DataFrame(info["topics"], columns=["topic", "size", "name", "terms", "threshold"]).astype({"topic": "int64", "size": "int64"})
    embeddings = np.load(model / TOPIC_EMBEDDINGS_FILE)
    if len(embeddings) != len(topics):
        raise ReferenceRunError(f"reference {run_dir}: {TOPIC_EMBEDDINGS_FILE} has {len(embeddings)} rows for {len(topics)} topics")
    documents = pd.read_parquet(run_dir / "documents.parquet", columns=["doc_id", "topic"])
    return Reference(run_dir, info, topics, embeddings.astype(np.float32), documents.astype({"doc_id": str, "topic": "int64"}))


@dataclass(frozen=True)
class Assignment:
    """Result of :func:`assign`.

    Attributes
    ----------
    labels : int64, shape (n_docs,)
        Reference topic id, a new candidate topic id (above every reference id), or -1.
    status : object array of str, shape (n_docs,)
        ``seen`` (the reference holds the document), ``assigned`` (joined a reference topic),
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


def assign(
    doc_ids: list[str], embeddings: np.ndarray, reduced: np.ndarray, reference: Reference,
    threshold: float | str = "auto", cluster_config=None,
) -> Assignment:
    """Assign a new corpus to a reference's topics; cluster what does not fit into new topics.

    Parameters
    ----------
    doc_ids : list of str, length n_docs
    embeddings : float32, shape (n_docs, dim), same model as the reference
    reduced : float32, shape (n_docs, n_components), the new corpus's clustering space
    reference : from :func:`load_reference`
    threshold : ``"auto"`` (per-topic thresholds from the reference) or a cosine similarity in [-1, 1]
    cluster_config : HDBSCAN settings for the candidate new topics (``min_cluster_size`` is the
        smallest new topic reported)

    Returns
    -------
    Assignment

    Raises
    ------
    ReferenceRunError
        If the embedding dimension differs from the reference's.
    """
    from topics.cluster import cluster

    embeddings = np.asarray(embeddings, dtype=np.float32)
    n_docs = len(doc_ids)
    if reference.topic_embeddings.size and embeddings.shape[1] != reference.topic_embeddings.shape[1]:
        raise ReferenceRunError(
            f"reference {reference.run_dir}: topic embeddings have {reference.topic_embeddings.shape[1]} dimensions, "
            f"the new documents {embeddings.shape[1]}: embed with the reference's model"
        )
    labels = np.full(n_docs, -1, dtype=np.int64)
    status = np.full(n_docs, OUTLIER, dtype=object)
    similarity = np.zeros(n_docs, dtype=np.float32)
    topic_ids = reference.topics["topic"].to_numpy()
    if len(topic_ids):
        scores = unit_rows(embeddings) @ unit_rows(reference.topic_embeddings).T
        best = scores.argmax(axis=1)
        similarity = scores[np.arange(n_docs), best].astype(np.float32)
        limits = reference.topics["threshold"].to_numpy() if threshold == "auto" else np.full(len(topic_ids), float(threshold))
        fits = similarity >= limits[best]
        labels[fits] = topic_ids[best[fits]]
        status[fits] = ASSIGNED

    seen = dict(zip(reference.documents["doc_id"], reference.documents["topic"]))
    for i, doc_id in enumerate(doc_ids):
        if doc_id in seen:
            labels[i], status[i] = seen[doc_id], SEEN

    rest = np.flatnonzero(status == OUTLIER)
    new_topics: list[int] = []
    if len(rest):
        clusters, _ = cluster(np.asarray(reduced)[rest], cluster_config)
        first = int(max(topic_ids.max() if len(topic_ids) else -1, reference.documents["topic"].max()) + 1)
        # New ids by size, largest first, above every reference id.
        order = pd.Series(clusters[clusters >= 0]).value_counts().index.tolist()
        mapping = {old: first + k for k, old in enumerate(order)}
        for row, c in zip(rest, clusters):
            if c >= 0:
                labels[row], status[row] = mapping[c], NEW
        new_topics = sorted(mapping.values())
    return Assignment(labels, status, similarity, new_topics)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32: dot products are cosines."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)
