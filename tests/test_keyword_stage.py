"""The keywords stage in the flow: toggling it reuses every other stage (topics.keyword_stage)."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from topics.artifacts import ArtifactStore
from topics.config import EmbedConfig, KeywordsConfig, RepresentConfig
from topics.keyword_stage import keywords
from topics.keywords import candidate_vectorizer
from topics.run import read_manifest
from topics.stages import STAGES


def _stages(run_dir):
    return {s["name"]: s for s in read_manifest(run_dir)["stages"]}


@pytest.fixture(scope="module")
def keyword_run(arxiv_run, flow_runner):
    return flow_runner("keywords.enabled=true")


def test_plain_run_has_no_keywords(arxiv_run):
    assert "keywords" not in _stages(arxiv_run)
    assert "keywords" not in pq.read_schema(arxiv_run / "documents.parquet").names


def test_enabling_keywords_reuses_every_other_stage(arxiv_run, keyword_run):
    plain, stages = _stages(arxiv_run), _stages(keyword_run)
    assert list(stages) == [*STAGES[:-1], "keywords", "render"]
    assert [name for name, s in stages.items() if not s["hit"]] == ["keywords", "render"]
    assert all(stages[name]["key"] == plain[name]["key"] for name in STAGES[:-1])
    assert stages["keywords"]["n_words"] > 1000


def test_documents_carry_their_keywords(keyword_run):
    assert pq.read_schema(keyword_run / "documents.parquet").field("keywords").type == pa.list_(pa.string())
    documents = pd.read_parquet(keyword_run / "documents.parquet")
    # Words of the document itself, as the topic terms cut them (TeX accents read as letters).
    analyse = candidate_vectorizer(documents["text"].tolist()).build_analyzer()
    for text, words in zip(documents["text"], documents["keywords"]):
        assert 1 <= len(words) <= 5 and all(w in analyse(text) for w in words)
    html = (keyword_run / "topic_map.html").read_text()
    shown = [f"keywords: {', '.join(words)}" for words in documents["keywords"]]
    assert sum(line in html for line in shown) >= 250  # hover text (a few have characters escaped in the page)


def test_new_settings_reuse_the_stored_word_vectors(keyword_run, pipeline_cache):
    stages = _stages(keyword_run)
    result = keywords(ArtifactStore(pipeline_cache), stages["load"]["key"], stages["embed"]["key"], KeywordsConfig(enabled=True, top_n=2),
                      EmbedConfig(), RepresentConfig())
    assert not result.hit and result.details == {"n_words": stages["keywords"]["n_words"], "words_encoded": 0}
    table = ArtifactStore(pipeline_cache).get("keywords", result.key).table("keywords.parquet")
    documents = pd.read_parquet(keyword_run / "documents.parquet")
    assert [list(k) for k in table["keywords"]] == [list(k)[:2] for k in documents["keywords"]]


def test_stage_graph_knows_keywords():
    from topics.stages import with_downstream

    assert with_downstream(["keywords"]) == {"keywords", "render"}
    assert "keywords" in with_downstream(["embed"]) and "keywords" not in with_downstream(["cluster"])
