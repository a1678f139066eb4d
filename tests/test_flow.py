"""The topic-pipeline flow end to end, on 300 real arXiv abstracts, under a real Prefect server."""

import json

import pandas as pd
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from flows.topic_pipeline import topic_pipeline
from topics.run import is_completed, read_manifest
from topics.stages import STAGES


@pytest.fixture(scope="module")
def run(flow_runner):
    return flow_runner


@pytest.fixture(scope="module")
def first_run(arxiv_run):
    return arxiv_run


def _stages(run_dir):
    return {s["name"]: s for s in read_manifest(run_dir)["stages"]}


def test_end_to_end_outputs(first_run, arxiv_300):
    source = pd.read_parquet(arxiv_300)
    documents = pd.read_parquet(first_run / "documents.parquet")
    assert sorted(documents["doc_id"]) == sorted(source["arxiv_id"])  # every kept document once
    assert {"doc_id", "text", "topic", "probability", "x", "y", "time", "label", "title"} <= set(documents.columns)

    topics = pd.read_parquet(first_run / "topics.parquet")
    assert (topics["topic"] >= 0).sum() >= 3
    for terms in topics["terms"]:
        assert not set(terms[:5]) & ENGLISH_STOP_WORDS
    assert topics.set_index("topic")["size"].to_dict() == documents["topic"].value_counts().to_dict()

    flat = pd.read_csv(first_run / "topics.csv")
    assert list(flat.columns[:5]) == ["topic", "size", "name", "label", "terms"]
    assert all(len(t.split()) <= 10 for t in flat["terms"])
    assert list(flat.columns[5:6]) == ["ctfidf_terms"]
    assert flat["ctfidf_terms"].tolist() == [" ".join(t[:10]) for t in topics["ctfidf_terms"]]

    html = (first_run / "topic_map.html").read_text()
    assert "Plotly.newPlot" in html and 'src="plotly.min.js"' in html
    assert (first_run / "plotly.min.js").stat().st_size > 1_000_000
    for page in ("index.html", "intertopic.html", "terms.html", "hierarchy.html", "similarity.html", "over_time.html",
                 "per_class.html", "classification.html"):
        assert (first_run / page).is_file()
    assert "cdn" not in " ".join(p.read_text() for p in first_run.glob("*.html")).lower()


def test_metrics(first_run):
    metrics = json.loads((first_run / "metrics.json").read_text())
    assert -1 <= metrics["coherence_npmi"] <= 1 and 0 < metrics["topic_diversity"] <= 1
    assert 0 <= metrics["outlier_share"] < 1 and -1 <= metrics["silhouette"] <= 1
    assert metrics["n_topics"] == len(metrics["per_topic"]) >= 2
    labels = metrics["labels"]
    assert 0 < labels["all"]["nmi"] <= 1 and labels["non_outliers"]["n_docs"] <= labels["all"]["n_docs"] == 300


def test_manifest(first_run, arxiv_300):
    manifest = read_manifest(first_run)
    assert manifest["status"] == "completed" and is_completed(first_run)
    assert manifest["run_id"] == first_run.name
    assert len(manifest["input_sha256"]) == 64 and len(manifest["corpus_fingerprint"]) == 64
    assert manifest["n_docs"] == 300 and manifest["n_dropped"] == 0
    assert [s["name"] for s in manifest["stages"]] == list(STAGES)
    assert all(s["seconds"] >= 0 and len(s["key"]) == 40 for s in manifest["stages"])
    assert manifest["config"]["cluster"]["cluster_selection_method"] == "leaf"
    embedded = _stages(first_run)["embed"]
    assert isinstance(embedded["reused"], int) and isinstance(embedded["encoded"], int)
    assert embedded["reused"] + embedded["encoded"] == 300  # 300 distinct abstracts
    assert (embedded["backend"], embedded["dtype"]) == ("torch", "fp32")
    assert embedded["device"] in ("cpu", None)  # None: an earlier test's run had stored every vector
    assert {"bertopic", "prefect", "sentence-transformers", "umap-learn", "hdbscan"} <= set(manifest["versions"])
    json.dumps(manifest)


