"""Semantic search over a completed run: the topics and documents nearest to a query.

The query is embedded with the run's own embedding model, backend and ``max_seq_length``
(its manifest's resolved settings), offline; the corpus is never embedded again: document
vectors are read from the run's cache (see :mod:`topics.run_vectors`), memory-mapped, and
scored with one matrix-vector product. Scores are cosine similarities (every vector is
L2-normalised), in [-1, 1]. This is the dense-retrieval step of sentence-transformers'
semantic search (Reimers & Gurevych, 2019), exhaustive rather than approximate.

In a notebook::

    from topics.search import RunSearch, search
    result = search("outputs/<run_id>", "galaxy formation", k_topics=5, n_docs=10)
    index = RunSearch("outputs/<run_id>")  # loads the model once for many queries
    index.search("dark matter").to_dict()
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from topics.artifacts import ArtifactStore
from topics.embed import EmbeddingError, Encoder, load_encoder
from topics.reference import unit_rows
from topics.run_vectors import DOCUMENTS_FILE, RunVectors, RunVectorsError, load_run_vectors

SNIPPET_CHARS = 160


class SearchError(ValueError):
    """Raised with a one-line reason: an empty query, a folder that is not a searchable
    completed run, or a run whose embedding model cannot be loaded."""


@dataclass(frozen=True)
class TopicHit:
    """A topic near the query. ``name`` is the topic's LLM label when the run has one, else its
    c-TF-IDF name; ``size`` counts its documents; ``score`` is the cosine similarity of the
    query to the topic embedding."""

    topic: int
    name: str
    size: int
    score: float


@dataclass(frozen=True)
class DocumentHit:
    """A document near the query: its id, topic (-1 = outlier), cosine ``score``, and its title
    when the run has a title column, else the start of its text (whitespace collapsed)."""

    doc_id: str
    topic: int
    score: float
    snippet: str


@dataclass(frozen=True)
class SearchResult:
    """Topics and documents most similar to ``query``, best first.

    ``seconds`` holds ``model`` (loading it; 0 when already loaded), ``query`` (embedding the
    query) and ``score`` (scoring and ranking every document and topic, reading snippets).
    """

    query: str
    topics: list[TopicHit]
    documents: list[DocumentHit]
    seconds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """``{"topics": [{"topic", "name", "size", "score"}], "documents": [{"doc_id", "topic",
        "score", "snippet"}]}``, JSON-serialisable."""
        return {"topics": [asdict(t) for t in self.topics], "documents": [asdict(d) for d in self.documents]}


def check_query(query: str) -> str:
    """The query with surrounding whitespace removed.

    Raises
    ------
    SearchError
        If it is empty or only whitespace.
    """
    if not isinstance(query, str) or not query.strip():
        raise SearchError("the query is empty: give some words to search for")
    return query.strip()


class RunSearch:
    """Search one completed run; the embedding model is loaded on the first query and kept.

    Parameters
    ----------
    run_dir : a completed run directory (``outputs/<run_id>``)
    encoder : an already loaded :class:`topics.embed.Encoder` of the run's model and backend
        (default: loaded from the run's settings on first use)

    Raises
    ------
    SearchError
        If ``run_dir`` is not a completed run or its document vectors are gone from its cache.
    """

    def __init__(self, run_dir: str | Path, encoder: Encoder | None = None):
        self.run_dir = Path(run_dir)
        try:
            self.vectors_: RunVectors = load_run_vectors(self.run_dir)
        except RunVectorsError as exc:
            raise SearchError(str(exc)) from None
        self.encoder_ = encoder

    def encoder(self) -> Encoder:
        """The run's encoder, loaded once.

        Raises
        ------
        SearchError
            If the model cannot be loaded, or is no longer the model the run embedded with.
        """
        if self.encoder_ is None:
            self.encoder_ = load_query_encoder(self.vectors_)
        return self.encoder_

    def search(self, query: str, k_topics: int = 5, n_docs: int = 10) -> SearchResult:
        """The ``k_topics`` topics and ``n_docs`` documents most cosine-similar to ``query``.

        Raises
        ------
        SearchError
            If the query is empty, ``k_topics`` or ``n_docs`` is negative, or the model cannot
            be loaded.
        """
        query = check_query(query)
        for name, value in (("k_topics", k_topics), ("n_docs", n_docs)):
            if value < 0:
                raise SearchError(f"{name} must be 0 or more, got {value}")
        started = time.perf_counter()
        encoder = self.encoder()
        loaded = time.perf_counter()
        vector = encoder.encode([query])[0].astype(np.float32)
        embedded = time.perf_counter()
        run = self.vectors_
        topic_scores = unit_rows(run.topic_vectors) @ vector if len(run.topic_vectors) else np.zeros(0, np.float32)
        doc_scores = np.asarray(run.doc_vectors @ vector)  # one pass over the memory-mapped matrix
        topic_rows, doc_rows = top_rows(topic_scores, k_topics), top_rows(doc_scores, n_docs)
        topics = [
            TopicHit(int(t.topic), t.label or str(t.name), int(t.size), round(float(topic_scores[i]), 4))
            for i, t in zip(topic_rows, run.topics.iloc[topic_rows].itertuples(index=False))
        ]
        snippets = read_snippets(self.run_dir / DOCUMENTS_FILE, doc_rows)
        documents = [
            DocumentHit(str(run.documents["doc_id"].iat[i]), int(run.documents["topic"].iat[i]), round(float(doc_scores[i]), 4), s)
            for i, s in zip(doc_rows, snippets)
        ]
        seconds = {"model": round(loaded - started, 3), "query": round(embedded - loaded, 3),
                   "score": round(time.perf_counter() - embedded, 3)}
        return SearchResult(query, topics, documents, seconds)


def search(run_dir: str | Path, query: str, k_topics: int = 5, n_docs: int = 10, encoder: Encoder | None = None) -> SearchResult:
    """The ``k_topics`` topics and ``n_docs`` documents of the run at ``run_dir`` most similar to
    ``query`` (see :class:`RunSearch`; the query is checked before anything is read).

    Raises
    ------
    SearchError
        With a one-line reason (empty query, not a completed run, vectors pruned, model unusable).
    """
    check_query(query)
    return RunSearch(run_dir, encoder).search(query, k_topics, n_docs)


def load_query_encoder(run: RunVectors) -> Encoder:
    """The run's encoder (model, backend, ``max_seq_length``; any device, fp16 only on CUDA),
    with derived ONNX/static models taken from the run's cache.

    Raises
    ------
    SearchError
        If the model cannot be loaded or its identity differs from the one the run recorded.
    """
    embed = run.embed
    # The device does not change a vector; fp16 does a little, and only exists on CUDA.
    precision = "fp32" if embed.precision == "fp32" else "auto"
    try:
        with _no_loading_bar():
            encoder = load_encoder(embed.model, run.embedded["backend"], "auto", embed.max_seq_length, 1, precision,
                                   ArtifactStore(run.manifest["cache_dir"]))
    except EmbeddingError as exc:
        raise SearchError(f"{run.run_dir}: cannot load the run's embedding model: {str(exc).splitlines()[0]}") from None
    recorded = run.embedded.get("model")
    identity = encoder.space()["model"]
    if recorded and identity != recorded:
        raise SearchError(f"{run.run_dir}: embed.model {embed.model!r} is now {identity}, but the run was embedded with "
                          f"{recorded}; its vectors and the query's would not be comparable")
    return encoder


@contextmanager
def _no_loading_bar():
    """Hide transformers' "Loading weights" bar (stderr noise around one query); restored after."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``scores`` (float, shape (n,)), largest first; ties by index."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return best[np.lexsort((best, -scores[best]))]


def read_snippets(documents_path: Path, rows: np.ndarray) -> list[str]:
    """For each row of ``documents.parquet``: its title when the run has a ``title`` column and
    the title is not empty, else its text's first ``SNIPPET_CHARS`` characters."""
    if not len(rows):
        return []
    rows = np.asarray(rows)
    titles = [""] * len(rows)
    if "title" in pq.read_schema(documents_path).names:
        titles = [" ".join(str(t or "").split()) for t in pq.read_table(documents_path, columns=["title"])["title"].take(rows).to_pylist()]
    if all(titles):
        return titles  # the text column, by far the largest, is not read
    texts = [" ".join(str(t).split()) for t in pq.read_table(documents_path, columns=["text"])["text"].take(rows).to_pylist()]
    return [title or (text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS - 1] + "…") for title, text in zip(titles, texts)]
