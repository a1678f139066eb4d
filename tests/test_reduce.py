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
