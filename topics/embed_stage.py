"""The embed stage: per-document vector reuse, chunked and resumable encoding.

Every document's vector is looked up first in the vector store (:mod:`topics.vector_store`),
by its vector space and the SHA-256 of its text; only the distinct texts not found are
encoded, ``embed.chunk_size`` at a time, and each chunk is committed as soon as it is done.
The corpus's matrix is then assembled, chunk by chunk, into a memory-mapped ``.npy`` file of
the stage's entry, so no second full copy is held in RAM. A run killed mid-embedding keeps
its committed chunks, and the next run encodes only the rest.

With ``execution.task_runner: dask`` the same chunks are encoded first as chunk jobs
(:func:`chunk_jobs`, :func:`encode_chunk`) on the workers, each committing its chunk to the
vector store; the stage then finds every vector there and only assembles. Chunk boundaries are
the same either way, so both paths file the same chunks.

The stage's record in the run's manifest gives ``reused`` (documents whose vector came from
the store) and ``encoded`` (distinct texts encoded by this run), with ``backend``, ``device``
and ``dtype``. A whole-stage cache hit reports ``reused`` = documents and ``encoded`` = 0.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from pathlib import Path

import numpy as np

from topics import embed as embed_mod
from topics.artifacts import ArtifactStore, EntryWriter
from topics.chunk_work import ChunkJob
from topics.config import EmbedConfig
from topics.stage_cache import StageResult, _cached, pause_after_chunk_for_tests, stage_key
from topics.vector_store import VectorStore, match, text_digests

logger = logging.getLogger(__name__)


def config_space(config: EmbedConfig) -> dict:
    """The vector space ``config`` encodes into (see :func:`topics.embed.vector_space`)."""
    return embed_mod.vector_space(config.model, config.backend, config.device, config.precision, config.max_seq_length)


def load_config_encoder(config: EmbedConfig, store: ArtifactStore | None) -> embed_mod.Encoder:
    """The encoder ``config`` asks for; derived models are kept in ``store``."""
    return embed_mod.load_encoder(config.model, config.backend, config.device, config.max_seq_length, config.batch_size,
                                  config.precision, store)


def embed_documents(store: ArtifactStore, texts: list[str], config: EmbedConfig, out_path: Path) -> dict:
    """Write the float32 (n_docs, dim) matrix of ``texts`` (row i = texts[i], L2-normalised) to
    the ``.npy`` file ``out_path``, reusing stored vectors and committing new ones in chunks.

    Returns ``{"reused", "encoded", "device", "dim"}``; ``device`` is None when nothing was
    encoded.

    Raises
    ------
    ValueError
        If ``texts`` is empty.
    topics.embed.EmbeddingError
        If the model cannot be loaded or converted.
    """
    if not texts:
        raise ValueError("no documents to embed")
    vectors = VectorStore(store, config_space(config))
    digests = text_digests(texts)
    located = vectors.locate(digests)
    reused = int(located.found.sum())
    to_encode = _missing_rows(digests, located)
    logger.info("embed: %d documents, %d vectors reused from the store, %d distinct texts to encode",
                len(texts), reused, len(to_encode))
    device = None
    if len(to_encode):
        encoder = load_config_encoder(config, store)
        device = encoder.device
        new_keys, new_digests = [], []
        from tqdm.auto import tqdm

        with tqdm(total=len(to_encode), unit="doc", desc="embed", disable=not config.show_progress) as bar:
            for rows in _chunks(to_encode, config.chunk_size):
                new_keys.append(_encode_and_commit(encoder, vectors, [texts[i] for i in rows], digests[rows], bar))
                new_digests.append(digests[rows])
                pause_after_chunk_for_tests(len(new_keys))
        located = match(digests, located.keys + new_keys, located.chunk_digests + new_digests)
    dim = _assemble(vectors, located, out_path)
    return {"reused": reused, "encoded": int(len(to_encode)), "device": device, "dim": dim}


def _missing_rows(digests: np.ndarray, located) -> np.ndarray:
    """One row per distinct text without a stored vector, in corpus order of first appearance."""
    missing = np.flatnonzero(~located.found)
    _, first = np.unique(digests[missing], return_index=True)
    return missing[np.sort(first)]


def _chunks(rows: np.ndarray, size: int) -> list[np.ndarray]:
    return [rows[start:start + size] for start in range(0, len(rows), size)]


def _encode_and_commit(encoder, vectors: VectorStore, texts: list[str], digests: np.ndarray, bar=None) -> str:
    """Encode ``texts`` (their ``digests`` alongside) and commit them as one vector chunk;
    returns its key."""
    if encoder.space() != vectors.space:  # never file vectors under another space's name
        raise embed_mod.EmbeddingError(f"the encoder computes {encoder.space()}, not {vectors.space}")
    return vectors.commit(digests, embed_mod.encode_in_batches(encoder, texts, bar))


@functools.lru_cache(maxsize=4)
def _corpus_texts(cache_dir: str, corpus_key: str) -> list[str]:
    # Loaded once per worker process and corpus, not once per chunk.
    return ArtifactStore(cache_dir).get("load", corpus_key, verify=False).table("documents.parquet")["text"].tolist()


@functools.lru_cache(maxsize=2)
def _encoder(config: EmbedConfig, cache_dir: str) -> embed_mod.Encoder:
    # Each worker process loads the model once.
    return load_config_encoder(config, ArtifactStore(cache_dir))


def stage_entry_key(store: ArtifactStore, corpus_key: str, config: EmbedConfig) -> str:
    """The embed stage's entry key: the corpus fingerprint and the vector space."""
    fingerprint = store.get("load", corpus_key, verify=False).meta["fingerprint"]
    return stage_key("embed", {"corpus": fingerprint}, {"space": config_space(config)})


