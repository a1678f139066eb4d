import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from topics.cluster import cluster
from topics.config import ClusterConfig, RepresentConfig
from topics.represent import RepresentationError, represent


@pytest.fixture(scope="module")
def represented(arxiv_300_embedded, arxiv_300_reduced):
    texts, ids, embeddings = arxiv_300_embedded
    labels, _ = cluster(arxiv_300_reduced, ClusterConfig(min_cluster_size=8))
    return labels, represent(texts, ids, embeddings, labels, RepresentConfig())


def test_topic_table_shape(represented, arxiv_300_embedded):
    labels, result = represented
    texts, ids, embeddings = arxiv_300_embedded
    table = result.topics
    assert list(table.columns) == ["topic", "size", "name", "terms", "weights", "representative_doc_ids", "label", "summary"]
    assert table["size"].sum() == len(texts)
    assert result.doc_topics.shape == (len(texts),) and result.doc_topics.dtype == np.int64
    assert result.ctfidf.shape == (len(table), len(result.vocabulary))
    assert result.topic_embeddings.shape == (len(table), embeddings.shape[1])
    # BERTopic numbers topics by size; outliers stay -1 and the clusters are the same partition.
    assert ((result.doc_topics == -1) == (labels == -1)).all()
    real = table[table["topic"] >= 0]
    assert list(real["size"]) == sorted(real["size"], reverse=True)


def test_terms_weights_and_no_stop_words(represented):
    _, result = represented
    for row in result.topics.itertuples():
        assert 1 <= len(row.terms) <= 10 and len(row.terms) == len(row.weights)
        assert list(row.weights) == sorted(row.weights, reverse=True)
        assert not set(row.terms[:5]) & ENGLISH_STOP_WORDS, row.terms
        assert row.name.startswith(f"{row.topic}_")


def test_representative_docs_belong_to_their_topic(represented, arxiv_300_embedded):
    _, result = represented
    topic_of = dict(zip(arxiv_300_embedded[1], result.doc_topics))
    for row in result.topics.itertuples():
        assert 1 <= len(row.representative_doc_ids) <= 3
        assert {topic_of[d] for d in row.representative_doc_ids} == {row.topic}


def test_empty_vocabulary_is_a_clear_error(arxiv_300_embedded):
    texts = ["the and of"] * 6
    with pytest.raises(RepresentationError, match="represent.stop_words"):
        represent(texts, [str(i) for i in range(6)], arxiv_300_embedded[2][:6], np.array([0, 0, 0, 1, 1, 1]))
