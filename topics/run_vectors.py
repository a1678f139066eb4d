"""A completed run's vectors, read back without embedding anything.

A run directory does not hold its document vectors: they live in the run's cache
(``manifest.json``'s ``cache_dir``), in the embed stage's entry (``embed/<key>/embeddings.npy``,
float32 (n_docs, dim), rows in the order of the run's ``documents.parquet``). When that entry
was pruned, the per-document vector store (:mod:`topics.vector_store`) may still hold every
document's vector under the run's vector space; the matrix is then assembled from its chunks.
Topic vectors are the run's ``model/topic_embeddings.npy`` (see :mod:`topics.reference`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from topics.artifacts import ArtifactStore
from topics.config import EmbedConfig
from topics.reference import MODEL_DIR, REFERENCE_FILE, TOPIC_EMBEDDINGS_FILE
from topics import run as run_mod
from topics.run import MANIFEST

DOCUMENTS_FILE = "documents.parquet"
TOPICS_FILE = "topics.parquet"


class RunVectorsError(ValueError):
    """Raised when a folder is not a completed run, or its vectors cannot be read."""


@dataclass(frozen=True)
class RunVectors:
    """What search needs from a completed run.

    Attributes
    ----------
    run_dir : Path
    manifest : dict, the run's ``manifest.json``
    embed : EmbedConfig, the run's resolved embedding settings
    embedded : dict, the embed stage's record (``model`` identity, ``backend``, ``dtype``)
    documents : DataFrame, one row per document in matrix order: ``doc_id`` (str), ``topic`` (int64)
    doc_vectors : float32, shape (n_docs, dim), L2-normalised; memory-mapped when read from the
        embed entry
    topics : DataFrame, one row per topic (no outliers), rows aligned with ``topic_vectors``:
        ``topic`` (int64), ``size`` (int64), ``name`` (str), ``label`` (str, empty when none)
    topic_vectors : float32, shape (n_topics, dim)
    source : ``embed entry`` or ``vector store``: where ``doc_vectors`` came from
    """

    run_dir: Path
    manifest: dict
    embed: EmbedConfig
    embedded: dict
    documents: pd.DataFrame
    doc_vectors: np.ndarray
    topics: pd.DataFrame
    topic_vectors: np.ndarray
    source: str


def completed_manifest(run_dir: str | Path) -> dict:
    """The manifest of a completed run.

    Raises
    ------
    RunVectorsError
        If ``run_dir`` is missing, not a folder, has no readable manifest, or is not completed.
    """
    try:
        return run_mod.completed_manifest(run_dir)
    except run_mod.NotACompletedRun as exc:
        raise RunVectorsError(f"{run_dir}: {exc}") from None


def embed_record(manifest: dict) -> dict:
    """The embed stage's record in ``manifest["stages"]`` (``name``, ``key``, ``backend``, ``dtype``, ...)."""
    for record in manifest.get("stages", []):
        if record.get("name") == "embed":
            return record
    raise RunVectorsError("its manifest records no embed stage")


def load_run_vectors(run_dir: str | Path) -> RunVectors:
    """Open a completed run's document and topic vectors (see the module docstring); nothing is
    embedded and the model is not loaded.

    Raises
    ------
    RunVectorsError
        If ``run_dir`` is not a completed run, a file it needs is missing or damaged, or its
        document vectors are no longer in its cache (pruned, or a ``--no-cache`` run).
    """
    run_dir = Path(run_dir)
    manifest = completed_manifest(run_dir)
    try:
        embed = EmbedConfig(**manifest["config"]["embed"])
        record = embed_record(manifest)
    except (KeyError, TypeError, ValueError) as exc:
        raise RunVectorsError(f"{run_dir}: {MANIFEST} has no usable embed settings ({str(exc).splitlines()[0]})") from None
    documents = _read_table(run_dir / DOCUMENTS_FILE, ["doc_id", "topic"]).astype({"doc_id": str, "topic": "int64"})
    topics, topic_vectors, info = _topic_vectors(run_dir)
    embedded = {"model": info.get("embedding_model"), "backend": record.get("backend", "torch"),
                "dtype": record.get("dtype", "fp32")}
    doc_vectors, source = _document_vectors(run_dir, manifest, record, embed, embedded, len(documents))
    if topic_vectors.size and topic_vectors.shape[1] != doc_vectors.shape[1]:
        raise RunVectorsError(f"{run_dir}: topic vectors have {topic_vectors.shape[1]} dimensions, documents {doc_vectors.shape[1]}")
    return RunVectors(run_dir, manifest, embed, embedded, documents, doc_vectors, topics, topic_vectors, source)


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise RunVectorsError(f"{path.parent}: {path.name} is missing")
    try:
        return pd.read_parquet(path, columns=columns)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise RunVectorsError(f"{path}: unreadable or without columns {', '.join(columns)} ({type(exc).__name__})") from None