def chunk_jobs(store: ArtifactStore, corpus_key: str, config: EmbedConfig) -> list[ChunkJob]:
    """The embed stage's work as chunk jobs: one per ``config.chunk_size`` distinct texts of
    the corpus with no vector in the store (none when all are stored, or the stage's entry is
    committed), the same chunks the stage's own loop would encode. Each runs :func:`encode_chunk`."""
    if store.has("embed", stage_entry_key(store, corpus_key, config)):
        return []
    texts = _corpus_texts(str(store.root), corpus_key)
    digests = text_digests(texts)
    to_encode = _missing_rows(digests, VectorStore(store, config_space(config)).locate(digests))
    chunks = _chunks(to_encode, config.chunk_size)
    return [
        ChunkJob(f"embed chunk {i} of {len(chunks)}", encode_chunk, (corpus_key, config, rows))
        for i, rows in enumerate(chunks, 1)
    ]


def encode_chunk(store: ArtifactStore, corpus_key: str, config: EmbedConfig, rows: np.ndarray) -> dict:
    """Encode the corpus texts at ``rows`` (int64 indices) and commit them to the vector store
    as one chunk; returns ``{"encoded": n, "device": ...}``. A chunk already committed (by an
    earlier attempt of the job) is not encoded again.

    Raises
    ------
    topics.embed.EmbeddingError
        If the model cannot be loaded or computes another vector space.
    """
    corpus = _corpus_texts(str(store.root), corpus_key)
    texts = [corpus[i] for i in rows]
    vectors = VectorStore(store, config_space(config))
    digests = text_digests(texts)  # the chunk's own texts only, not the whole corpus again
    if vectors.locate(digests).found.all():
        return {"encoded": 0, "device": None}
    encoder = _encoder(config, str(store.root))
    _encode_and_commit(encoder, vectors, texts, digests)
    return {"encoded": int(len(rows)), "device": encoder.device}


def _assemble(vectors: VectorStore, located, out_path: Path) -> int:
    """Copy each chunk's rows into a memory-mapped matrix at ``out_path``; returns its dim."""
    if not located.found.all():
        raise RuntimeError(f"{int((~located.found).sum())} documents have no vector after encoding")
    dim = vectors.vectors(located.keys[located.chunk[0]]).shape[1]
    matrix = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.float32, shape=(len(located.chunk), dim))
    for index in np.unique(located.chunk):
        chunk = vectors.vectors(located.keys[index])
        if chunk.shape[1] != dim:
            raise RuntimeError(f"vector chunk {located.keys[index]} has dimension {chunk.shape[1]}, others {dim}")
        rows = np.flatnonzero(located.chunk == index)
        matrix[rows] = chunk[located.row[rows]]
    matrix.flush()
    del matrix
    return dim


def embed(store: ArtifactStore, corpus_key: str, config: EmbedConfig, refresh: bool = False) -> StageResult:
    """Embed the corpus texts; entry file ``embeddings.npy`` float32 (n_docs, dim), rows in
    corpus order, L2-normalised. The stage key is the corpus fingerprint and the vector space
    (see :func:`topics.embed.vector_space`); ``--refresh embed`` reassembles the matrix but
    still reuses stored vectors (clear the cache to encode everything again).

    Raises
    ------
    topics.embed.EmbeddingError
        If the model cannot be loaded or converted, or the backend and precision do not fit.
    """
    started = time.perf_counter()
    corpus = store.get("load", corpus_key, verify=False)
    space = config_space(config)
    key = stage_entry_key(store, corpus_key, config)

    def fill(writer: EntryWriter) -> dict:
        texts = corpus.table("documents.parquet")["text"].tolist()
        counts = embed_documents(store, texts, config, writer.path / "embeddings.npy")
        return {"model": space["model"], "backend": space["backend"], "dtype": space["dtype"], **counts}

    result = _cached(store, "embed", key, fill, refresh, started)
    meta = store.get("embed", result.key, verify=False).meta
    details = {"reused": int(meta["reused"]), "encoded": int(meta["encoded"])}
    if result.hit:
        details = {"reused": int(corpus.meta["n_docs"]), "encoded": 0}
    details.update(backend=meta["backend"], dtype=meta["dtype"], device=meta["device"])
    return dataclasses.replace(result, details=details)