def test_same_settings_again_hits_every_stage(first_run, run):
    again = run()
    assert all(s["hit"] for s in _stages(again).values())
    assert (_stages(again)["embed"]["reused"], _stages(again)["embed"]["encoded"]) == (300, 0)
    for name in ("documents.parquet", "topics.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(first_run / name), pd.read_parquet(f"{again}/{name}"))
    assert read_manifest(again)["run_id"] != read_manifest(first_run)["run_id"]


def test_changing_clustering_reuses_embeddings_and_reductions(first_run, run):
    stages = _stages(run("cluster.min_cluster_size=15"))
    assert [n for n, s in stages.items() if s["hit"]] == ["load", "embed", "reduce", "project"]


def test_changing_representation_reuses_assignments(first_run, run):
    stages = _stages(run("represent.mmr.diversity=0.6"))
    # evaluate scores the representation, so it follows it; embeddings to assignments are reused.
    assert [n for n, s in stages.items() if not s["hit"]] == ["represent", "label", "evaluate", "render"]


def test_outlier_reduction_recomputes_from_assignments(first_run, run):
    # The default reduces outliers by embedding; keeping HDBSCAN's re-runs from refine on.
    kept = run("refine.outliers.strategy=none")
    stages = _stages(kept)
    assert [n for n, s in stages.items() if s["hit"]] == ["load", "embed", "reduce", "project", "cluster"]
    reduced = pd.read_parquet(first_run / "documents.parquet")
    hdbscan_own = pd.read_parquet(kept / "documents.parquet")
    assert (reduced["topic"] == -1).sum() < (hdbscan_own["topic"] == -1).sum()
    assert read_manifest(kept)["n_outliers"] == (hdbscan_own["topic"] == -1).sum()


def test_llm_settings_are_ignored_while_labelling_is_off(first_run, run):
    stages = _stages(run("represent.llm.model=another-model", "represent.llm.temperature=0.7"))
    assert all(s["hit"] for s in stages.values())


def test_refresh_recomputes_stage_and_downstream(first_run, run):
    stages = _stages(run(refresh=["project"]))
    assert [n for n, s in stages.items() if not s["hit"]] == ["project", "render"]
    assert stages["project"]["key"] == _stages(first_run)["project"]["key"]


def test_failed_run_is_marked_failed(prefect_harness, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    state = topic_pipeline(input=str(broken), overrides=[f"output.root={tmp_path / 'runs'}", f"cache.dir={tmp_path / 'c'}"], return_state=True)
    assert state.is_failed()
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = read_manifest(run_dir)
    assert manifest["status"] == "failed" and "cannot read as parquet" in manifest["error"]
    assert not is_completed(run_dir)


def test_truncated_entry_is_recomputed_not_loaded(first_run, run, pipeline_cache):
    key = _stages(first_run)["reduce"]["key"]
    damaged = pipeline_cache / "reduce" / key / "reduced.npy"
    damaged.write_bytes(damaged.read_bytes()[:-64])
    again = run()
    stages = _stages(again)
    assert not stages["reduce"]["hit"] and "corrupt" in stages["reduce"]["note"]
    assert stages["reduce"]["key"] == key
    for name in ("documents.parquet", "topics.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(first_run / name), pd.read_parquet(f"{again}/{name}"))


def test_no_cache_leaves_the_cache_untouched(first_run, run, pipeline_cache):
    before = sorted(p.name for p in pipeline_cache.rglob("*") if p.is_file())
    again = run("represent.top_n_terms=7", no_cache=True)
    assert read_manifest(again)["cache_dir"] is None
    assert not any(s["hit"] for s in read_manifest(again)["stages"])
    assert sorted(p.name for p in pipeline_cache.rglob("*") if p.is_file()) == before


def test_prefect_artifacts(first_run):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read(key):
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    flow_run_id = read_manifest(first_run)["flow_run_id"]
    # Prefect stores a link artifact as Markdown holding the link.
    for key, kind in (("topics-summary", "markdown"), ("topics-table", "table"), ("topics-report", "markdown")):
        found = [a for a in asyncio.run(read(key)) if str(a.flow_run_id) == flow_run_id]
        assert len(found) == 1 and found[0].type == kind, key
    (link,) = [a for a in asyncio.run(read("topics-report")) if str(a.flow_run_id) == flow_run_id]
    assert (first_run / "index.html").resolve().as_uri() in link.data
