import numpy as np
import pytest

from topics import reduce
from topics.config import ProjectConfig, ReduceConfig


def test_reduce_and_project_shapes(arxiv_300_embedded, arxiv_300_reduced):
    embeddings = arxiv_300_embedded[2]
    assert arxiv_300_reduced.shape == (len(embeddings), 5) and arxiv_300_reduced.dtype == np.float32
    coordinates = reduce.project(embeddings, ProjectConfig())
    assert coordinates.shape == (len(embeddings), 2) and coordinates.dtype == np.float32
    assert np.isfinite(coordinates).all()


def test_seeded_reduction_repeats(arxiv_300_embedded, arxiv_300_reduced):
    again = reduce.reduce(arxiv_300_embedded[2], ReduceConfig())
    np.testing.assert_array_equal(again, arxiv_300_reduced)


def test_small_corpora(arxiv_300_embedded):
    few = arxiv_300_embedded[2][:6]
    assert reduce.reduce(few).shape == (6, 5)
    with pytest.raises(reduce.ReductionError, match="at least 3"):
        reduce.reduce(few[:2])
    with pytest.raises(reduce.ReductionError, match="2-D"):
        reduce.project(few[0])


def test_fit_sample_places_the_rest(arxiv_300_embedded, arxiv_300_reduced):
    """Above fit_sample, UMAP is fitted on a seeded sample and the rest are transformed: the
    sample keeps its fitted coordinates, the layout stays about as faithful to the neighbours
    as a full fit (trustworthiness, scikit-learn), and a re-run is identical."""
    from sklearn.manifold import trustworthiness

    embeddings = arxiv_300_embedded[2]
    config = ReduceConfig(fit_sample=150)
    sampled = reduce.reduce(embeddings, config)
    assert sampled.shape == arxiv_300_reduced.shape and np.isfinite(sampled).all()
    rows = reduce.fit_sample_rows(len(embeddings), 150, config.random_state)
    assert len(rows) == 150 and len(np.unique(rows)) == 150
    np.testing.assert_array_equal(sampled[rows], reduce.reduce(embeddings[rows], ReduceConfig()))
    np.testing.assert_array_equal(sampled, reduce.reduce(embeddings, config))
    full = trustworthiness(embeddings, arxiv_300_reduced, n_neighbors=10)
    assert trustworthiness(embeddings, sampled, n_neighbors=10) >= full - 0.03
    # The transformed documents sit among their neighbours too, not at one spot.
    rest = np.setdiff1d(np.arange(len(embeddings)), rows)
    assert trustworthiness(embeddings[rest], sampled[rest], n_neighbors=10) >= 0.85
    assert len(np.unique(sampled[rest].round(3), axis=0)) == len(rest)


def test_fit_sample_applies_only_above_it():
    assert reduce.fit_sample_rows(300, 300, 42) is None
    assert reduce.fit_sample_rows(300, None, 42) is None
    assert "fit_sample" not in reduce.key_settings(ReduceConfig(fit_sample=300), 300)
    assert reduce.key_settings(ReduceConfig(fit_sample=299), 300)["fit_sample"] == 299
    chunks = reduce.transform_chunks(50_000, np.arange(0, 50_000, 2))
    assert [len(c) for c in chunks] == [reduce.TRANSFORM_CHUNK, 25_000 - reduce.TRANSFORM_CHUNK]
    assert np.array_equal(np.concatenate(chunks), np.arange(1, 50_000, 2))
