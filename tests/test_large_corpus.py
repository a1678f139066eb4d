"""Large-corpus paths through the flow, scaled down: UMAP fitted on a sample with the rest
transformed (reduce/project.fit_sample) and fast_hdbscan, on the 300-abstract slice."""

import numpy as np
import pandas as pd
import pytest

from topics import cluster, reduce
from topics.artifacts import ArtifactStore
from topics.reduce import fit_sample_rows
from topics.run import read_manifest


def _stages(run_dir):
    return {s["name"]: s for s in read_manifest(run_dir)["stages"]}


def test_run_above_fit_sample(flow_runner, arxiv_run, pipeline_cache, monkeypatch):
    """With fit_sample at half the corpus, sampled and transformed documents alike get topics
    and map positions, the embeddings are reused, and a re-run is identical, whether UMAP's
    fit and transform chunks ran in two worker processes (the map beside clustering) or in
    the run's own process, one stage after another."""
    # 150 placed documents in chunks of 50: three chunks, enough for a pool of two.
    monkeypatch.setattr(reduce, "TRANSFORM_CHUNK", 50)
    settings = ["reduce.fit_sample=150", "project.fit_sample=150", "cluster.method=fast_hdbscan"]
    first = flow_runner(*settings, "execution.processes=2")
    stages = _stages(first)
    assert stages["embed"]["hit"] and not stages["reduce"]["hit"] and not stages["project"]["hit"]
    # The map ran beside clustering and terms (its UMAP work in worker processes), joined before render.
    order = [s["name"] for s in read_manifest(first)["stages"]]
    assert order.index("evaluate") < order.index("project") < order.index("render")
    store = ArtifactStore(pipeline_cache)
    for name in ("reduce", "project"):
        meta = store.get(name, stages[name]["key"]).meta
        assert meta["worker_processes"] == 2 and meta["worker_rss_mib"] > 0
    documents = pd.read_parquet(first / "documents.parquet")
    assert len(documents) == 300
    sampled = np.zeros(300, dtype=bool)
    sampled[fit_sample_rows(300, 150, 42)] = True
    for part in (sampled, ~sampled):
        rows = documents[part]
        assert np.isfinite(rows[["x", "y"]].to_numpy()).all()
        assert rows["topic"].notna().all() and (rows["topic"] >= 0).mean() > 0.5
    # Transformed documents share topics with sampled ones (they are placed, not set apart).
    shared = set(documents.loc[sampled, "topic"]) & set(documents.loc[~sampled, "topic"]) - {-1}
    assert len(shared) >= 2
    again = flow_runner(*settings, "execution.processes=1", refresh=["reduce", "project"])
    assert not _stages(again)["reduce"]["hit"]
    assert "worker_processes" not in store.get("reduce", stages["reduce"]["key"]).meta
    order = [s["name"] for s in read_manifest(again)["stages"]]
    assert order.index("project") < order.index("cluster")
    assert _stages(again)["reduce"]["key"] == stages["reduce"]["key"]
    for name in ("documents.parquet", "topics.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(first / name), pd.read_parquet(again / name))


def test_failure_beside_the_map_keeps_the_map(flow_runner, arxiv_run, pipeline_cache, monkeypatch, caplog):
    """When clustering fails while the map runs beside it (two worker processes), the run
    fails with clustering's error, after the map has finished: the manifest lists project as
    finished and a re-run reuses its entry instead of placing every document again."""
    monkeypatch.setattr(reduce, "TRANSFORM_CHUNK", 50)
    # Other map and clustering settings than the test above, so that neither is stored yet.
    settings = ["reduce.fit_sample=150", "project.fit_sample=140", "cluster.method=fast_hdbscan",
                "cluster.min_samples=4", "execution.processes=2"]
    working = cluster.cluster

    def broken(*_args, **_kwargs):
        raise RuntimeError("clustering broke")

    monkeypatch.setattr(cluster, "cluster", broken)
    with pytest.raises(RuntimeError, match="clustering broke"):
        flow_runner(*settings)
    assert "waiting for project, running beside, to finish" in caplog.text
    runs = {path.resolve().parent for path in pipeline_cache.parent.glob("runs*/*/manifest.json")}
    # Other tests' runs share these folders (some fail on purpose): this one is the run that names the error.
    (failed,) = [run for run in runs if "clustering broke" in (read_manifest(run).get("error") or "")]
    assert read_manifest(failed)["status"] == "failed" and read_manifest(failed)["current_stage"] == "cluster"
    assert "project" in _stages(failed) and "cluster" not in _stages(failed)

    monkeypatch.setattr(cluster, "cluster", working)
    again = flow_runner(*settings[:-1], "execution.processes=1")
    assert _stages(again)["project"]["hit"] and not _stages(again)["cluster"]["hit"]
    assert _stages(again)["project"]["key"] == _stages(failed)["project"]["key"]
