"""LLM labels inside the topic-pipeline flow. A stub OpenAI-compatible server (tests/llm_stub.py)
stands in for the model here, to script failures and count calls; the real model is tested
in test_llm_real.py."""

import json

import pandas as pd
import pytest

from llm_stub import Reply, StubServer
from topics.run import read_manifest

SECRET = "sk-flowtest-0123456789abcdef"


def _stages(run_dir):
    return {s["name"]: s for s in read_manifest(run_dir)["stages"]}


def _llm(stub, *extra):
    return ["represent.llm.enabled=true", f"represent.llm.base_url={stub.base_url}", "represent.llm.model=stub-model",
            "represent.llm.api_key_env=TOPICS_TEST_LLM_KEY", "represent.llm.max_retries=0", *extra]


def _labelled(n, request):
    terms = request["messages"][-1]["content"]
    return Reply(content=json.dumps({"label": f"Stub label {n}", "summary": f"Summary {n} of a topic. {len(terms)}"}))


@pytest.fixture()
def key(monkeypatch):
    monkeypatch.setenv("TOPICS_TEST_LLM_KEY", SECRET)


def test_labels_reach_the_outputs_and_only_labels_rerun(arxiv_run, flow_runner, key):
    with StubServer(_labelled) as stub:
        labelled = flow_runner(*_llm(stub))
        calls = len(stub.requests)
        again = flow_runner(*_llm(stub, "represent.llm.label_chars=40"))
    stages = _stages(labelled)
    assert [n for n, s in stages.items() if not s["hit"]] == ["label", "render"]
    topics = pd.read_parquet(labelled / "topics.parquet")
    real = topics[topics["topic"] >= 0]
    assert calls == len(real) and real["label"].str.startswith("Stub label").all()
    assert real["summary"].str.startswith("Summary").all()
    assert topics.loc[topics["topic"] == -1, "label"].isna().all()  # outliers are not labelled
    assert "Stub label" in (labelled / "index.html").read_text() and "Stub label" in (labelled / "topics.csv").read_text()
    manifest = read_manifest(labelled)
    assert manifest["llm"]["n_labelled"] == len(real) and manifest["llm"]["failures"] == {}
    # The key went to the server, and nowhere into the run's files.
    assert all(r["authorization"] == f"Bearer {SECRET}" for r in stub.requests)
    for run_dir in (labelled, again):
        for file in (f for f in run_dir.rglob("*") if f.is_file()):
            assert SECRET.encode() not in file.read_bytes(), file
    # A new cap re-parses cached replies: no new calls.
    assert len(stub.requests) == calls
    assert [n for n, s in _stages(again).items() if not s["hit"]] == ["label", "render"]


def test_failed_calls_keep_ctfidf_names_and_are_retried_next_run(arxiv_run, flow_runner, key):
    with StubServer(lambda n, request: Reply(status=500, content=None)) as stub:
        failed = flow_runner(*_llm(stub, "represent.llm.temperature=0.3"))
    manifest = read_manifest(failed)
    assert manifest["status"] == "completed"
    topics = pd.read_parquet(failed / "topics.parquet")
    n_real = int((topics["topic"] >= 0).sum())
    assert len(manifest["llm"]["failures"]) == n_real and manifest["llm"]["n_labelled"] == 0
    assert all("500" in reason for reason in manifest["llm"]["failures"].values())
    assert topics["label"].isna().all()
    assert SECRET not in json.dumps(manifest)
    flat = pd.read_csv(failed / "topics.csv")
    assert flat["name"].str.match(r"^-?\d+_").all()

    # The failed entry is not reused: the next run asks the same endpoint again and now gets
    # labels, and they reach the outputs (the pages follow the labels' content, not their key).
    with StubServer(_labelled, port=stub.port) as stub:
        healed = flow_runner(*_llm(stub, "represent.llm.temperature=0.3"))
    assert len(stub.requests) == n_real
    assert not _stages(healed)["label"]["hit"]
    assert read_manifest(healed)["llm"]["failures"] == {}
    assert pd.read_parquet(healed / "topics.parquet").query("topic >= 0")["label"].notna().all()
