"""Topic terms in every language, on real Debian package descriptions (fr, de, ja, ko, zh).

The topics are the corpus's Debian sections (``label``), given as the clusters: these tests
are about terms, which c-TF-IDF reads from the texts alone, so the document embeddings are
random (they shape only the topic embeddings, unused here) and no model is loaded, except
in the one test of the KeyBERT/MMR chain.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import regex

from conftest import corpus_file
from topics import stages
from topics.artifacts import ArtifactStore
from topics.config import CorpusConfig, RepresentConfig
from topics.represent import represent
from topics.represent.tokenize import is_identifier, normalize_text

PLAIN = RepresentConfig(chain=[])
SCRIPT = {
    "ko": r"\p{Hangul}", "zh": r"\p{Han}", "ja": r"[\p{Han}\p{Hiragana}\p{Katakana}]", "fr": r"[^\x00-\x7f]", "de": r"[^\x00-\x7f]",
}
LANGUAGE = {"ko": "korean", "zh": "chinese", "ja": "japanese", "fr": "french", "de": "german"}
MD5 = regex.compile(r"[0-9a-f]{32}")


@functools.cache
def i18n() -> pd.DataFrame:
    return pd.read_parquet(corpus_file("debian_bookworm_descriptions_i18n.parquet"))


def _slice(lang: str, n: int, sections: int = 4) -> pd.DataFrame:
    """The first ``n`` documents of ``lang`` in its ``sections`` largest Debian sections."""
    table = i18n()
    table = table[table["lang"] == lang]
    top = table["label"].value_counts().index[:sections]
    return table[table["label"].isin(top)].head(n).reset_index(drop=True)


def _represent(table: pd.DataFrame, clusters: pd.Series, config: RepresentConfig = PLAIN, model=None):
    labels = pd.factorize(clusters)[0].astype(np.int64)
    embeddings = np.random.default_rng(0).normal(size=(len(table), 16)).astype(np.float32)
    return represent(table["text"].tolist(), table["id"].astype(str).tolist(), embeddings, labels, config, model)


CJK = regex.compile(r"[\p{Hangul}\p{Han}\p{Hiragana}\p{Katakana}]")


def _occurs(term: str, text: str) -> bool:
    """``term`` in the normalised ``text``: as a substring in Korean (particles follow nouns),
    Chinese and Japanese (no spaces); else as a whole word, between characters that are not
    letters or digits once Hangul, Han and kana are set aside ("com_err" holds "err")."""
    if CJK.search(term):
        return term in text
    return regex.search(rf"(?<![^\W_]){regex.escape(term)}(?![^\W_])", CJK.sub(" ", text)) is not None


def _check_terms(topics: pd.DataFrame, doc_topics: np.ndarray, table: pd.DataFrame, lang: str) -> None:
    texts = [normalize_text(text) for text in table["text"]]
    script = regex.compile(SCRIPT[lang])
    in_script = total = 0
    for row in topics.itertuples():
        members = np.flatnonzero(doc_topics == row.topic)
        assert len(row.terms) == 10, row.terms
        for term in row.terms:
            assert any(_occurs(term, texts[i]) for i in members), (row.topic, term)
            assert not term.isdigit() and not MD5.search(term) and not is_identifier(term), term
        if lang in ("ko", "zh", "ja"):
            assert any(script.search(term) for term in row.terms), row.terms
        in_script += sum(bool(script.search(term)) for term in row.terms)
        total += len(row.terms)
    if lang in ("ko", "zh", "ja"):
        assert in_script >= 0.7 * total, topics["terms"].tolist()
    else:
        assert in_script >= 1, topics["terms"].tolist()  # accented words survive


@pytest.mark.parametrize("lang", ["ko", "zh", "ja", "fr", "de"])
def test_terms_are_words_of_their_topics_documents(lang):
    table = _slice(lang, 200)
    result = _represent(table, table["label"])
    assert result.language.language == LANGUAGE[lang] and result.language.source == "detected"
    _check_terms(result.topics, result.doc_topics, table, lang)


def test_mixed_corpus_terms_follow_each_documents_script():
    table = pd.concat([_slice(lang, 40) for lang in ("ko", "zh", "ja", "fr", "de")], ignore_index=True)
    result = _represent(table, table["lang"])
    assert result.language.language == "multilingual"
    assert set(result.language.present) == set(LANGUAGE.values())
    for lang in ("ko", "zh", "ja", "fr", "de"):
        topic = result.doc_topics[table.index[table["lang"] == lang][0]]
        members = table[result.doc_topics == topic]
        assert (members["lang"] == lang).all()
        _check_terms(result.topics[result.topics["topic"] == topic], result.doc_topics, table, lang)


def test_korean_terms_through_the_keybert_mmr_chain(embedding_model):
    """The chain re-ranks the Korean c-TF-IDF terms with the (English) embedding model: the
    terms stay words of the vocabulary."""
    table = _slice("ko", 120, sections=3)
    result = _represent(table, table["label"], RepresentConfig(), embedding_model)
    vocabulary = set(result.vocabulary)
    for row in result.topics.itertuples():
        assert 1 <= len(row.terms) <= 10 and set(row.terms) <= vocabulary
        assert any(regex.search(r"\p{Hangul}", term) for term in row.terms), row.terms


POST = "<div class='post'><p class=\"body\">{}</p><a href='https://forum.example.org/t/1'>link</a> &nbsp; admin@example.org</div>"
TOPIC_TEXTS = [
    ["the river flooded the valley after heavy rain", "heavy rain raised the river level", "flood warnings along the river valley"],
    ["the orchestra played a symphony by mahler", "a violin concerto with the city orchestra", "the symphony orchestra toured europe"],
]


def test_markup_is_stripped_for_terms_but_kept_in_the_stored_text(tmp_path):
    texts = [POST.format(text) for group in TOPIC_TEXTS for text in group] * 3
    path = tmp_path / "posts.csv"
    pd.DataFrame({"text": texts}).to_csv(path, index=False)
    store = ArtifactStore(tmp_path / "cache")
    loaded = stages.load(store, path, CorpusConfig())
    stored = store.get("load", loaded.key).table("documents.parquet")
    assert stored["text"].tolist() == texts  # the stored text keeps its markup

    table = pd.DataFrame({"id": stored["doc_id"], "text": stored["text"]})
    result = _represent(table, pd.Series([i // 3 % 2 for i in range(len(texts))]))
    terms = {term for terms in result.topics["terms"] for term in terms}
    assert {"river", "orchestra"} <= terms
    markup = {"div", "class", "post", "classpostp", "body", "href", "https", "forum", "example", "org", "nbsp", "admin"}
    assert not terms & markup, terms


def test_hyphenated_terms_and_emoji_topics():
    texts = ["scale-free networks grow by preferential attachment", "a scale-free degree distribution in networks",
             "scale-free graphs and small-world networks"] * 2 + ["🎉🎉 🙌", "😂😂 👍 !!", "🔥 🔥 🔥"] * 2
    table = pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts})
    result = _represent(table, pd.Series([0] * 6 + [1] * 6))
    topics = result.topics.set_index("topic")
    words = topics.loc[result.doc_topics[0], "terms"]
    assert "scale-free" in words and "scalefree" not in words and "small-world" in words
    emoji = result.doc_topics[6]
    assert list(topics.loc[emoji, "terms"]) == []
    assert topics.loc[emoji, "name"] == f"{emoji}_🎉🎉 🙌"
