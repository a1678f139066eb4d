"""The embed stage on real abstracts: per-document reuse across corpora, identical texts
encoded once, and a run killed (SIGKILL) after its second chunk resumes from its chunks."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import sigkill_when_paused
from topics import stages
from topics.artifacts import ArtifactStore
from topics.config import CorpusConfig, EmbedConfig

CORPUS = CorpusConfig(id_column="arxiv_id")
CHUNKED = EmbedConfig(chunk_size=30, show_progress=False)


def _embed(store: ArtifactStore, table: pd.DataFrame, folder: Path, name: str, config: EmbedConfig = CHUNKED):
    path = folder / f"{name}.parquet"
    table.to_parquet(path)
    corpus = stages.load(store, path, CORPUS)
    result = stages.embed(store, corpus.key, config)
    return result.as_dict(), np.asarray(store.get("embed", result.key).array("embeddings.npy"))


@pytest.fixture(scope="module")
def base_120(arxiv_table, tmp_path_factory):
    """120 abstracts embedded once, uninterrupted, in chunks of 30; (table, cache, matrix)."""
    folder = tmp_path_factory.mktemp("embed120")
    table = arxiv_table.iloc[::6].head(120).reset_index(drop=True)
    record, matrix = _embed(ArtifactStore(folder / "cache"), table, folder, "base")
    assert (record["reused"], record["encoded"]) == (0, 120)
    return table, folder, matrix


def test_grown_corpus_encodes_only_new_and_changed_texts(base_120, arxiv_300_embedded, arxiv_table, tmp_path):
    table, folder, first = base_120
    store = ArtifactStore(folder / "cache")
    grown = pd.concat([table, arxiv_table.iloc[::6].iloc[120:140]], ignore_index=True)
    changed = [3, 50, 99]  # same ids, new texts
    grown.loc[changed, "text"] = grown.loc[changed, "text"] + " We also release our code."
    grown = grown.sample(frac=1.0, random_state=0).reset_index(drop=True)  # another row order too

    record, matrix = _embed(store, grown, tmp_path, "grown")
    assert (record["encoded"], record["reused"]) == (20 + len(changed), 120 - len(changed))

    # Row for row in corpus order, equal to a from-scratch encoding of the grown corpus.
    texts, ids, scratch = arxiv_300_embedded
    by_id = dict(zip(ids, range(len(ids))))
    unchanged = ~grown["text"].str.endswith("We also release our code.")
    expected = scratch[[by_id[i] for i in grown.loc[unchanged, "arxiv_id"]]]
    # Bit for bit: a document's vector does not depend on its batch-mates (no padding).
    np.testing.assert_array_equal(matrix[unchanged.to_numpy()], expected)
    from topics import embed

    fresh = embed.encode(grown.loc[~unchanged, "text"].tolist(), show_progress=False)
    np.testing.assert_array_equal(matrix[~unchanged.to_numpy()], fresh)
    np.testing.assert_array_equal(first, scratch[: len(first)])


def test_identical_texts_are_encoded_once(base_120, arxiv_table, tmp_path):
    table, _, _ = base_120
    rows = arxiv_table.iloc[1::7].head(6).reset_index(drop=True)
    doubled = pd.concat([rows, rows.assign(arxiv_id=rows["arxiv_id"] + "-copy")], ignore_index=True)
    record, matrix = _embed(ArtifactStore(tmp_path / "cache"), doubled, tmp_path, "doubled")
    assert (record["encoded"], record["reused"]) == (6, 0)
    np.testing.assert_array_equal(matrix[:6], matrix[6:])


def test_stored_texts_count_once_per_document(base_120, arxiv_table, tmp_path):
    table, folder, _ = base_120
    stored = table.head(3)
    new = arxiv_table.iloc[::6].iloc[200:202]
    mixed = pd.concat([stored, stored.assign(arxiv_id=stored["arxiv_id"] + "-copy"), new,
                       new.assign(arxiv_id=new["arxiv_id"] + "-copy")], ignore_index=True)
    record, matrix = _embed(ArtifactStore(folder / "cache"), mixed, tmp_path, "mixed")
    assert (record["reused"], record["encoded"]) == (6, 2)
    np.testing.assert_array_equal(matrix[:3], matrix[3:6])


_KILLED_RUN = """
import sys
from topics import stages
from topics.artifacts import ArtifactStore
from topics.config import CorpusConfig, EmbedConfig
store = ArtifactStore(sys.argv[1])
corpus = stages.load(store, sys.argv[2], CorpusConfig(id_column="arxiv_id"))
stages.embed(store, corpus.key, EmbedConfig(chunk_size=30, show_progress=False))
"""


def test_sigkill_after_second_chunk_then_resume(base_120, tmp_path):
    table, folder, uninterrupted = base_120
    path = folder / "base.parquet"
    cache, signal_file = tmp_path / "cache", tmp_path / "paused"
    env = {**os.environ, stages.PAUSE_AFTER_CHUNK_ENV: "2", stages.PAUSE_SIGNAL_ENV: str(signal_file)}
    process = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(cache), str(path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    sigkill_when_paused(process, signal_file, "its second chunk")

    store = ArtifactStore(cache)
    assert len(list((cache / "vectors").glob("*/_entry.json"))) == 2
    assert not [r for r in store.entries() if r["stage"] == "embed"]
    corpus = stages.load(store, path, CORPUS)
    result = stages.embed(store, corpus.key, CHUNKED)
    assert (result.as_dict()["reused"], result.as_dict()["encoded"]) == (60, 60)
    resumed = np.asarray(store.get("embed", result.key).array("embeddings.npy"))
    np.testing.assert_array_equal(resumed, uninterrupted)
    for row in store.entries():
        store.get(row["stage"], row["key"])  # every committed entry intact
