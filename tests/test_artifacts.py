import multiprocessing
import os

import numpy as np
import pandas as pd
import pytest

from topics import artifacts
from topics.artifacts import ArtifactStore, CorruptArtifact, stable_key


def _fill(writer):
    writer.array("a.npy", np.arange(1000, dtype=np.float32))
    writer.table("t.parquet", pd.DataFrame({"x": [1, 2]}))
    return {"n": 1000}


def test_put_then_get_round_trip(tmp_path):
    store = ArtifactStore(tmp_path)
    assert not store.has("embed", "k1")
    store.put("embed", "k1", _fill)
    entry = store.get("embed", "k1")
    assert entry.meta == {"n": 1000}
    assert isinstance(entry.array("a.npy"), np.memmap)
    np.testing.assert_array_equal(entry.array("a.npy"), np.arange(1000, dtype=np.float32))
    assert entry.table("t.parquet")["x"].tolist() == [1, 2]
    assert [row["key"] for row in store.entries()] == ["k1"]


def test_truncated_or_altered_file_is_detected(tmp_path):
    store = ArtifactStore(tmp_path)
    store.put("embed", "k1", _fill)
    path = store.entry_dir("embed", "k1") / "a.npy"
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(CorruptArtifact, match="bytes"):
        store.get("embed", "k1")
    path.write_bytes(data[:-4] + b"\0\0\0\1")
    with pytest.raises(CorruptArtifact, match="checksum"):
        store.get("embed", "k1")
    store.discard("embed", "k1")
    assert not store.has("embed", "k1")


def test_failed_fill_leaves_no_entry(tmp_path):
    store = ArtifactStore(tmp_path)

    def broken(writer):
        writer.array("a.npy", np.zeros(3))
        raise RuntimeError("stage crashed")

    with pytest.raises(RuntimeError):
        store.put("embed", "k1", broken)
    assert not store.has("embed", "k1") and store.entries() == []
    assert list((tmp_path / "embed" / ".tmp").iterdir()) == []


def _race(root):
    ArtifactStore(root).put("embed", "same", _fill)


def test_concurrent_writers_of_one_key(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_race, args=(str(tmp_path),)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert all(w.exitcode == 0 for w in workers)
    store = ArtifactStore(tmp_path)
    np.testing.assert_array_equal(store.get("embed", "same").array("a.npy"), np.arange(1000, dtype=np.float32))
    assert len(store.entries()) == 1


def test_replace_swaps_an_entry(tmp_path):
    store = ArtifactStore(tmp_path)
    store.put("cluster", "k", lambda w: {"v": 1})
    store.put("cluster", "k", lambda w: {"v": 2})
    assert store.get("cluster", "k").meta == {"v": 1}  # without replace the first entry stays
    store.put("cluster", "k", lambda w: {"v": 2}, replace=True)
    assert store.get("cluster", "k").meta == {"v": 2}


def test_atomic_single_file_writes(tmp_path):
    target = tmp_path / "sub" / "out.json"
    artifacts.write_json(target, {"a": 1})
    assert target.read_text().strip().startswith("{")
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # readable like any user file
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_stable_key_is_order_independent():
    assert stable_key({"a": 1, "b": 2}) == stable_key({"b": 2, "a": 1})
    assert stable_key({"a": 1}) != stable_key({"a": 2})
