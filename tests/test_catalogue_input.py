"""Catalogue of bad input and bad settings, as users send them: each case is a small input
built here with its expected outcome, a one-line refusal (exit 2, before Prefect starts) or
a documented graceful result. The refusals call the CLI; none of them starts Prefect or loads
the embedding model, so each costs well under a second once BERTopic is imported."""

from __future__ import annotations

import argparse
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from conftest import corpus_file
from flows.cli import check_run, main
from topics.config import CorpusConfig
from topics.corpus import load_corpus

STOP_WORDS_ONLY = ["it is what it is", "and then there were none of them", "we could have been there", "this is not that"]
EMOJI_ONLY = ["😀😀 !!", "🎉🎉🎉 ...", "👍 👍 ??", "❤️ 🔥 #", "😂 (2024) 🙏"]
ARABIC = ["هذا نص قصير عن الطقس اليوم", "الكتاب الجديد في المكتبة", "ذهب الطالب إلى المدرسة صباحا"]


def _texts(n: int, pool: list[str]) -> list[str]:
    return [f"{pool[i % len(pool)]}" for i in range(n)]


@functools.cache
def _arxiv_texts() -> tuple[str, ...]:
    return tuple(pd.read_parquet(corpus_file("arxiv_kaggle_metadata_first2000.parquet"), columns=["text"])["text"].head(100))


def _abstracts(n: int = 40) -> list[str]:
    return list(_arxiv_texts()[:n])


def _non_latin_sentences() -> list[str]:
    """Real Korean and Chinese sentences (Debian's translated descriptions) with every Latin-
    script token taken out, plus short Arabic sentences: 180 in all."""
    table = pd.read_parquet(corpus_file("debian_bookworm_descriptions_i18n.parquet"))
    sentences = []
    for lang in ("ko", "zh"):
        texts = table.loc[table["lang"] == lang, "text"].head(200)
        cleaned = [" ".join(re.sub(r"[A-Za-z0-9]+", " ", text.split("\n", 1)[-1]).split()) for text in texts]
        sentences += [text for text in cleaned if len(text) > 10][:75]
    return sentences + _texts(30, ARABIC)


@dataclass(frozen=True)
class Case:
    """``build(folder)`` writes the input and returns the CLI arguments after ``run``;
    ``expect`` is a fragment of the one-line error."""

    name: str
    build: Callable[[Path], list[str]]
    expect: str


def _parquet(folder: Path, frame: pd.DataFrame, name: str = "in.parquet") -> list[str]:
    path = folder / name
    frame.to_parquet(path)
    return ["--input", str(path)]


def _text_file(folder: Path, name: str, content: str | bytes) -> list[str]:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return ["--input", str(path)]


def _csv(folder: Path, texts: list[str], name: str = "in.csv", **columns) -> list[str]:
    path = folder / name
    pd.DataFrame({"text": texts, **columns}).to_csv(path, index=False)
    return ["--input", str(path)]


def _jsonl(folder: Path, records: list[dict]) -> list[str]:
    return _text_file(folder, "in.jsonl", "".join(json.dumps(r) + "\n" for r in records))


def _yaml(folder: Path, text: str) -> list[str]:
    (folder / "settings.yaml").write_text(text)
    return ["--config", str(folder / "settings.yaml")]


def _abstracts_csv(folder: Path, *extra: str) -> list[str]:
    return [*_csv(folder, _abstracts()), *extra]


