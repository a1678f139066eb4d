"""Deployments from prefect.yaml on a real Prefect server with a real process worker.

The module starts `prefect server start` on a free loopback port with its own Prefect home
(SQLite), creates the `topics` process work pool, runs `prefect deploy --all` from the
repository root, starts `prefect worker start`, and stops all of it at the end.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from flows.local_server import free_port, stop_process_group, wait_until_healthy
from topics.ledger import Ledger
from topics.run import read_manifest
from topics.stages import PAUSE_ENV, PAUSE_SIGNAL_ENV

REPO = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))


class Deployed:
    def __init__(self, env: dict, work: Path):
        self.env, self.work = env, work

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([PREFECT, *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout)

    def run_deployment(self, name: str, **params) -> subprocess.Popen:
        args = [PREFECT, "deployment", "run", name, "--watch", "--watch-timeout", "900"]
        for key, value in params.items():
            args += ["--param", f"{key}={value}"]
        return subprocess.Popen(args, env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=1200)
    assert process.returncode == 0 and "Completed" in output, output[-3000:]
    return output


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    work = tmp_path_factory.mktemp("deployments")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOPICS_TEST_"))}
    env.update(PREFECT_HOME=str(work / "prefect-home"), PREFECT_API_URL=f"http://127.0.0.1:{port}/api", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=open(work / "server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    worker = None
    try:
        try:
            wait_until_healthy(server, port, work / "server.log", 180)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        deployed = Deployed(env, work)
        for args in (["work-pool", "create", "topics", "--type", "process"], ["--no-prompt", "deploy", "--all"]):
            done = deployed.cli(*args)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "topics"],
            env=env, cwd=REPO, stdout=open(work / "worker.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        yield deployed
    finally:
        if worker is not None:
            stop_process_group(worker)
        stop_process_group(server)


@pytest.fixture(scope="module")
def settings(deployed, arxiv_table) -> Path:
    config = deployed.work / "settings.yaml"
    config.write_text(
        "corpus: {id_column: arxiv_id, title_column: title}\n"
        "cluster: {min_cluster_size: 5}\n"
        f"cache: {{dir: {deployed.work / 'cache'}}}\n"
        f"output: {{root: {deployed.work / 'runs'}}}\n"
        "embed: {show_progress: false}\n"
    )
    return config


def _slice(table: pd.DataFrame, start: int, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.iloc[start::20].head(60).reset_index(drop=True).to_parquet(path)
    return path


def _runs(deployed) -> set[Path]:
    root = deployed.work / "runs"
    return set(root.iterdir()) if root.exists() else set()


def test_prefect_yaml_has_no_absolute_paths():
    text = (REPO / "prefect.yaml").read_text()
    assert str(REPO) not in text and "/work" not in text and "/home" not in text


def test_on_demand_run_through_worker(deployed, settings, arxiv_table):
    corpus = _slice(arxiv_table, 0, deployed.work / "corpora" / "one.parquet")
    before = _runs(deployed)
    _finished(deployed.run_deployment("topic-pipeline/on-demand", input=corpus, config=settings, run_name="first"))
    (run_dir,) = _runs(deployed) - before
    manifest = read_manifest(run_dir)
    assert manifest["status"] == "completed" and manifest["run_name"] == "first"
    assert len(pd.read_parquet(run_dir / "documents.parquet")) == 60


def test_two_on_demand_runs_at_once(deployed, settings, arxiv_table):
    corpus = _slice(arxiv_table, 1, deployed.work / "corpora" / "two.parquet")
    before = _runs(deployed)
    runs = [deployed.run_deployment("topic-pipeline/on-demand", input=corpus, config=settings) for _ in range(2)]
    for process in runs:
        _finished(process)
    new = _runs(deployed) - before
    assert len(new) == 2 and all(read_manifest(d)["status"] == "completed" for d in new)


def test_inbox_processes_each_corpus_exactly_once(deployed, settings, arxiv_table):
    inbox, ledger = deployed.work / "inbox", deployed.work / "ledger.sqlite"
    _slice(arxiv_table, 2, inbox / "a.parquet")
    _slice(arxiv_table, 3, inbox / "b.parquet")
    params = {"inbox": inbox, "config": settings, "ledger": ledger}
    before = _runs(deployed)
    # The schedule firing twice at once: both scans complete, each corpus runs once.
    scans = [deployed.run_deployment("topic-inbox/nightly", **params) for _ in range(2)]
    for scan in scans:
        _finished(scan)
    rows = Ledger(ledger).rows()
    assert sorted(Path(r["path"]).name for r in rows) == ["a.parquet", "b.parquet"]
    assert all(r["status"] == "done" and r["attempts"] == 1 for r in rows)
    assert len(_runs(deployed) - before) == 2

    _slice(arxiv_table, 4, inbox / "c.parquet")
    middle = _runs(deployed)
    _finished(deployed.run_deployment("topic-inbox/nightly", **params))
    (new_run,) = _runs(deployed) - middle
    assert read_manifest(new_run)["input"].endswith("c.parquet")
    assert [r["status"] for r in Ledger(ledger).rows()] == ["done"] * 3


def test_killed_inbox_run_is_retried_by_next_scan(deployed, settings, arxiv_table):
    inbox, ledger = deployed.work / "inbox-kill", deployed.work / "ledger-kill.sqlite"
    _slice(arxiv_table, 5, inbox / "d.parquet")
    signal_file = deployed.work / "paused"
    code = f"from flows.inbox import topic_inbox; topic_inbox(inbox={str(inbox)!r}, config={str(settings)!r}, ledger={str(ledger)!r})"
    env = {**deployed.env, PAUSE_ENV: "embed", PAUSE_SIGNAL_ENV: str(signal_file)}
    scan = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 600
    while not signal_file.exists():
        assert scan.poll() is None, scan.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "scan never reached the embed stage"
        time.sleep(0.2)
    os.killpg(scan.pid, signal.SIGKILL)
    scan.wait()
    (row,) = Ledger(ledger).rows()
    assert row["status"] == "claimed"

    # A scan within the claim timeout leaves the claim alone; one after it takes the file over.
    _finished(deployed.run_deployment("topic-inbox/nightly", inbox=inbox, config=settings, ledger=ledger))
    assert Ledger(ledger).rows()[0]["status"] == "claimed"
    _finished(deployed.run_deployment("topic-inbox/nightly", inbox=inbox, config=settings, ledger=ledger, claim_timeout_minutes=0))
    (row,) = Ledger(ledger).rows()
    assert row["status"] == "done" and row["attempts"] == 2
    assert read_manifest(row["run_dir"])["status"] == "completed"
    json.dumps(row)


def test_missing_input_fails_the_flow_run_in_one_line(deployed, settings):
    """A deployment run with a missing input: the flow run ends Failed with the reason as its
    state message, the worker's log holds no traceback, and the run folder's manifest says
    failed with that reason."""
    missing = deployed.work / "corpora" / "not-there.parquet"
    before = _runs(deployed)
    process = deployed.run_deployment("topic-pipeline/on-demand", input=missing, config=settings)
    output, _ = process.communicate(timeout=600)
    assert process.returncode != 0 and "Failed" in output, output[-3000:]
    reason = f"input file not found: {missing}"
    (run_dir,) = _runs(deployed) - before
    manifest = read_manifest(run_dir)
    assert manifest["status"] == "failed" and manifest["error"] == reason
    flow_run = output.split("Created flow run '", 1)[1].split("'", 1)[0]
    lines = [line for line in (deployed.work / "worker.log").read_text().splitlines() if flow_run in line]
    assert any(f"run refused: {reason}" in line for line in lines), lines
    assert not any("Traceback" in line for line in lines)
