"""Per-document KeyBERT keywords on real abstracts with the real model (topics.keywords)."""

import numpy as np
import pytest

from topics.embed import TorchEncoder
from topics.keywords import candidate_vectorizer, candidate_words, extract_keywords

N_DOCS = 120  # a slice of the session's 300 abstracts: about 2,500 candidate words to embed


class SpyEncoder(TorchEncoder):
    """The real model, recording every text it is asked to encode and the vector it gave."""

    def __init__(self, model):
        super().__init__(encoder=model, batch_size=256)  # as the keywords stage embeds words
        self.seen: list[str] = []
        self.vectors: dict[str, np.ndarray] = {}

    def encode(self, texts):
        vectors = super().encode(texts)
        self.seen.extend(texts)
        self.vectors.update(zip(texts, vectors))
        return vectors

    def recorded(self, words):
        """The vectors already computed for ``words``, without running the model again."""
        return np.stack([self.vectors[w] for w in words])


@pytest.fixture(scope="module")
def slice_(arxiv_300_embedded):
    texts, ids, embeddings = arxiv_300_embedded
    return texts[:N_DOCS], np.asarray(embeddings[:N_DOCS])


@pytest.fixture(scope="module")
def spy(embedding_model):
    return SpyEncoder(embedding_model)


@pytest.fixture(scope="module")
def plain(slice_, spy):
    texts, embeddings = slice_
    spy.seen.clear()
    keywords, scores = extract_keywords(texts, embeddings, spy, top_n=4)
    return keywords, scores, list(spy.seen)


def test_keywords_per_document_from_its_own_text(slice_, plain):
    texts, _ = slice_
    keywords, scores, _ = plain
    assert len(keywords) == len(scores) == N_DOCS
    assert all(len(k) == 4 for k in keywords)  # every abstract has at least 4 candidate words
    # Words of the document itself, as the topic terms cut them (TeX accents read as letters:
    # "Kähler" from K\"ahler).
    analyse = candidate_vectorizer(texts).build_analyzer()
    for text, words, values in zip(texts, keywords, scores):
        assert all(isinstance(w, str) and w in analyse(text) for w in words), (words, text[:200])
        assert values == sorted(values, reverse=True) and all(-1 <= v <= 1 for v in values)
        assert len(set(words)) == len(words)


def test_only_candidate_words_are_embedded_each_once(slice_, plain):
    texts, _ = slice_
    *_, seen = plain
    words = candidate_words(texts)
    assert sorted(seen) == words  # the vocabulary, once; no document text
    assert not set(seen) & set(texts)


def test_top_n_and_given_word_vectors(slice_, plain, spy):
    texts, embeddings = slice_
    keywords, *_ = plain
    vectors = spy.recorded(candidate_words(texts))
    spy.seen.clear()
    two, _ = extract_keywords(texts, embeddings, None, top_n=2, word_embeddings=vectors)
    assert spy.seen == []  # with the word vectors given, nothing is embedded at all
    assert [k[:2] for k in keywords] == two


def test_mmr_changes_the_choice(slice_, plain, spy):
    texts, embeddings = slice_
    keywords, *_ = plain
    few = 30  # a document's candidates depend only on its own text
    vectors = spy.recorded(candidate_words(texts[:few]))  # a subset of the slice's vocabulary
    diverse, _ = extract_keywords(texts[:few], embeddings[:few], top_n=4, use_mmr=True, diversity=0.8, word_embeddings=vectors)
    assert all(len(k) == 4 for k in diverse)
    changed = sum(set(a) != set(b) for a, b in zip(diverse, keywords[:few]))
    assert changed >= few // 3, changed
    analyse = candidate_vectorizer(texts).build_analyzer()
    for text, words in zip(texts, diverse):
        assert all(w in analyse(text) for w in words)


def test_edge_cases(spy, embedding_model):
    vectors = np.asarray(spy.encode(["the of and", "Quantum chromodynamics at the LHC"]))
    keywords, scores = extract_keywords(["the of and", "Quantum chromodynamics at the LHC"], vectors, spy, top_n=5)
    assert keywords[0] == [] and scores[0] == []
    assert sorted(keywords[1]) == ["chromodynamics", "lhc", "quantum"]
    one, _ = extract_keywords(["Quantum chromodynamics"], vectors[1:], spy, top_n=1)
    assert len(one) == 1 and len(one[0]) == 1
    assert extract_keywords(["and the"], vectors[:1], spy) == ([[]], [[]])
    with pytest.raises(ValueError, match="rows"):
        extract_keywords(["a b c"], vectors, spy)
