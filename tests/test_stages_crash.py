"""The cache under real processes: SIGKILL during each stage, and four runs at once.

Runs are real ``topics run`` processes. A stage is caught mid-way through the documented
hook in :mod:`topics.stages` (``TOPICS_TEST_PAUSE_IN_STAGE``): the stage has written its
files but not committed them when the process is killed, the worst moment for a crash.
"""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ARXIV_COLUMNS, sigkill_when_paused
from flows.topic_pipeline import topic_pipeline
from topics.artifacts import ArtifactStore
from topics.run import read_manifest
from topics.stages import PAUSE_ENV, PAUSE_SIGNAL_ENV, STAGES

OUTPUTS = ("documents.parquet", "topics.parquet")


@pytest.fixture(scope="module")
def corpus_120(arxiv_table, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus120") / "arxiv_120.parquet"
    arxiv_table.iloc[3::15].head(120).reset_index(drop=True).to_parquet(path)
    return path


def _overrides(cache: Path, root: Path) -> list[str]:
    return [*ARXIV_COLUMNS, f"cache.dir={cache}", f"output.root={root}", "embed.show_progress=false", "cluster.min_cluster_size=5"]


@pytest.fixture(scope="module")
def reference(prefect_harness, corpus_120, tmp_path_factory) -> Path:
    """An uninterrupted run, in its own cache, to compare against."""
    base = tmp_path_factory.mktemp("reference")
    return Path(topic_pipeline(input=str(corpus_120), overrides=_overrides(base / "cache", base / "runs")))


def _command(corpus: Path, cache: Path, root: Path) -> list[str]:
    args = [sys.executable, "-m", "flows.cli", "run", "--input", str(corpus)]
    for item in _overrides(cache, root):
        args += ["--set", item]
    return args


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOPICS_TEST_"))}
    env.update(extra)
    return env


def _assert_same_outputs(run_dir: Path, reference: Path) -> None:
    for name in OUTPUTS:
        pd.testing.assert_frame_equal(pd.read_parquet(run_dir / name), pd.read_parquet(reference / name))


def _assert_store_sound(cache: Path) -> None:
    store = ArtifactStore(cache)
    for row in store.entries():
        store.get(row["stage"], row["key"])  # raises CorruptArtifact on any damage


def _kill_during(stage: str, corpus: Path, cache: Path, root: Path, api_url: str, tmp: Path) -> Path:
    """Start a run, wait until ``stage`` has written (not committed) its files, SIGKILL it."""
    signal_file = tmp / f"paused-{stage}"
    env = _env(PREFECT_API_URL=api_url, **{PAUSE_ENV: stage, PAUSE_SIGNAL_ENV: str(signal_file)})
    before = set(root.iterdir()) if root.exists() else set()
    process = subprocess.Popen(_command(corpus, cache, root), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    sigkill_when_paused(process, signal_file, f"the {stage} stage")
    (run_dir,) = set(root.iterdir()) - before
    return run_dir


def test_sigkill_in_every_stage_then_resume(prefect_harness, corpus_120, reference, tmp_path):
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    cache, root = tmp_path / "cache", tmp_path / "runs"
    previous = None
    for stage in STAGES:
        killed = _kill_during(stage, corpus_120, cache, root, api_url, tmp_path)
        manifest = read_manifest(killed)
        assert manifest["status"] == "running" and manifest["current_stage"] == stage
        assert not ArtifactStore(cache).has(stage, "x") and stage not in {r["stage"] for r in ArtifactStore(cache).entries()}
        _assert_store_sound(cache)
        done = {s["name"]: s for s in manifest["stages"]}
        if previous is not None:
            # Everything committed before the previous kill is reused; the killed stage is redone.
            earlier = STAGES[: STAGES.index(previous)]
            assert all(done[name]["hit"] for name in earlier), done
            assert not done[previous]["hit"]
        previous = stage

    finished = subprocess.run(_command(corpus_120, cache, root), env=_env(PREFECT_API_URL=api_url), capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stderr[-3000:]
    run_dir = Path(finished.stdout.strip().splitlines()[-1])
    stages = {s["name"]: s["hit"] for s in read_manifest(run_dir)["stages"]}
    assert stages == {**{name: True for name in STAGES}, "render": False}
    assert read_manifest(run_dir)["status"] == "completed"
    _assert_same_outputs(run_dir, reference)
    _assert_store_sound(cache)
    for killed in [d for d in root.iterdir() if d != run_dir]:
        assert read_manifest(killed)["status"] != "completed"


def test_four_concurrent_runs_share_one_cache(corpus_120, reference, tmp_path):
    """Four `topics run` processes at once, each with its own temporary Prefect server."""
    cache, root = tmp_path / "cache", tmp_path / "runs"
    processes = [
        subprocess.Popen(_command(corpus_120, cache, root), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [p.communicate(timeout=1200) for p in processes]
    for process, (_, err) in zip(processes, results):
        assert process.returncode == 0, err[-3000:]
    run_dirs = {Path(out.strip().splitlines()[-1]) for out, _ in results}
    assert len(run_dirs) == 4
    for run_dir in run_dirs:
        assert read_manifest(run_dir)["status"] == "completed"
        _assert_same_outputs(run_dir, reference)
    # The per-key lock let exactly one run compute each stage; the others reused it.
    computed = [s["name"] for d in run_dirs for s in read_manifest(d)["stages"] if not s["hit"]]
    assert sorted(computed) == sorted(STAGES)
    _assert_store_sound(cache)
