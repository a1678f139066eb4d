import json

import pandas as pd
import pytest

from conftest import corpus_file
from topics.config import CorpusConfig
from topics.corpus import (
    CorpusError,
    corpus_fingerprint,
    default_corpus_path,
    load_corpus,
    resolve_input,
)


def test_parquet_with_ids_time_label(arxiv_300):
    corpus = load_corpus(arxiv_300, CorpusConfig(id_column="arxiv_id", time_column="created", label_column="label"))
    assert len(corpus) == 300
    assert corpus.documents["doc_id"].is_unique
    assert list(corpus.documents.columns) == ["doc_id", "text", "time", "label"]
    assert pd.api.types.is_datetime64_any_dtype(corpus.documents["time"])
    assert corpus.dropped.empty


def test_tweets_empty_text_is_dropped_and_logged():
    corpus = load_corpus(corpus_file("health_news_tweets.parquet"), CorpusConfig(id_column="tweet_id", time_column="timestamp"))
    table = pd.read_parquet(corpus_file("health_news_tweets.parquet"))
    assert len(corpus) + len(corpus.dropped) == len(table)
    assert set(corpus.dropped["reason"]) <= {"empty_text", "missing_text", "duplicate_id"}
    assert (corpus.dropped["reason"] == "empty_text").sum() >= 1
    assert corpus.documents["time"].dt.tz is not None  # UTC timestamps keep their zone


def test_repeated_ids_keep_first(tmp_path):
    source = corpus_file("arxiv_ml_topics_doosik71.parquet")
    table = pd.read_parquet(source)
    # The real file gives two ids to two versions of an abstract each: no id, so refused.
    with pytest.raises(CorpusError, match=r"corpus.id_column 'arxiv_id' is not a unique id: 2 id\(s\) are given to different texts"):
        load_corpus(source, CorpusConfig(id_column="arxiv_id", time_column="year"))
    versions = table.groupby("arxiv_id")["text"].transform("nunique")
    same_text = table[versions == 1].reset_index(drop=True)
    path = tmp_path / "repeated_rows.parquet"
    same_text.to_parquet(path)
    corpus = load_corpus(path, CorpusConfig(id_column="arxiv_id", time_column="year"))
    assert corpus.documents["doc_id"].is_unique
    repeats = same_text["arxiv_id"].duplicated().sum()
    assert repeats > 100
    assert (corpus.dropped["reason"] == "duplicate_id").sum() == repeats
    assert pd.api.types.is_integer_dtype(corpus.documents["time"])  # integer years stay years


def test_generated_ids_and_drop_log_from_csv(tmp_path):
    path = tmp_path / "docs.csv"
    pd.DataFrame({"text": ["first real text", "   ", None, "another text"], "who": ["a", "b", "c", "d"]}).to_csv(path, index=False)
    corpus = load_corpus(path)
    assert corpus.ids == ["0", "3"]
    assert corpus.dropped[["row", "reason"]].values.tolist() == [[1, "empty_text"], [2, "missing_text"]]


def test_jsonl_and_missing_ids(tmp_path):
    path = tmp_path / "docs.jsonl"
    rows = [{"id": 7, "body": "text seven"}, {"id": None, "body": "no id"}, {"id": 9, "body": "text nine"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    corpus = load_corpus(path, CorpusConfig(text_column="body", id_column="id"))
    assert corpus.ids == ["7", "9"]
    assert corpus.dropped["reason"].tolist() == ["missing_id"]


def test_texts_are_not_modified(tmp_path):
    path = tmp_path / "docs.csv"
    text = "  Leading spaces, <b>markup</b> & trailing\n"
    pd.DataFrame({"text": [text]}).to_csv(path, index=False)
    assert load_corpus(path).texts == [text]


def test_errors_name_file_and_column(tmp_path, arxiv_300):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope.parquet")
    with pytest.raises(CorpusError, match=r"corpus.text_column 'body' is not a column"):
        load_corpus(arxiv_300, CorpusConfig(text_column="body"))
    with pytest.raises(CorpusError, match=r"corpus.label_column 'klass'"):
        load_corpus(arxiv_300, CorpusConfig(label_column="klass"))
    odd = tmp_path / "docs.xlsx"
    odd.write_text("x")
    with pytest.raises(CorpusError, match="corpus.format"):
        load_corpus(odd)
    empty = tmp_path / "empty.csv"
    pd.DataFrame({"text": ["", " "]}).to_csv(empty, index=False)
    with pytest.raises(CorpusError, match="no usable document"):
        load_corpus(empty)


def test_fingerprint_tracks_ids_and_texts():
    base = corpus_fingerprint(["a", "b"], ["x", "y"])
    assert base == corpus_fingerprint(["a", "b"], ["x", "y"])
    assert base != corpus_fingerprint(["a", "b"], ["x", "z"])
    assert base != corpus_fingerprint(["a", "c"], ["x", "y"])
    assert corpus_fingerprint(["ab"], ["c"]) != corpus_fingerprint(["a"], ["bc"])


def test_embedded_default_corpus_is_permissive_and_complete():
    path, config = resolve_input(None, CorpusConfig())
    assert path == default_corpus_path() and path.is_file()
    assert config.id_column == "arxiv_id"
    corpus = load_corpus(path, config)
    assert len(corpus) > 1900 and corpus.dropped.empty
    # An explicit user setting wins over the embedded corpus's columns.
    _, mine = resolve_input(None, CorpusConfig(label_column=None))
    assert mine.label_column is None


def _canonical_arxiv_id(raw: str) -> str:
    # The source stored ids as numbers ("704.16"); arXiv writes them YYMM.NNNN ("0704.1600").
    month, number = raw.split(".")
    return f"{int(month):04d}.{number.ljust(4, '0')}"


def test_embedded_corpus_has_no_restricted_licence(arxiv_table):
    shipped = set(pd.read_parquet(default_corpus_path())["arxiv_id"])
    assert all(len(i) == 9 and i.startswith("0704.") for i in shipped)
    source = arxiv_table.assign(arxiv_id=arxiv_table["arxiv_id"].map(_canonical_arxiv_id)).set_index("arxiv_id")
    licences = source.loc[list(shipped), "license"].fillna("")
    assert not licences.str.contains("-nc|-nd", regex=True).any()


def test_rows_are_named_by_position_whatever_the_files_index(tmp_path):
    """A Parquet file saved with a pandas index (e.g. a slice of a bigger table) still has its
    rows named 0, 1, 2 ... in errors, as in dropped.parquet."""
    import pandas as pd
    import pytest

    from topics.config import CorpusConfig
    from topics.corpus import CorpusError, load_corpus

    path = tmp_path / "slice.parquet"
    pd.DataFrame({"text": [5, 6, 7]}, index=[1000, 1001, 1002]).to_parquet(path)
    with pytest.raises(CorpusError, match=r"row 0 is an integer"):
        load_corpus(path)
    pd.DataFrame({"id": ["x", "y", "x"], "text": ["a b c", "d e f", "g h i"]}, index=[1000, 1001, 1002]).to_parquet(path)
    with pytest.raises(CorpusError, match=r"on rows 0 and 2"):
        load_corpus(path, CorpusConfig(id_column="id"))