def _topic_vectors(run_dir: Path) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Topics (no outliers) with size, name and label, their vectors, and ``reference.json``."""
    model = run_dir / MODEL_DIR
    for name in (REFERENCE_FILE, TOPIC_EMBEDDINGS_FILE):
        if not (model / name).is_file():
            raise RunVectorsError(f"{run_dir}: {MODEL_DIR}/{name} is missing (a run from before topic models were saved? re-run it)")
    try:
        info = json.loads((model / REFERENCE_FILE).read_text(encoding="utf-8"))
        ids = [int(t["topic"]) for t in info["topics"]]
        vectors = np.load(model / TOPIC_EMBEDDINGS_FILE, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunVectorsError(f"{run_dir}: {MODEL_DIR}/ is damaged ({exc})") from None
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise RunVectorsError(f"{run_dir}: {MODEL_DIR}/{TOPIC_EMBEDDINGS_FILE} has shape {vectors.shape} for {len(ids)} topics")
    table = _read_table(run_dir / TOPICS_FILE, ["topic", "size", "name", "label"])
    table = table.astype({"topic": "int64", "size": "int64"}).set_index("topic")
    missing = sorted(set(ids) - set(table.index))
    if missing:
        raise RunVectorsError(f"{run_dir}: {TOPICS_FILE} lacks topics {missing[:5]} of {MODEL_DIR}/{REFERENCE_FILE}")
    topics = table.loc[ids].reset_index()[["topic", "size", "name", "label"]]
    topics["label"] = topics["label"].fillna("").astype(str)
    return topics, vectors, info


def _document_vectors(run_dir: Path, manifest: dict, record: dict, embed: EmbedConfig, embedded: dict,
                      n_docs: int) -> tuple[np.ndarray, str]:
    """float32 (n_docs, dim) from the embed entry (memory-mapped), else from the vector store."""
    cache_dir = manifest.get("cache_dir")
    if not cache_dir:
        raise RunVectorsError(f"{run_dir}: the run kept no document vectors (it ran with --no-cache or caching off); re-run it with the cache")
    store = ArtifactStore(cache_dir)
    key = record.get("key")
    if key and store.has("embed", key):
        try:
            matrix = store.get("embed", key, verify=False).array("embeddings.npy")
        except (OSError, ValueError) as exc:
            raise RunVectorsError(f"{run_dir}: its embed cache entry {cache_dir}/embed/{key} is damaged ({exc})") from None
        if matrix.ndim != 2 or len(matrix) != n_docs or matrix.dtype != np.float32:
            raise RunVectorsError(f"{run_dir}: its embed cache entry holds {matrix.dtype} {matrix.shape}, the run {n_docs} documents")
        return matrix, "embed entry"
    matrix = _from_vector_store(run_dir, store, embed, embedded)
    if matrix is None:
        raise RunVectorsError(
            f"{run_dir}: its document vectors are no longer in the cache {cache_dir} (embed entry {key} pruned, "
            f"and the vector store lacks some documents); re-run it to embed again"
        )
    return matrix, "vector store"


def _from_vector_store(run_dir: Path, store: ArtifactStore, embed: EmbedConfig, embedded: dict) -> np.ndarray | None:
    """The run's matrix assembled from the vector store, or None when a document is missing.
    Texts are hashed to find their vectors (a SHA-256 each), never encoded."""
    from topics.embed import EmbeddingError, vector_space
    from topics.vector_store import VectorStore, text_digests

    # The space the run encoded into, rebuilt from what it recorded (fp16 only ever on CUDA).
    fp16 = embedded["dtype"] == "fp16"
    try:
        space = vector_space(embed.model, embedded["backend"], "cuda" if fp16 else "cpu", "fp16" if fp16 else "fp32",
                             embed.max_seq_length)
    except EmbeddingError:
        return None  # the model is gone: its vectors cannot be found (and the query not embedded)
    if embedded.get("model"):
        space["model"] = embedded["model"]  # the identity the vectors were filed under
    vectors = VectorStore(store, space)
    if not vectors.chunk_keys():
        return None
    texts = _read_table(run_dir / DOCUMENTS_FILE, ["text"])["text"].tolist()
    located = vectors.locate(text_digests(texts))
    if not located.found.all():
        return None
    matrix = None
    for index in np.unique(located.chunk):
        chunk = vectors.vectors(located.keys[index])
        if matrix is None:
            matrix = np.empty((len(texts), chunk.shape[1]), dtype=np.float32)
        rows = np.flatnonzero(located.chunk == index)
        matrix[rows] = chunk[located.row[rows]]
    return matrix