REFUSED = [
    Case("id column not unique", lambda d: _csv(d, _abstracts(), id=["a", "b"] * 20, ) + ["--set", "corpus.id_column=id"],
         "corpus.id_column 'id' is not a unique id: 2 id(s) are given to different texts (e.g. 'a' on rows 0 and 2)"),
    Case("only stop words", lambda d: _csv(d, _texts(60, STOP_WORDS_ONLY)), "every word of its 60 documents is a stop word"),
    Case("only emoji and punctuation", lambda d: _csv(d, _texts(50, EMOJI_ONLY)),
         "in.csv: the corpus yields no topic term: its 50 documents hold no word matching represent.token_pattern (only numbers, symbols, emoji, punctuation, markup or identifiers)"),
    Case("token pattern that matches no word", lambda d: _abstracts_csv(d, "--set", r"represent.token_pattern=\d{40}"),
         r'represent.token_pattern "\d{40}" matches no term in the 40 documents, though the default pattern finds words there'),
    Case("--out in a read-only place", lambda d: _abstracts_csv(d, "--out", "/proc/topics-run"), "--out /proc/topics-run: cannot write in /proc"),
    Case("--out below a file", lambda d: [*_abstracts_csv(d), "--out", str(d / "in.csv" / "run")], "is a file, not a folder"),
    Case("--out not empty", lambda d: [*_abstracts_csv(d), "--out", str(d)], "exists and is not an empty directory"),
    Case("--out a file", lambda d: [*_abstracts_csv(d), "--out", str(d / "in.csv")], "in.csv: is a file; --out names the run's folder"),
    Case("output.root read-only", lambda d: _abstracts_csv(d, "--set", "output.root=/proc/topics-runs"), "output.root /proc/topics-runs: cannot write"),
    Case("cache.dir read-only", lambda d: _abstracts_csv(d, "--set", "cache.dir=/proc/topics-cache"), "cache.dir /proc/topics-cache: cannot write"),
    Case("MMR asks more words than KeyBERT hands on", lambda d: _abstracts_csv(d, "--set", "represent.chain=[keybert,mmr]", "--set", "represent.keybert.top_n_words=5"),
         "represent.mmr.top_n_words (10) asks for more words than represent.keybert.top_n_words (5) hands on"),
    Case("KeyBERT asks more words than its candidates", lambda d: _abstracts_csv(
        d, "--set", "represent.chain=[keybert]", "--set", "represent.keybert.top_n_words=20", "--set", "represent.keybert.nr_candidate_words=10"),
        "represent.keybert.top_n_words (20) asks for more words than represent.keybert.nr_candidate_words (10)"),
    Case("MMR alone asks more than c-TF-IDF hands on", lambda d: _abstracts_csv(
        d, "--set", "represent.chain=[mmr]", "--set", "represent.mmr.top_n_words=40"),
        "represent.mmr.top_n_words (40) asks for more words than c-TF-IDF (max(represent.top_n_terms, 30)) (30)"),
    Case("Parquet text of nullable integers", lambda d: _parquet(d, pd.DataFrame({"text": pd.array([1, None, 3] * 5, dtype="Int64")})),
         "corpus.text_column 'text' must hold text, but 10 value(s) are not strings: row 0 is an integer (1)"),
    Case("Parquet text of lists", lambda d: _parquet(d, pd.DataFrame({"text": [[1, 2], [3]] * 5})),
         "row 0 is a list ([1, 2]), row 1 is a list ([3])"),
    Case("Parquet text of floats", lambda d: _parquet(d, pd.DataFrame({"text": [1.5, 2.0, 3.25] * 4})),
         "set corpus.numbers_as_text=true to read numbers as text"),
    Case("Parquet text of booleans", lambda d: _parquet(d, pd.DataFrame({"text": [True, False] * 4})), "row 0 is a boolean (True)"),
    Case("JSONL text of integers, objects and booleans", lambda d: _jsonl(
        d, [{"text": "a real sentence about rivers"}, {"text": 1055}, {"text": {"a": 1}}, {"text": True}]),
        "3 value(s) are not strings: row 1 is an integer (1055), row 2 is an object ({'a': 1}), row 3 is a boolean (True)"),
    Case("bad JSONL line", lambda d: _text_file(d, "late.jsonl", '{"text": "fine words here"}\n' * 7 + '{"text": broken\n'),
         "late.jsonl, line 8: not valid JSON (Expecting value; column 10)"),
    Case("JSONL line that is not an object", lambda d: _text_file(d, "list.jsonl", '{"text": "fine words"}\n[1, 2]\n'),
         "list.jsonl, line 2: expected a JSON object per line, got list"),
    Case("non-UTF-8 byte in a CSV", lambda d: _text_file(d, "legacy.csv", "text\nplain words\nmore words\ncaf\xe9 au lait\n".encode("cp1252")),
         "legacy.csv, line 4: byte 0xe9 is not valid utf-8; set corpus.encoding"),
    Case("unknown encoding", lambda d: _abstracts_csv(d, "--set", "corpus.encoding=klingon-8"), "corpus.encoding 'klingon-8': unknown encoding"),
    Case("CSV with a broken row", lambda d: _text_file(d, "rows.csv", "text,id\na b c,1\nd e f,2,extra\n"), "Expected 2 fields in line 3, saw 3"),
    Case("YAML tag in --set", lambda d: _abstracts_csv(d, "--set", "embed.model=!!python/object/apply:os.system [ls]"),
         "YAML tag !!python/object/apply:os.system is not allowed"),
    Case("YAML tag in a config file", lambda d: [*_abstracts_csv(d), *_yaml(d, "embed:\n  model: !!python/name:os.system\n")],
         "settings.yaml, line 2, column 10: YAML tag !!python/name:os.system is not allowed"),
    Case("YAML syntax error", lambda d: [*_abstracts_csv(d), *_yaml(d, "embed:\n  model: [unclosed\ncluster:\n  x: 1\n")],
         "settings.yaml, line 3, column 8: expected ',' or ']', but got ':'"),
    Case("unknown setting", lambda d: _abstracts_csv(d, "--set", "cluster.min_clustr_size=5"), "cluster.min_clustr_size: unknown key"),
    Case("missing input file", lambda d: ["--input", str(d / "nope.csv")], "input file not found"),
    Case("missing text column", lambda d: _abstracts_csv(d, "--set", "corpus.text_column=body"), "corpus.text_column 'body' is not a column"),
    Case("header only", lambda d: _text_file(d, "empty.csv", "text\n"), "empty.csv: the file has no data rows"),
    Case("a folder as --input", lambda d: ["--input", str(d)], ": is a folder; give one corpus file"),
    Case("every text empty or NaN", lambda d: _parquet(d, pd.DataFrame({"text": ["", "   ", None, "\n"]})),
         "no usable document (4 rows dropped: empty_text=3, missing_text=1)"),
    Case("two documents", lambda d: _csv(d, ["first document about rivers", "second document about lakes"]), "2 usable document(s); the pipeline needs at least 3"),
    Case("embedding model path missing", lambda d: _abstracts_csv(d, "--set", "embed.model=/nonexistent/model"),
         "embed.model '/nonexistent/model': no such file or folder"),
    # Offline (here), the hub name is refused in seconds; with a hub, the hub says it has no
    # such model. Both end with the cure.
    Case("embedding model hub name that cannot be loaded", lambda d: _abstracts_csv(d, "--set", "embed.model=no-such-org/no-such-model"),
         "give embed.model a local folder holding a sentence-transformers model"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_before_prefect_starts(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default output and cache folders land in the test's folder
    # The case's own --set comes later, so it wins over this cache.dir.
    code = main(["run", "--set", f"cache.dir={tmp_path / 'cache'}", *case.build(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("topics: error: ") and case.expect in err, err
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "cache").exists()  # nothing started


def _args(tmp_path: Path, input_args: list[str], *sets: str) -> argparse.Namespace:
    overrides = [f"cache.dir={tmp_path / 'cache'}", f"output.root={tmp_path / 'out'}", *sets]
    return argparse.Namespace(config=None, overrides=overrides, input=input_args[1], out=None, no_cache=False, reference=None)


def test_settings_applied_otherwise_are_reported(tmp_path):
    """Checked, not refused: the CLI's checks return what will be applied otherwise, and why."""
    args = _args(tmp_path, _csv(tmp_path, _abstracts(40)), "reduce.n_neighbors=50", "represent.top_n_terms=20")
    _, adjustments, corpus = check_run(args)
    assert len(corpus) == 40
    assert [(a.key, a.given, a.used) for a in adjustments] == [
        ("reduce.n_neighbors", 50, 39), ("represent.top_n_terms", 20, 10),
    ]
    assert "represent.mmr.top_n_words" in adjustments[1].reason


def test_neighbours_above_the_fitted_sample_are_reported(tmp_path):
    """With UMAP fitted on a sample, its neighbours are clamped to the sample, and said so."""
    args = _args(tmp_path, _csv(tmp_path, _abstracts(40)), "project.fit_sample=20", "project.n_neighbors=30")
    _, adjustments, _ = check_run(args)
    assert [(a.key, a.given, a.used) for a in adjustments] == [("project.n_neighbors", 30, 19)]
    assert "project.fit_sample" in adjustments[0].reason


def test_korean_chinese_and_arabic_only_pass_the_checks(tmp_path):
    """Terms are read in every script: a corpus with no Latin letter is accepted (it was
    refused while BERTopic's English cleaning deleted such letters)."""
    args = _args(tmp_path, _csv(tmp_path, _non_latin_sentences()))
    _, adjustments, corpus = check_run(args)
    assert len(corpus) == 180 and adjustments == []


def _load(folder: Path, args: list[str], **config) -> pd.DataFrame:
    return load_corpus(args[1], CorpusConfig(**config))


GRACEFUL = [
    ("numbers as text on request", lambda d: _load(d, _jsonl(d, [{"text": 1055}, {"text": 2.5}, {"text": "words"}]), numbers_as_text=True),
     lambda c: c.texts == ["1055", "2.5", "words"]),
    ("cp1252 read with corpus.encoding", lambda d: _load(
        d, _text_file(d, "legacy.csv", "text\ncafé crème\nthe naïve señor\n".encode("cp1252")), encoding="cp1252"),
     lambda c: c.texts == ["café crème", "the naïve señor"]),
    ("quoted newlines stay in the text", lambda d: _load(d, _text_file(d, "q.csv", 'text\n"line one\nline two, with comma"\nplain\n')),
     lambda c: c.texts == ["line one\nline two, with comma", "plain"]),
    ("a 5 MB document is kept whole", lambda d: _load(d, _csv(d, ["word " * 1_000_000, "short text"])),
     lambda c: len(c.texts[0]) == 5_000_000 and c.texts[1] == "short text"),
    ("exact duplicate rows are dropped and counted", lambda d: _load(
        d, _csv(d, ["same words", "same words", "other words"], id=["1", "1", "2"]), id_column="id"),
     lambda c: c.ids == ["1", "2"] and c.dropped["reason"].tolist() == ["duplicate_id"]),
    ("NaN and blank texts are dropped", lambda d: _load(d, _csv(d, ["kept words", None, "  ", "more words"])),
     lambda c: c.ids == ["0", "3"] and c.dropped["reason"].tolist() == ["missing_text", "empty_text"]),
    ("missing ids are dropped", lambda d: _load(d, _csv(d, ["a words", "b words", "c words"], id=["x", None, "z"]), id_column="id"),
     lambda c: c.ids == ["x", "z"] and c.dropped["reason"].tolist() == ["missing_id"]),
    ("a path with spaces and non-ASCII characters", lambda d: _load(d, _csv(d, ["rivers and lakes", "mountains"], name="données été 2024.csv")),
     lambda c: c.source.endswith("données été 2024.csv") and len(c) == 2),
    ("200 identical documents are kept", lambda d: _load(d, _csv(d, ["the same abstract about galaxies"] * 200)),
     lambda c: len(c) == 200 and c.documents["doc_id"].is_unique),
]


@pytest.mark.parametrize("name,build,check", GRACEFUL, ids=[g[0] for g in GRACEFUL])
def test_graceful(name, build, check, tmp_path):
    assert check(build(tmp_path))


def test_identical_documents_become_outliers_not_an_error():
    """200 copies of one text: one vector, UMAP on coincident points, HDBSCAN finds no
    cluster: every document is an outlier (a documented result, as for tiny corpora)."""
    from topics import cluster, reduce
    from topics.config import ClusterConfig

    vector = np.random.default_rng(0).normal(size=(1, 384)).astype(np.float32)
    embeddings = np.repeat(vector / np.linalg.norm(vector), 200, axis=0)
    reduced = reduce.reduce(embeddings)
    labels, _ = cluster.cluster(reduced, ClusterConfig())
    assert np.isfinite(reduced).all() and (labels == -1).all()
