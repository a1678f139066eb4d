"""Per-document embedding vectors, stored in chunks and reused across corpora and runs.

A vector is identified by its *space* (the model's identity, the backend and its dtype,
``max_seq_length``, normalisation and the versions of the packages that compute it: see
:func:`topics.embed.Encoder.space`) and the SHA-256 of the document's text. Vectors are
committed in chunks, each an ordinary entry of the artifact store under the stage
``vectors``:

``<cache>/vectors/<space id>-<chunk id>/``
    ``digests.npy`` (``S32``, shape (m,): raw SHA-256 of each text) and ``vectors.npy``
    (float32, shape (m, dim)), plus the store's ``_entry.json``.

So a corpus that repeats most of yesterday's texts encodes only the new ones, and a run killed
mid-embedding keeps every chunk it committed. Chunks are verified (sizes and checksums) before
use; a damaged chunk is moved aside and its texts are encoded again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from topics.artifacts import ArtifactStore, CorruptArtifact, EntryWriter, stable_key

logger = logging.getLogger(__name__)

STAGE = "vectors"
DIGEST_DTYPE = np.dtype("S32")


def text_digests(texts: Iterable[str]) -> np.ndarray:
    """SHA-256 of each text (UTF-8): ``S32`` array, shape (n,), in the order given."""
    return np.array([hashlib.sha256(text.encode("utf-8")).digest() for text in texts], dtype=DIGEST_DTYPE)


@dataclass(frozen=True)
class Located:
    """Where each asked-for digest lives: ``chunk`` int64 (n,) indexes ``keys`` (-1 = not
    stored), ``row`` int64 (n,) is the row inside that chunk; ``chunk_digests`` holds each
    key's digests, so that newly committed chunks can be added (:func:`match`)."""

    keys: list[str]
    chunk: np.ndarray
    row: np.ndarray
    chunk_digests: list[np.ndarray]

    @property
    def found(self) -> np.ndarray:
        return self.chunk >= 0


class VectorStore:
    """The chunks of one vector space in an :class:`~topics.artifacts.ArtifactStore`.

    Parameters
    ----------
    store : the artifact store (the run's ``cache.dir``)
    space : JSON-serialisable identity of the vector space; vectors of different spaces
        never mix
    """

    def __init__(self, store: ArtifactStore, space: dict):
        self.store = store
        self.space = space
        self.space_id = stable_key("vector-space", space)[:16]

    def chunk_keys(self) -> list[str]:
        """Keys of this space's committed chunks, sorted."""
        folder = self.store.root / STAGE
        if not folder.is_dir():
            return []
        return sorted(p.parent.name for p in folder.glob(f"{self.space_id}-*/_entry.json"))

    def locate(self, digests: np.ndarray) -> Located:
        """Find each digest among the committed, intact chunks (damaged ones are discarded).

        ``digests`` : ``S32``, shape (n,). Every chunk holding a wanted digest is verified
        (sizes and checksums) before it is used; the result lists only those chunks.
        """
        keys, stored = [], []
        for key in self.chunk_keys():
            try:
                chunk_digests = np.load(self.store.entry_dir(STAGE, key) / "digests.npy", allow_pickle=False)
            except (OSError, ValueError, EOFError) as exc:
                self._drop(key, exc)
                continue
            if chunk_digests.dtype != DIGEST_DTYPE or chunk_digests.ndim != 1:
                self._drop(key, ValueError(f"digests.npy holds {chunk_digests.dtype} {chunk_digests.shape}"))
                continue
            stored.append(chunk_digests)
            keys.append(key)
        located = match(digests, keys, stored)
        used = []
        for index in np.unique(located.chunk[located.found]):
            try:
                self.store.get(STAGE, keys[index], verify=True)
                used.append(index)
            except (KeyError, CorruptArtifact) as exc:
                self._drop(keys[index], exc)
        return match(digests, [keys[i] for i in used], [stored[i] for i in used])

    def _drop(self, key: str, reason: Exception) -> None:
        logger.warning("vector chunk %s damaged (%s): its texts are encoded again", key, reason)
        self.store.discard(STAGE, key)

    def commit(self, digests: np.ndarray, vectors: np.ndarray) -> str:
        """Store one chunk atomically; returns its key.

        ``digests`` : ``S32``, shape (m,); ``vectors`` : float32, shape (m, dim), same order.

        Raises
        ------
        ValueError
            If the two lengths differ.
        """
        if len(digests) != len(vectors):
            raise ValueError(f"{len(digests)} digests for {len(vectors)} vectors")
        key = f"{self.space_id}-{hashlib.sha256(digests.tobytes()).hexdigest()[:24]}"

        def fill(writer: EntryWriter) -> dict:
            writer.array("digests.npy", digests.astype(DIGEST_DTYPE))
            writer.array("vectors.npy", np.asarray(vectors, dtype=np.float32))
            return {"space": self.space, "n": int(len(digests)), "dim": int(vectors.shape[1])}

        self.store.put(STAGE, key, fill)
        return key

    def vectors(self, key: str) -> np.ndarray:
        """A chunk's vectors, float32 (m, dim), memory-mapped read-only."""
        return self.store.get(STAGE, key, verify=False).array("vectors.npy")


def match(digests: np.ndarray, keys: list[str], chunk_digests: list[np.ndarray]) -> Located:
    """Locate ``digests`` (``S32``, shape (n,)) among chunks ``keys`` whose digests are
    ``chunk_digests`` (one array per key), with one sort and one binary search."""
    chunk = np.full(len(digests), -1, dtype=np.int64)
    row = np.full(len(digests), -1, dtype=np.int64)
    if keys and len(digests):
        all_digests = np.concatenate(chunk_digests)
        chunk_of = np.concatenate([np.full(len(d), i, dtype=np.int64) for i, d in enumerate(chunk_digests)])
        row_of = np.concatenate([np.arange(len(d), dtype=np.int64) for d in chunk_digests])
        order = np.argsort(all_digests, kind="stable")
        sorted_digests = all_digests[order]
        position = np.minimum(np.searchsorted(sorted_digests, digests), len(sorted_digests) - 1)
        hit = sorted_digests[position] == digests
        chunk[hit] = chunk_of[order][position[hit]]
        row[hit] = row_of[order][position[hit]]
    return Located(list(keys), chunk, row, list(chunk_digests))
