"""Catalogue cases that need the flow itself: what a deployment run (which skips the CLI's
checks) does with bad settings and bad input, settings applied otherwise than given, and the
console of a run that fails late."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ARXIV_COLUMNS
from flows.topic_pipeline import topic_pipeline
from topics.run import ERROR_LOG, read_manifest

STOP_WORDS_ONLY = ["it is what it is", "and then there were none of them", "we could have been there", "this is not that"]


def _call(tmp_path: Path, input_path: Path | None, *overrides: str):
    sets = [f"output.root={tmp_path / 'runs'}", f"cache.dir={tmp_path / 'cache'}", *overrides]
    return topic_pipeline(input=str(input_path) if input_path else None, overrides=sets, return_state=True)


def _runs(tmp_path: Path) -> list[Path]:
    root = tmp_path / "runs"
    return sorted(root.iterdir()) if root.exists() else []


CASES = [
    # (case, input builder, overrides, expected reason, run folder made, stages run)
    ("missing input", lambda d: d / "nope.parquet", (), "input file not found: ", True, []),
    ("unknown setting", lambda d: None, ("cluster.min_clustr_size=5",), "cluster.min_clustr_size: unknown key", False, None),
    ("refiners contradict", lambda d: None, ("represent.chain=[keybert,mmr]", "represent.keybert.top_n_words=5"),
     "represent.mmr.top_n_words (10) asks for more words than represent.keybert.top_n_words (5) hands on", False, None),
    ("only stop words", lambda d: _csv(d, [STOP_WORDS_ONLY[i % 4] for i in range(60)]), (),
     "every word of its 60 documents is a stop word", True, ["load"]),
    ("unreadable corpus", lambda d: _bytes(d / "broken.parquet", b"PAR1 not really parquet"), (), "cannot read as parquet", True, []),
]


def _csv(folder: Path, texts: list[str]) -> Path:
    path = folder / "in.csv"
    pd.DataFrame({"text": texts}).to_csv(path, index=False)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name,build,overrides,reason,made,stages", CASES, ids=[c[0] for c in CASES])
def test_flow_refuses_in_one_line(name, build, overrides, reason, made, stages, prefect_harness, tmp_path):
    state = _call(tmp_path, build(tmp_path), *overrides)
    assert state.is_failed()
    assert reason in state.message and "\n" not in state.message and "Traceback" not in state.message
    runs = _runs(tmp_path)
    assert len(runs) == (1 if made else 0)
    if made:
        manifest = read_manifest(runs[0])
        assert manifest["status"] == "failed" and reason in manifest["error"]
        assert [s["name"] for s in manifest["stages"]] == stages  # nothing expensive ran
        assert (runs[0] / ERROR_LOG).is_file()


def test_settings_applied_otherwise_are_in_the_manifest(flow_runner):
    """Neighbours above the corpus size, nr_topics above the topics found, fewer terms than
    the chain yields: applied or reported, never silently ignored."""
    run_dir = flow_runner("reduce.n_neighbors=400", "refine.nr_topics=50", "represent.top_n_terms=5")
    manifest = read_manifest(run_dir)
    adjustments = {a["key"]: a for a in manifest["adjustments"]}
    assert (adjustments["reduce.n_neighbors"]["given"], adjustments["reduce.n_neighbors"]["used"]) == (400, 299)
    found = adjustments["refine.nr_topics"]["used"]
    assert adjustments["refine.nr_topics"]["given"] == 50 and 2 <= found < 50
    assert "nothing was merged" in adjustments["refine.nr_topics"]["reason"]
    topics = pd.read_parquet(run_dir / "topics.parquet")
    assert (topics["topic"] >= 0).sum() == found
    assert topics["terms"].map(len).max() == 5  # top_n_terms honoured with the chain on


def test_late_failure_prints_one_line_and_keeps_the_traceback(arxiv_300, pipeline_cache, tmp_path):
    """A model that passes every check and fails to load at the embed stage (a folder that
    exists but holds no model): exit 1, one `topics: run failed:` line and no traceback on the
    console; the traceback is in the run folder's error.log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    out, model = tmp_path / "run", tmp_path / "not-a-model"
    model.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--input", str(arxiv_300), "--out", str(out),
         *[f"--set={s}" for s in ARXIV_COLUMNS], f"--set=cache.dir={pipeline_cache}", f"--set=embed.model={model}"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    failures = [line for line in done.stderr.splitlines() if line.startswith("topics: run failed:")]
    assert len(failures) == 1 and str(model) in failures[0] and str(out / ERROR_LOG) in failures[0]
    assert "Traceback" not in done.stderr
    assert "Traceback" in (out / ERROR_LOG).read_text()
    assert read_manifest(out)["status"] == "failed"
