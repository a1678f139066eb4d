"""topics search: the real model on the real 300-abstract run, through the command and the library."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.cli import main
from topics import embed
from topics.run import read_manifest
from topics.search import RunSearch, SearchError, search, top_rows


@pytest.fixture
def encoded_texts(monkeypatch) -> list[list[str]]:
    """Every list of texts the torch encoder is asked to embed while the test runs."""
    calls: list[list[str]] = []
    real = embed.TorchEncoder.encode

    def recording(self, texts):
        calls.append(list(texts))
        return real(self, texts)

    monkeypatch.setattr(embed.TorchEncoder, "encode", recording)
    return calls


@pytest.fixture(scope="module")
def searcher(arxiv_run) -> RunSearch:
    """One searcher for the library tests, so the model is loaded once."""
    return RunSearch(arxiv_run)


def copy_run(run: Path, target: Path, **manifest_changes) -> Path:
    """The files search reads from ``run``, copied to ``target``, with manifest fields replaced."""
    (target / "model").mkdir(parents=True)
    for name in ("documents.parquet", "topics.parquet", "model/reference.json", "model/topic_embeddings.npy"):
        shutil.copyfile(run / name, target / name)
    manifest = read_manifest(run)
    manifest.update(manifest_changes)
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


def labels_of(run: Path) -> pd.Series:
    return pd.read_parquet(run / "documents.parquet", columns=["doc_id", "label"]).set_index("doc_id")["label"]


@pytest.mark.parametrize("query, archive", [
    ("star formation in distant galaxies", "astro-ph"),
    ("quantum entanglement of qubits", "quant-ph"),
    ("string theory", "hep-th"),
])
def test_a_query_finds_documents_and_the_topic_of_its_field(searcher, arxiv_run, query, archive):
    result = searcher.search(query, k_topics=3, n_docs=5)
    labels = labels_of(arxiv_run)
    assert [labels[d.doc_id] for d in result.documents] == [archive] * 5
    documents = pd.read_parquet(arxiv_run / "documents.parquet", columns=["topic", "label"])
    top_topic = result.topics[0].topic
    assert documents.loc[documents["topic"] == top_topic, "label"].value_counts().index[0] == archive
    scores = [d.score for d in result.documents]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1


def test_scores_are_cosines_of_the_query_and_the_documents_own_vectors(searcher, arxiv_run):
    """Row order of the stored matrix matches documents.parquet: re-embedding the best hit
    (here, in the test) gives the score search reported."""
    result = searcher.search("globular cluster blue stragglers", k_topics=1, n_docs=1)
    best = result.documents[0]
    text = pd.read_parquet(arxiv_run / "documents.parquet").set_index("doc_id").loc[best.doc_id, "text"]
    vectors = searcher.encoder().encode([result.query, text])
    assert float(vectors[0] @ vectors[1]) == pytest.approx(best.score, abs=1e-3)


def test_json_output_has_the_documented_shape_and_only_the_query_is_embedded(arxiv_run, capsys, encoded_texts):
    code = main(["search", str(arxiv_run), "  dark matter halos ", "--topics", "2", "--docs", "4", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert set(result) == {"topics", "documents"}
    assert len(result["topics"]) == 2 and len(result["documents"]) == 4
    assert all(set(t) == {"topic", "name", "size", "score"} for t in result["topics"])
    assert all(set(d) == {"doc_id", "topic", "score", "snippet"} for d in result["documents"])
    titles = pd.read_parquet(arxiv_run / "documents.parquet", columns=["doc_id", "title"]).set_index("doc_id")["title"]
    assert [d["snippet"] for d in result["documents"]] == [titles[d["doc_id"]] for d in result["documents"]]
    names = pd.read_parquet(arxiv_run / "topics.parquet").set_index("topic")["name"]
    assert [t["name"] for t in result["topics"]] == [names[t["topic"]] for t in result["topics"]]
    # 300 documents in the run; the encoder saw one text, the stripped query.
    assert encoded_texts == [["dark matter halos"]]


def test_text_output_lists_topics_then_documents(arxiv_run, capsys):
    assert main(["search", str(arxiv_run), "galaxies", "--topics", "1", "--docs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "topics nearest to 'galaxies':"
    assert len(lines) == 1 + 1 + 1 + 1 + 1 + 1 + 2  # title, header, 1 topic, blank, title, header, 2 documents
    assert lines[4] == "documents:"


def test_vectors_come_from_the_vector_store_when_the_embed_entry_is_pruned(arxiv_run, tmp_path, encoded_texts):
    cache = read_manifest(arxiv_run)["cache_dir"]
    shutil.copytree(Path(cache) / "vectors", tmp_path / "cache" / "vectors")  # every stage entry gone, vectors kept
    run = copy_run(arxiv_run, tmp_path / "run", cache_dir=str(tmp_path / "cache"))
    from_store = RunSearch(run).vectors_
    assert from_store.source == "vector store"
    from_entry = RunSearch(arxiv_run).vectors_
    assert from_entry.source == "embed entry"
    np.testing.assert_array_equal(from_store.doc_vectors, from_entry.doc_vectors)
    assert encoded_texts == []


def bad_run(kind: str, arxiv_run: Path, tmp_path: Path) -> Path:
    """A folder search must refuse, by ``kind``."""
    if kind == "missing":
        return tmp_path / "nowhere"
    if kind == "empty folder":
        return tmp_path
    if kind == "failed run":
        return copy_run(arxiv_run, tmp_path / "run", status="failed")
    if kind == "pruned":
        return copy_run(arxiv_run, tmp_path / "run", cache_dir=str(tmp_path / "emptied-cache"))
    if kind == "no cache":
        return copy_run(arxiv_run, tmp_path / "run", cache_dir=None)
    if kind == "model gone":
        manifest = read_manifest(arxiv_run)
        manifest["config"]["embed"]["model"] = str(tmp_path / "deleted-model")
        return copy_run(arxiv_run, tmp_path / "run", config=manifest["config"])
    if kind == "other model":
        run = copy_run(arxiv_run, tmp_path / "run")
        info = json.loads((run / "model/reference.json").read_text(encoding="utf-8"))
        info["embedding_model"] = "sentence-transformers/all-MiniLM-L6-v2@sha256:" + "0" * 32
        (run / "model/reference.json").write_text(json.dumps(info), encoding="utf-8")
        return run
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, query, extra, message", [
    ("run", "", [], "the query is empty"),
    ("run", " \n\t ", [], "the query is empty"),
    ("run", "galaxies", ["--docs", "-1"], "--docs must be 0 or more, got -1"),
    ("run", "galaxies", ["--topics", "-2"], "--topics must be 0 or more, got -2"),
    ("missing", "galaxies", [], "no such run directory"),
    ("empty folder", "galaxies", [], "no manifest.json (not a run directory"),
    ("failed run", "galaxies", [], "not a completed run (its manifest.json says status 'failed')"),
    ("pruned", "galaxies", [], "document vectors are no longer in the cache"),
    ("no cache", "galaxies", [], "the run kept no document vectors"),
    ("model gone", "galaxies", [], "cannot load the run's embedding model"),
    ("other model", "galaxies", [], "but the run was embedded with sentence-transformers/all-MiniLM-L6-v2@sha256:0000"),
])
def test_bad_input_exits_2_with_one_line(arxiv_run, tmp_path, capsys, encoded_texts, kind, query, extra, message):
    run = arxiv_run if kind == "run" else bad_run(kind, arxiv_run, tmp_path)
    assert main(["search", str(run), query, *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith("topics: error: ")
    assert message in captured.err
    assert encoded_texts == []


def test_the_library_refuses_an_empty_query_before_reading_the_run(tmp_path):
    with pytest.raises(SearchError, match="the query is empty"):
        search(tmp_path / "not-even-there", "   ")


def test_the_library_refuses_a_negative_count(searcher):
    with pytest.raises(SearchError, match="n_docs must be 0 or more, got -1"):
        searcher.search("galaxies", n_docs=-1)


@pytest.mark.parametrize("scores, k, expected", [
    ([0.1, 0.9, 0.5, 0.9], 2, [1, 3]),  # ties keep index order
    ([0.1, 0.9, 0.5], 5, [1, 2, 0]),  # k above n: all, best first
    ([0.3, 0.2], 0, []),
    ([], 3, []),
])
def test_top_rows(scores, k, expected):
    assert top_rows(np.array(scores, dtype=np.float32), k).tolist() == expected
