"""execution.task_runner: dask on a real 2-worker LocalCluster (prefect-dask's DaskTaskRunner).

The Dask runs use their own artifact store, so the embedding chunks really run on the workers;
the local run reuses the session's shared store. Both fit UMAP on 160 of the 300 abstracts
(reduce/project.fit_sample), so the fit and the transform chunk are chunk jobs too.
"""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from conftest import ARXIV_COLUMNS
from flows import execution
from flows.topic_pipeline import topic_pipeline
from topics.artifacts import ArtifactStore
from topics.chunk_work import PAUSE_IN_JOB_ENV
from topics.config import ConfigError, load_config
from topics.run import read_manifest

# eom selection: on these abstracts it is the selection least sensitive to float-level
# differences (workers run torch on other thread counts than the flow's process).
SETTINGS = ["reduce.fit_sample=160", "project.fit_sample=160", "embed.chunk_size=80",
            "cluster.cluster_selection_method=eom"]
DASK = ["execution.task_runner=dask", "execution.n_workers=2"]


def _run(corpus: Path, cache: Path, root: Path, *extra: str, refresh=None, return_state=False):
    overrides = [*ARXIV_COLUMNS, f"cache.dir={cache}", f"output.root={root}", "embed.show_progress=false", *SETTINGS, *extra]
    result = topic_pipeline(input=str(corpus), overrides=overrides, refresh=refresh, return_state=return_state)
    return result if return_state else Path(result)


def _stages(run_dir: Path) -> dict:
    return {s["name"]: s for s in read_manifest(run_dir)["stages"]}


def _embeddings(run_dir: Path, cache: Path) -> np.ndarray:
    return np.asarray(ArtifactStore(cache).get("embed", _stages(run_dir)["embed"]["key"]).array("embeddings.npy"))


@pytest.fixture(scope="module")
def local_run(prefect_harness, pipeline_cache, arxiv_300, tmp_path_factory) -> Path:
    return _run(arxiv_300, pipeline_cache, tmp_path_factory.mktemp("local"))


@pytest.fixture(scope="module")
def dask_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dask-cache")


@pytest.fixture(scope="module")
def dask_run(prefect_harness, arxiv_300, dask_cache, tmp_path_factory):
    """A Dask run from an empty store; returns (run dir, environment before, environment after)."""
    before = dict(os.environ)
    run_dir = _run(arxiv_300, dask_cache, tmp_path_factory.mktemp("dask"), *DASK)
    return run_dir, before, dict(os.environ)


def test_dask_run_matches_local(local_run, dask_run, pipeline_cache, dask_cache):
    run_dir, _, _ = dask_run
    stages = _stages(run_dir)
    # The work ran as chunk jobs: 300 texts in chunks of 80, then UMAP's fit and its transform chunk.
    assert stages["embed"]["chunk_jobs"] == 4 and stages["embed"]["encoded"] == 300
    assert stages["reduce"]["chunk_jobs"] == 2 and stages["project"]["chunk_jobs"] == 2
    assert "chunk_jobs" not in stages["cluster"]
    np.testing.assert_allclose(_embeddings(run_dir, dask_cache), _embeddings(local_run, pipeline_cache), atol=1e-5, rtol=0)
    ours, theirs = (pd.read_parquet(r / "documents.parquet") for r in (run_dir, local_run))
    assert ours["doc_id"].tolist() == theirs["doc_id"].tolist()
    assert adjusted_rand_score(theirs["topic"], ours["topic"]) >= 0.9
    assert np.isfinite(ours[["x", "y"]].to_numpy()).all()


def test_starting_a_local_cluster_leaves_the_environment_as_it_was(dask_run):
    _, before, after = dask_run
    assert after == before


def test_cached_dask_run_starts_no_cluster(dask_run, arxiv_300, dask_cache, tmp_path, monkeypatch):
    def refuse(self):
        raise AssertionError("a fully cached run started a cluster")

    monkeypatch.setattr(execution.DaskChunks, "_start", refuse)
    again = _run(arxiv_300, dask_cache, tmp_path, *DASK)
    assert all(s["hit"] for s in _stages(again).values())


def test_worker_killed_mid_job_run_completes_with_the_same_result(dask_run, arxiv_300, dask_cache, tmp_path, monkeypatch):
    """kill -9 of the worker running UMAP's fit: Dask runs the job again on a worker, and the
    run's topics and map are those of the uninterrupted Dask run."""
    first, _, _ = dask_run
    signals = tmp_path / "signals"
    signals.mkdir()
    monkeypatch.setenv(PAUSE_IN_JOB_ENV, str(signals))
    killed = []

    def kill_when_paused():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            paused = signals / "paused"
            if paused.is_file() and paused.read_text():
                pid = int(paused.read_text())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_when_paused, daemon=True)
    killer.start()
    before = dict(os.environ)
    again = _run(arxiv_300, dask_cache, tmp_path / "runs", *DASK, refresh=["reduce", "project"])
    killer.join(timeout=5)
    assert killed, "no chunk job paused"
    # The worker's restart set thread variables in this process again; they are restored.
    assert dict(os.environ) == before
    assert killed[0] != os.getpid()
    assert not _stages(again)["reduce"]["hit"] and _stages(again)["reduce"]["chunk_jobs"] == 2
    for name in ("documents.parquet", "topics.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(again / name), pd.read_parquet(first / name))


def test_unreachable_scheduler_refuses_the_run(prefect_harness, arxiv_300, tmp_path, monkeypatch):
    monkeypatch.setattr(execution, "CONNECT_S", 3.0)
    state = _run(arxiv_300, tmp_path / "cache", tmp_path / "runs", "execution.task_runner=dask",
                 "execution.dask_address=tcp://127.0.0.1:9", return_state=True)
    assert state.is_failed()
    assert "could not connect to the Dask scheduler at execution.dask_address=tcp://127.0.0.1:9" in state.message
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert read_manifest(run_dir)["status"] == "failed"


def test_scheduler_without_workers_refuses_the_run(prefect_harness, arxiv_300, tmp_path, monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setattr(execution, "NO_WORKER_S", 3.0)
    with execution.kept_environment(), LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        state = _run(arxiv_300, tmp_path / "cache", tmp_path / "runs", "execution.task_runner=dask",
                     f"execution.dask_address={cluster.scheduler_address}", return_state=True)
    assert state.is_failed()
    assert "has no worker after 3 s" in state.message


@pytest.mark.parametrize("address", ["tcp://", "not an address", "http://host:8786"])
def test_malformed_address_is_refused_with_the_settings(address):
    with pytest.raises(ConfigError, match="execution.dask_address"):
        load_config(None, [f"execution.dask_address={address}"])
