import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from topics.cluster import cluster
from topics.config import ClusterConfig, MMRConfig, RepresentConfig
from topics.represent import RepresentationError, represent

PLAIN = RepresentConfig(chain=[])


@pytest.fixture(scope="module")
def labels(arxiv_300_reduced):
    return cluster(arxiv_300_reduced, ClusterConfig(min_cluster_size=8))[0]


@pytest.fixture(scope="module")
def represented(arxiv_300_embedded, labels):
    texts, ids, embeddings = arxiv_300_embedded
    return labels, represent(texts, ids, embeddings, labels, PLAIN)


@pytest.fixture(scope="module")
def chained(arxiv_300_embedded, labels, embedding_model):
    texts, ids, embeddings = arxiv_300_embedded
    return represent(texts, ids, embeddings, labels, RepresentConfig(), embedding_model)


def test_topic_table_shape(represented, arxiv_300_embedded):
    labels, result = represented
    texts, ids, embeddings = arxiv_300_embedded
    table = result.topics
    assert list(table.columns) == [
        "topic", "size", "name", "terms", "weights", "ctfidf_terms", "ctfidf_weights", "representative_doc_ids", "label", "summary",
    ]
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
        # Without a chain the terms are the c-TF-IDF terms.
        assert list(row.terms) == list(row.ctfidf_terms)


def test_chain_reranks_terms_and_keeps_ctfidf(chained, represented):
    _, plain = represented
    assert (chained.doc_topics == plain.doc_topics).all()  # the chain never changes assignments
    vocabulary = set(chained.vocabulary)
    changed = 0
    for refined, base in zip(chained.topics.itertuples(), plain.topics.itertuples()):
        # The plain c-TF-IDF terms are kept (terms of equal weight may come in another order).
        assert np.allclose(refined.ctfidf_weights, base.weights)
        assert len(set(refined.ctfidf_terms) & set(base.terms)) >= 0.7 * len(base.terms)
        assert 1 <= len(refined.terms) <= 10 and set(refined.terms) <= vocabulary
        assert refined.name == "_".join([str(refined.topic), *list(refined.terms)[:4]])
        changed += list(refined.terms) != list(base.terms)
    assert changed >= len(plain.topics) // 2, "KeyBERT-inspired re-ranking should change most topics' terms"


def test_mmr_diversity_changes_terms(arxiv_300_embedded, labels, embedding_model):
    texts, ids, embeddings = arxiv_300_embedded
    results = [
        represent(texts, ids, embeddings, labels, RepresentConfig(chain=["mmr"], mmr=MMRConfig(diversity=d)), embedding_model)
        for d in (0.0, 1.0)
    ]
    relevant, diverse = (r.topics for r in results)
    # MMR picks among c-TF-IDF's candidates: 0 by relevance only, 1 trades it for dissimilar terms.
    assert any(list(a) != list(b) for a, b in zip(diverse["terms"], relevant["terms"]))
    for row in diverse.itertuples():
        assert len(set(row.terms)) == len(row.terms) <= 10
        # A clustered topic has words to spare; the outliers here are 3 documents, where a
        # picked term can fall to the near-duplicate and occurrence rules with none to replace it.
        assert len(row.terms) == 10 or (row.topic == -1 and len(row.terms) >= 8), (row.topic, row.size, row.terms)


@pytest.mark.parametrize("chain", [["keybert"], ["mmr"]])
def test_chain_without_embedding_model_is_a_clear_error(arxiv_300_embedded, labels, chain):
    texts, ids, embeddings = arxiv_300_embedded
    with pytest.raises(ValueError, match="embedding_model"):
        represent(texts, ids, embeddings, labels, RepresentConfig(chain=chain))


def test_representative_docs_belong_to_their_topic(represented, arxiv_300_embedded):
    _, result = represented
    topic_of = dict(zip(arxiv_300_embedded[1], result.doc_topics))
    for row in result.topics.itertuples():
        assert 1 <= len(row.representative_doc_ids) <= 3
        assert {topic_of[d] for d in row.representative_doc_ids} == {row.topic}


