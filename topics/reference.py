"""Completed runs as references: saving a run's topic model and loading it back.

Every completed run keeps its topic model in ``<run>/model/``:

- BERTopic's own safetensors serialization (``config.json``, ``topics.json``,
  ``topic_embeddings.safetensors``, ``ctfidf.safetensors``, ``ctfidf_config.json``), so
  ``BERTopic.load(path, embedding_model=...)`` followed by ``transform`` works on new text.
  (BERTopic saves no UMAP or HDBSCAN model in this format: after loading, ``transform``
  gives each document the topic embedding it is most cosine-similar to, the outliers' mean
  counting as topic -1, so it reproduces only part of the run's own assignments;
  :func:`topics.reference_assign.assign_like_reference` reproduces all of them.)
- ``reference.json``: the run id, the embedding model's identity, the settings, and per topic
  its id, size, name and the similarity threshold used for assignment.
- ``topic_embeddings.npy`` float32 (n_topics, dim), rows in the order of
  ``reference.json``'s topics (outliers excluded).

Assigning a new corpus to a reference's topics is :mod:`topics.reference_assign`.
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


class ReferenceRunError(ValueError):
    """Raised when a run directory cannot serve as a reference."""


def check_vector_space(reference_dir: str | Path, info: dict, model: str, backend: str) -> None:
    """Refuse to compare vectors of different spaces: ``model`` (an embedding model identity)
    and ``backend`` (``"<backend>/<dtype>"``, e.g. ``torch/fp32``) must be the reference's.
    References saved before backends existed were embedded by ``torch/fp32``.

    Raises
    ------
    ReferenceRunError
        Naming the reference's model or backend and the setting to change.
    """
    expected_model = info.get("embedding_model")
    if expected_model and model != expected_model:
        raise ReferenceRunError(
            f"reference {reference_dir}: its documents were embedded with {expected_model}, this run would use "
            f"{model}; set embed.model to the reference's model"
        )
    expected_backend = info.get("embedding_backend", "torch/fp32")
    if backend != expected_backend:
        raise ReferenceRunError(
            f"reference {reference_dir}: its documents were embedded by {expected_backend}, this run would use {backend}; "
            f"set embed.backend (and embed.precision) to the reference's"
        )


def member_thresholds(
    embeddings: np.ndarray, doc_topics: np.ndarray, topic_embeddings: np.ndarray, topic_ids: list[int],
    reassigned: np.ndarray | None = None,
) -> list[float]:
    """Per topic, the ``AUTO_PERCENTILE``-th percentile of its documents' cosine similarity to
    its topic embedding (the ``auto`` assignment threshold).

    Documents marked in ``reassigned`` (outliers that outlier reduction moved into a topic) are
    left out: they joined at a lower similarity than the clustered core, and counting them
    would let documents of a topic the reference never had join one it has. A topic whose
    documents are all reassigned falls back to all of them.

    Parameters
    ----------
    embeddings : float32, shape (n_docs, dim)
    doc_topics : int64, shape (n_docs,)
    topic_embeddings : float32, shape (n_topics, dim), rows aligned with ``topic_ids``
    topic_ids : list of int (no -1)
    reassigned : bool, shape (n_docs,), or None (every member counts)
    """
    docs = unit_rows(embeddings)
    centres = unit_rows(topic_embeddings)
    core = np.ones(len(doc_topics), dtype=bool) if reassigned is None else ~np.asarray(reassigned, dtype=bool)
    thresholds = []
    for row, topic in enumerate(topic_ids):
        members = doc_topics == topic
        if (members & core).any():
            members &= core
        similarity = docs[members] @ centres[row]
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
    documents : DataFrame, doc_id (str), text and topic (int64) of every document of the reference run
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
        If ``run_dir`` is not a completed run, has no model folder (runs made before
        references existed), or a file it needs is missing or damaged; the message names it.
    """
    from topics.run import NotACompletedRun, completed_manifest

    run_dir = Path(run_dir)
    try:
        manifest = completed_manifest(run_dir)
    except NotACompletedRun as exc:
        raise ReferenceRunError(f"reference {run_dir}: {exc}") from None
    model = run_dir / MODEL_DIR
    needed = [model / REFERENCE_FILE, model / TOPIC_EMBEDDINGS_FILE, run_dir / "documents.parquet"]
    if not model.is_dir():
        raise ReferenceRunError(f"reference {run_dir}: no {MODEL_DIR}/ folder (the run predates reference models; re-run it)")
    for file in needed:
        if not file.is_file():
            raise ReferenceRunError(f"reference {run_dir}: {file.relative_to(run_dir)} is missing")

    def damaged(file: Path, problem: object) -> ReferenceRunError:
        return ReferenceRunError(f"reference {run_dir}: {file.relative_to(run_dir)} is damaged ({problem})")

    try:
        info = json.loads(needed[0].read_text(encoding="utf-8"))
        topics = pd.DataFrame(info["topics"], columns=["topic", "size", "name", "terms", "threshold"])
        topics = topics.astype({"topic": "int64", "size": "int64", "threshold": "float64"})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise damaged(needed[0], exc) from None
    info["run_id"] = manifest.get("run_id", run_dir.name)
    try:
        embeddings = np.load(needed[1], allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise damaged(needed[1], exc) from None
    if embeddings.ndim != 2 or len(embeddings) != len(topics):
        raise damaged(needed[1], f"shape {embeddings.shape} for {len(topics)} topics")
    try:
        documents = pd.read_parquet(needed[2], columns=["doc_id", "text", "topic"])
        documents = documents.astype({"doc_id": str, "topic": "int64"})
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise damaged(needed[2], f"needs doc_id, text and topic columns: {type(exc).__name__}") from None
    return Reference(run_dir, info, topics, embeddings.astype(np.float32), documents)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32: dot products are cosines."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)
