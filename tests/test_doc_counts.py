"""c-TF-IDF counts summed from each document's counts (topics.represent.doc_counts), on real
arXiv abstracts."""

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from topics.cluster import cluster
from topics.config import ClusterConfig, RepresentConfig
from topics.represent import build_vectorizer, represent
from topics.represent.ctfidf import RepresentationError
from topics.represent.tokenize import Tokenizer

PLAIN = RepresentConfig(chain=[])


@pytest.fixture(scope="module")
def labels(arxiv_300_reduced):
    return cluster(arxiv_300_reduced, ClusterConfig(min_cluster_size=8))[0]


def frame(texts, labels) -> pd.DataFrame:
    """BERTopic's documents frame."""
    return pd.DataFrame({"Document": texts, "ID": range(len(texts)), "Topic": labels})


def joined(documents: pd.DataFrame) -> list[str]:
    """The texts BERTopic's c-TF-IDF counts: each topic's documents joined, line breaks as spaces."""
    texts = documents.groupby("Topic", as_index=False).agg({"Document": " ".join})["Document"]
    return [text.replace("\n", " ").replace("\t", " ") for text in texts]


def by_topic(labels) -> sparse.csr_matrix:
    _, rows = np.unique(labels, return_inverse=True)
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, np.arange(len(rows)))))


@pytest.mark.parametrize("min_df", [1, 2])
def test_topic_counts_are_the_sums_of_document_counts(arxiv_300_embedded, labels, min_df):
    texts = arxiv_300_embedded[0]
    config = PLAIN.model_copy(update={"min_df": min_df})
    vectorizer = build_vectorizer(config, texts)
    documents = frame(texts, labels)
    vectorizer.expect_topics(documents)
    counts = vectorizer.fit_transform(joined(documents))

    each = CountVectorizer(tokenizer=vectorizer.tokenizer, token_pattern=None, lowercase=False)
    per_document = each.fit_transform(texts)
    sums = (by_topic(labels) @ per_document).toarray()
    in_topics = (sums > 0).sum(axis=0)
    expected_terms = [term for term, n in zip(each.get_feature_names_out(), in_topics) if n >= min_df]
    assert list(vectorizer.get_feature_names_out()) == expected_terms
    assert np.array_equal(counts.toarray(), sums[:, in_topics >= min_df])
    # What each document holds, as transform counts it, is kept for the occurrence filter.
    assert np.array_equal(vectorizer.document_terms(len(texts)).toarray(), vectorizer.transform(texts).toarray())
    assert pickle.loads(pickle.dumps(vectorizer)).document_terms(len(texts)) is None  # not pickled


def test_markup_is_stripped_within_a_document_not_across_documents(arxiv_table):
    # A real abstract with "0<p" and "0<q" (TeX), and a later one in the same topic with a
    # ">": joined into one text, the tag pattern reads everything between as one HTML tag.
    texts = arxiv_table["text"].tolist()
    first = next(i for i, text in enumerate(texts) if "0<p\\le 1$" in text)
    closing = next(i for i in range(first + 1, len(texts)) if ">" in texts[i])
    pair = [texts[first], texts[closing]]
    documents = frame(pair, [0, 0])
    vectorizer = build_vectorizer(PLAIN, pair)
    tokenizer = vectorizer.tokenizer
    whole = CountVectorizer(tokenizer=tokenizer, token_pattern=None, lowercase=False).fit(joined(documents))
    lost = (set(tokenizer(pair[0])) | set(tokenizer(pair[1]))) - set(whole.vocabulary_)
    assert lost, "joined, the two abstracts lose the words between '<q' and '>'"

    vectorizer.expect_topics(documents)
    vectorizer.fit_transform(joined(documents))
    assert lost <= set(vectorizer.vocabulary_)


def test_texts_other_than_the_expected_joins_are_counted_as_given(arxiv_300_embedded, labels):
    texts = arxiv_300_embedded[0]
    vectorizer = build_vectorizer(PLAIN, texts)
    vectorizer.expect_topics(frame(texts, labels))
    counts = vectorizer.fit_transform(texts[:50])  # not the topics' joins
    plain = CountVectorizer(tokenizer=vectorizer.tokenizer, token_pattern=None, lowercase=False)
    assert np.array_equal(counts.toarray(), plain.fit_transform(texts[:50]).toarray())
    assert vectorizer.document_terms(len(texts)) is None


def test_represent_tokenises_each_document_once(arxiv_300_embedded, labels, monkeypatch):
    texts, ids, embeddings = arxiv_300_embedded
    seen = []
    tokenize = Tokenizer.__call__
    monkeypatch.setattr(Tokenizer, "__call__", lambda self, text: seen.append(text) or tokenize(self, text))
    result = represent(texts, ids, embeddings, labels, PLAIN)
    assert sorted(seen) == sorted(texts)

    # The fitted model keeps neither the per-document counts nor the fit's hook.
    assert "_extract_topics" not in result.model.__dict__
    assert result.model.vectorizer_model.document_terms(len(texts)) is None
    vectorizer = pickle.loads(pickle.dumps(result.model.vectorizer_model))
    assert list(vectorizer.get_feature_names_out()) == result.vocabulary


def test_min_df_above_the_number_of_topics_is_named(arxiv_300_embedded, labels):
    # min_df counts topics (c-TF-IDF's documents are the topics' joins), not documents.
    texts, ids, embeddings = arxiv_300_embedded
    n_topics = len(np.unique(labels))
    represent(texts, ids, embeddings, labels, PLAIN.model_copy(update={"min_df": n_topics}))
    with pytest.raises(RepresentationError, match=rf"represent.min_df={n_topics + 1} is more than the {n_topics} topics"):
        represent(texts, ids, embeddings, labels, PLAIN.model_copy(update={"min_df": n_topics + 1}))
