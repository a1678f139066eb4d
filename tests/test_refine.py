import numpy as np
import pytest

from topics.cluster import cluster
from topics.config import ClusterConfig, OutlierConfig, RefineConfig, RepresentConfig
from topics.refine import refine, uses_vocabulary

# HDBSCAN's outliers kept (the default reduces them by embedding).
KEEP_OUTLIERS = OutlierConfig(strategy="none")


@pytest.fixture(scope="module")
def labels(arxiv_300_reduced):
    labels = cluster(arxiv_300_reduced, ClusterConfig(min_cluster_size=8, cluster_selection_method="leaf"))[0]
    assert (labels == -1).any() and labels.max() >= 4, "the slice should give outliers and several topics"
    return labels


def _n_topics(labels):
    return len(set(labels.tolist()) - {-1})


def test_nothing_to_refine_returns_labels_unchanged(arxiv_300_embedded, labels):
    texts, _, embeddings = arxiv_300_embedded
    result = refine(texts, embeddings, labels, RefineConfig(outliers=KEEP_OUTLIERS))
    assert (result.labels == labels).all() and result.n_merged == result.n_reassigned == 0


def test_default_reduces_outliers_by_embedding(arxiv_300_embedded, labels):
    texts, _, embeddings = arxiv_300_embedded
    config = RefineConfig()
    assert (config.outliers.strategy, config.outliers.threshold) == ("embeddings", 0.3)
    result = refine(texts, embeddings, labels, config)
    before, after = int((labels == -1).sum()), int((result.labels == -1).sum())
    # Most outliers join a topic; one similar to no topic at 0.3 stays an outlier.
    assert after < before and result.n_reassigned == before - after
    kept = labels != -1  # documents in a topic stay together (ids may be renumbered)
    assert len(set(zip(labels[kept].tolist(), result.labels[kept].tolist()))) == _n_topics(labels)


def test_threshold_left_out_follows_the_strategy():
    assert OutlierConfig().threshold == 0.3
    assert OutlierConfig(strategy="c-tf-idf").threshold == 0.0
    assert OutlierConfig(strategy="distributions", threshold=None).threshold == 0.0
    assert OutlierConfig(strategy="embeddings", threshold=0.5).threshold == 0.5


@pytest.mark.parametrize("strategy", ["c-tf-idf", "embeddings", "distributions"])
def test_outlier_reduction_moves_outliers_only(arxiv_300_embedded, labels, strategy):
    texts, _, embeddings = arxiv_300_embedded
    result = refine(texts, embeddings, labels, RefineConfig(outliers=OutlierConfig(strategy=strategy)))
    assert result.labels.dtype == np.int64 and result.labels.shape == labels.shape
    assert result.n_reassigned == int(((labels == -1) & (result.labels != -1)).sum()) > 0
    # Documents already in a topic stay together: the partition of non-outliers is unchanged.
    kept = labels != -1
    pairs = set(zip(labels[kept].tolist(), result.labels[kept].tolist()))
    assert len(pairs) == _n_topics(labels) == _n_topics(result.labels)


def test_higher_threshold_reassigns_fewer(arxiv_300_embedded, labels):
    texts, _, embeddings = arxiv_300_embedded
    counts = [
        refine(texts, embeddings, labels, RefineConfig(outliers=OutlierConfig(strategy="embeddings", threshold=t))).n_reassigned
        for t in (0.0, 0.4, 0.99)
    ]
    assert counts[0] >= counts[1] >= counts[2] and counts[0] > counts[2]


def test_nr_topics_merges_down_to_that_many(arxiv_300_embedded, labels):
    texts, _, embeddings = arxiv_300_embedded
    result = refine(texts, embeddings, labels, RefineConfig(nr_topics=3, outliers=KEEP_OUTLIERS))
    assert _n_topics(result.labels) == 3 and result.n_merged == _n_topics(labels) - 3
    assert ((result.labels == -1) == (labels == -1)).all()  # merging leaves outliers alone
    # Merging only joins whole topics: each original topic lands in exactly one merged topic.
    for topic in set(labels.tolist()) - {-1}:
        assert len(set(result.labels[labels == topic].tolist())) == 1


def test_nr_topics_then_outliers(arxiv_300_embedded, labels):
    texts, _, embeddings = arxiv_300_embedded
    config = RefineConfig(nr_topics=3, outliers=OutlierConfig(strategy="c-tf-idf"))
    result = refine(texts, embeddings, labels, config, RepresentConfig())
    assert _n_topics(result.labels) == 3 and result.n_reassigned > 0


def test_only_ctfidf_based_refinements_depend_on_tokenisation():
    assert not uses_vocabulary(RefineConfig())
    assert not uses_vocabulary(RefineConfig(outliers=OutlierConfig(strategy="embeddings")))
    assert uses_vocabulary(RefineConfig(nr_topics="auto"))
    assert uses_vocabulary(RefineConfig(outliers=OutlierConfig(strategy="distributions")))


def test_embedding_strategy_equals_bertopic_fitted_with_the_real_vectorizer(arxiv_300_embedded, labels):
    """Reassigning by embedding reads no term, so refine fits BERTopic with placeholder terms:
    the same labels as BERTopic's reduce_outliers on a model fitted with the real tokenizer."""
    from topics.represent.ctfidf import fit_bertopic

    texts, _, embeddings = arxiv_300_embedded
    ours = refine(texts, embeddings, labels, RefineConfig()).labels
    model = fit_bertopic(texts, embeddings, labels, RepresentConfig())
    expected = model.reduce_outliers(texts, model.topics_, strategy="embeddings", threshold=0.3, embeddings=embeddings)
    np.testing.assert_array_equal(ours, np.asarray(expected))


def test_no_outliers_and_no_merging_is_left_as_clustered(arxiv_300_embedded, labels):
    texts, _, embeddings = arxiv_300_embedded
    full = np.where(labels == -1, 0, labels)
    result = refine(texts, embeddings, full, RefineConfig())
    np.testing.assert_array_equal(result.labels, full)
    assert (result.n_merged, result.n_reassigned) == (0, 0)


@pytest.mark.parametrize("strategy", ["embeddings", "c-tf-idf"])
def test_outliers_reassigned_in_blocks_as_all_at_once(arxiv_300_embedded, labels, strategy, monkeypatch):
    """Blocks bound BERTopic's dense outliers x topics matrix; each outlier is scored alone,
    so blocks of 64 documents give the labels of one call over all 300."""
    import topics.refine as refine_module

    texts, _, embeddings = arxiv_300_embedded
    config = RefineConfig(outliers=OutlierConfig(strategy=strategy))
    whole = refine(texts, embeddings, labels, config)
    monkeypatch.setattr(refine_module, "OUTLIER_BLOCK", 64)
    blocked = refine(texts, embeddings, labels, config)
    np.testing.assert_array_equal(blocked.labels, whole.labels)
    assert blocked.n_reassigned == whole.n_reassigned > 0