def test_empty_vocabulary_is_a_clear_error(arxiv_300_embedded):
    texts = ["the and of"] * 6
    with pytest.raises(RepresentationError, match="represent.stop_words"):
        represent(texts, [str(i) for i in range(6)], arxiv_300_embedded[2][:6], np.array([0, 0, 0, 1, 1, 1]), PLAIN)


def test_topic_without_terms_is_named_after_its_representative_document(arxiv_300_embedded, labels, embedding_model):
    """A cluster of emoji-only posts has no c-TF-IDF term: its name comes from its
    representative document, never a bare number; the other topics keep their terms."""
    texts, ids, embeddings = arxiv_300_embedded
    emoji = ["🎉🎉 🙌", "😂😂 👍 !!", "🔥 🔥 🔥", "❤️ ❤️"]
    members = np.flatnonzero(labels == labels.max())
    posts = list(texts)
    for i, row in enumerate(members):
        posts[row] = emoji[i % len(emoji)]
    for config, model in ((PLAIN, None), (RepresentConfig(), embedding_model)):
        topics = represent(posts, ids, embeddings, labels, config, model).topics
        (row,) = topics.index[topics["terms"].map(len) == 0]
        topic = topics.at[row, "topic"]
        first = topics.at[row, "representative_doc_ids"][0]
        assert posts[ids.index(first)] in emoji
        assert topics.at[row, "name"] == f"{topic}_{posts[ids.index(first)]}"
        assert (topics.loc[topics.index != row, "terms"].map(len) > 0).all()


@pytest.fixture(scope="module")
def bigram_chained(arxiv_300_embedded, labels, embedding_model):
    """Unigrams and bigrams: c-TF-IDF counts a topic's documents joined into one text, so a
    bigram can span two of them."""
    texts, ids, embeddings = arxiv_300_embedded
    return represent(texts, ids, embeddings, labels, RepresentConfig(ngram_range=(1, 2)), embedding_model)


@pytest.mark.parametrize("which", ["represented", "chained", "bigram_chained"])
def test_terms_a_reader_recognises(which, request, arxiv_300_embedded):
    """On 300 real abstracts: no two topics share a name after the id, no topic shows a word
    beside its plural or possessive, every term occurs in a document of its topic (as the
    run's vectorizer tokenises it), and the topics still show top_n_terms terms."""
    from topics.represent.names import name_key
    from topics.represent.term_forms import singular_forms

    result = request.getfixturevalue(which)
    result = result[1] if isinstance(result, tuple) else result
    texts = arxiv_300_embedded[0]
    table = result.topics
    keys = [name_key(name) for name in table["name"]]
    assert len(set(keys)) == len(keys), list(table["name"])
    vectorizer = result.model.vectorizer_model
    doc_terms = vectorizer.transform(texts)
    column = vectorizer.vocabulary_
    for row in table.itertuples():
        members = np.flatnonzero(result.doc_topics == row.topic)
        present = set(np.flatnonzero(np.asarray(doc_terms[members].sum(axis=0)).ravel()))
        for terms in (row.terms, row.ctfidf_terms):
            shown = {term.casefold() for term in terms}
            assert not [t for t in terms if set(singular_forms(t)) & shown], (row.topic, list(terms))
            assert all(column[t] in present for t in terms), (row.topic, [t for t in terms if column[t] not in present])
            assert len(terms) == 10, (row.topic, list(terms))


def test_a_bigram_spanning_two_documents_is_never_a_term(arxiv_300_embedded):
    """c-TF-IDF joins a topic's documents into one text, where "beta gamma" spans the end of
    one document and the start of the next: no document holds it, so it is no term."""
    texts = ["alpha beta", "gamma delta", "alpha beta", "gamma delta", "omega sigma", "kappa theta", "omega sigma", "kappa theta"]
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    config = RepresentConfig(chain=[], ngram_range=(1, 2), stop_words=None)
    topics = represent(texts, [str(i) for i in range(8)], arxiv_300_embedded[2][:8], labels, config).topics
    documents_bigrams = {" ".join(t.split()) for t in texts}
    for row in topics.itertuples():
        bigrams = {t for t in [*row.terms, *row.ctfidf_terms] if " " in t}
        assert bigrams and bigrams <= documents_bigrams, (row.topic, list(row.terms))
