"""The per-document vector store: lookup by text digest across chunks, damage handling."""

import numpy as np

from topics.artifacts import ArtifactStore
from topics.vector_store import VectorStore, text_digests

SPACE = {"model": "test-model", "backend": "torch", "dtype": "fp32"}


def _unit(rows: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_digests_are_sha256_of_utf8():
    import hashlib

    digests = text_digests(["café", "café", "cafe"])
    assert digests.dtype == np.dtype("S32") and digests[0] == digests[1] != digests[2]
    assert digests[0] == hashlib.sha256("café".encode()).digest()


def test_locate_across_chunks_and_spaces(tmp_path):
    store = ArtifactStore(tmp_path)
    vectors = VectorStore(store, SPACE)
    texts = [f"document {i}" for i in range(10)]
    digests, values = text_digests(texts), _unit(10)
    vectors.commit(digests[:6], values[:6])
    vectors.commit(digests[6:8], values[6:8])

    asked = text_digests(["document 7", "not stored", "document 0", "document 7"])
    located = vectors.locate(asked)
    assert located.found.tolist() == [True, False, True, True]
    for i, text_index in ((0, 7), (2, 0), (3, 7)):
        got = vectors.vectors(located.keys[located.chunk[i]])[located.row[i]]
        np.testing.assert_array_equal(got, values[text_index])

    other = VectorStore(store, {**SPACE, "dtype": "fp16"})
    assert not other.locate(digests).found.any()  # another space never sees these vectors


def test_damaged_chunk_is_discarded_not_used(tmp_path):
    store = ArtifactStore(tmp_path)
    vectors = VectorStore(store, SPACE)
    digests = text_digests(["a", "b", "c"])
    key = vectors.commit(digests, _unit(3))
    damaged = store.entry_dir("vectors", key) / "vectors.npy"
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))

    assert not vectors.locate(digests).found.any()
    assert vectors.chunk_keys() == []  # moved aside, so its texts are encoded again


def test_unreadable_digests_are_discarded_not_fatal(tmp_path):
    store = ArtifactStore(tmp_path)
    vectors = VectorStore(store, SPACE)
    digests = text_digests(["a", "b"])
    empty = vectors.commit(digests[:1], _unit(1))
    wrong_dtype = vectors.commit(digests[1:], _unit(1, seed=1))
    (store.entry_dir("vectors", empty) / "digests.npy").write_bytes(b"")
    np.save(store.entry_dir("vectors", wrong_dtype) / "digests.npy", np.arange(3))
    assert not vectors.locate(digests).found.any()
    assert vectors.chunk_keys() == []
