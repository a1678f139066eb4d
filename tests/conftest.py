"""Shared fixtures: small slices of the real corpora in ../shared/corpora and the real model."""

from __future__ import annotations

import os

# MKL picks its code path by CPU. On an AVX-512 CPU a document's vector then depends on how many
# documents share its batch (last-bit differences), and the bit-for-bit tests would fail for the
# machine, not the code. MKL_CBWR=AVX2 is MKL's reproducible branch on every AVX2 CPU (see "What
# repeats, and what can vary" in the README). Set before torch loads MKL; subprocesses inherit it.
os.environ.setdefault("MKL_CBWR", "AVX2")

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("TOPICS_TEST_CORPORA", REPO.parent / "shared" / "corpora"))
ARXIV = CORPORA / "arxiv_kaggle_metadata_first2000.parquet"


def corpus_file(name: str) -> Path:
    path = CORPORA / name
    if not path.is_file():
        pytest.fail(f"test corpus missing: {path} (set TOPICS_TEST_CORPORA to the shared corpora folder)")
    return path


def sigkill_when_paused(process: subprocess.Popen, signal_file: Path, what: str, timeout_s: float = 600) -> None:
    """Wait until ``process`` (leading its own session, stderr piped) creates ``signal_file``
    through a pause hook, then SIGKILL its process group; fail the test if it ends first or
    ``timeout_s`` passes. ``what`` names the awaited point, e.g. "its second chunk"."""
    deadline = time.monotonic() + timeout_s
    while not signal_file.exists():
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {process.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"the run never reached {what}")
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="session")
def arxiv_table() -> pd.DataFrame:
    return pd.read_parquet(corpus_file(ARXIV.name))


@pytest.fixture(scope="session")
def arxiv_300(arxiv_table: pd.DataFrame, tmp_path_factory) -> Path:
    """300 real arXiv abstracts (every 6th row: a spread of archives), as a Parquet file."""
    path = tmp_path_factory.mktemp("corpus") / "arxiv_300.parquet"
    arxiv_table.iloc[::6].head(300).reset_index(drop=True).to_parquet(path)
    return path


@pytest.fixture(scope="session")
def arxiv_300_embedded(arxiv_300: Path):
    """(texts, ids, embeddings) of the 300-document slice, embedded once per session with the
    real packaged model; tests of later stages share it instead of re-embedding."""
    from topics import embed

    table = pd.read_parquet(arxiv_300)
    embeddings = embed.encode(table["text"].tolist(), show_progress=False)
    return table["text"].tolist(), table["arxiv_id"].tolist(), embeddings


@pytest.fixture(scope="session")
def embedding_model():
    """The real packaged all-MiniLM-L6-v2, loaded once (KeyBERT-inspired terms embed words)."""
    from topics import embed

    return embed.load_model()


@pytest.fixture(scope="session")
def arxiv_300_reduced(arxiv_300_embedded) -> np.ndarray:
    from topics import reduce

    return reduce.reduce(arxiv_300_embedded[2])


@pytest.fixture(scope="session")
def prefect_harness():
    """A real, temporary Prefect server and database for the flow tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def pipeline_cache(tmp_path_factory) -> Path:
    """One artifact store shared by the flow tests, so each slice is embedded once."""
    return tmp_path_factory.mktemp("cache")


ARXIV_COLUMNS = ["corpus.id_column=arxiv_id", "corpus.time_column=created", "corpus.label_column=label", "corpus.title_column=title"]


@pytest.fixture(scope="session")
def flow_runner(prefect_harness, pipeline_cache, arxiv_300, tmp_path_factory):
    """Run the topic-pipeline flow on the 300-abstract slice with extra overrides; returns the run dir."""
    from flows.topic_pipeline import topic_pipeline

    def _run(*extra, refresh=None, no_cache=False, input_path=None, reference=None):
        root = tmp_path_factory.mktemp("runs")
        # Leaf clusters: on these 300 abstracts "eom" finds only 2 broad topics (physics and
        # astronomy); "leaf" finds about 5, enough for every view (a hierarchy needs 3).
        overrides = [*ARXIV_COLUMNS, f"cache.dir={pipeline_cache}", f"output.root={root}", "embed.show_progress=false",
                     "cluster.cluster_selection_method=leaf", *extra]
        return Path(topic_pipeline(input=str(input_path or arxiv_300), overrides=overrides, refresh=refresh, no_cache=no_cache,
                                   reference=str(reference) if reference else None))

    return _run


@pytest.fixture(scope="session")
def arxiv_run(flow_runner) -> Path:
    """One completed run on the 300-abstract slice (time, label and title columns configured)."""
    return flow_runner()
