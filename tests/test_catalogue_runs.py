"""Interrupted runs and their leftovers: `topics runs`, the run lock, the sweep of temporary folders.

Three catalogues, each a list of (case id, build function, expected outcome):

- RUN_CASES: what `topics runs` prints for each kind of run folder, and what it leaves in the
  manifest (a dead run is recorded `interrupted`; a live one is never changed);
- SWEEP_CASES: which temporary folders a sweep removes (a dead owner's) and keeps (a live
  owner's, or one without an owner lock);
- one real `topics run` killed with SIGKILL, then `topics runs`.

A dead owner is a real process killed with SIGKILL; a live one is this test process holding the
lock, as a running run does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO, sigkill_when_paused
from flows import cli
from flows.cli import main
from flows.local_server import HOME_PREFIX, sweep_prefect_homes
from topics.artifacts import ArtifactStore
from topics.owned_temp import OwnedTempDir
from topics.run import RUN_LOCK, Manifest, create_run_dir, read_manifest
from topics.stages import PAUSE_ENV, PAUSE_SIGNAL_ENV


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path, monkeypatch) -> Path:
    """Sweeps look for Prefect homes in the temporary folder: this test's own, never /tmp."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _prefect_homes(folder: Path) -> list[Path]:
    """Prefect homes and their lock files (torch may keep its own folders there too)."""
    return sorted(folder.glob(f"{HOME_PREFIX}*"))


def _in_dead_process(code: str) -> None:
    """Run ``code`` (with ``os`` and ``Path`` imported) in a fresh Python that then dies by SIGKILL."""
    script = f"import os\nfrom pathlib import Path\n{code}\nos.kill(os.getpid(), 9)\n"
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


# --- `topics runs`: one case per kind of run folder --------------------------------------------

LIVE = []  # manifests of "live" runs: this process keeps their lock until the module ends


def _live_run(root: Path) -> None:
    _, run_dir = create_run_dir(root)
    manifest = Manifest(run_dir, run_dir.name, input="live.parquet")
    manifest.stage_started("embed")
    LIVE.append(manifest)


def _dead_run(root: Path) -> None:
    _in_dead_process(
        "from topics.run import Manifest, create_run_dir\n"
        f"run_id, run_dir = create_run_dir({str(root)!r})\n"
        "Manifest(run_dir, run_id, input='dead.parquet').stage_started('embed')"
    )


def _completed_run(root: Path) -> None:
    _, run_dir = create_run_dir(root)
    Manifest(run_dir, run_dir.name, input="done.parquet").completed(n_docs=300, n_topics=5, n_outliers=42)


def _failed_run(root: Path) -> None:
    _, run_dir = create_run_dir(root)
    manifest = Manifest(run_dir, run_dir.name, input="bad.parquet")
    manifest.stage_started("cluster")
    manifest.failed(RuntimeError("no memory"))


def _run_before_run_locks(root: Path) -> None:
    """A manifest left `running` by a version without run locks: no lock file, no pid."""
    (root / "20250101T000000Z-0ld000").mkdir(parents=True)
    (root / "20250101T000000Z-0ld000" / "manifest.json").write_text(json.dumps(
        {"run_id": "20250101T000000Z-0ld000", "status": "running", "started_at": "2025-01-01T00:00:00+00:00",
         "current_stage": "reduce", "input": "old.parquet"}))


def _unreadable_manifest(root: Path) -> None:
    (root / "20250102T000000Z-bad000").mkdir(parents=True)
    (root / "20250102T000000Z-bad000" / "manifest.json").write_text("{broken")


def _no_runs(root: Path) -> None:
    (root / ".cache" / "embed").mkdir(parents=True)  # the cache and folders without a manifest are not runs
    (root / "notes").mkdir()
    (root / "inbox-ledger.sqlite").write_bytes(b"")


RUN_CASES = [
    # (case id, build(root), status shown, last cells of its line: documents, topics, outliers, input;
    #  manifest status afterwards (None: file untouched), text in the manifest's note)
    ("completed", _completed_run, "completed", "300 5 42 done.parquet", "completed", None),
    ("failed", _failed_run, "failed@cluster", "- - - bad.parquet", "failed", None),
    ("live run holding its lock", _live_run, "running", "- - - live.parquet", "running", None),
    ("process killed", _dead_run, "interrupted@embed", "- - - dead.parquet", "interrupted",
     "ended without finishing the run, during the embed stage"),
    ("running, from before run locks", _run_before_run_locks, "interrupted@reduce", "2025-01-01 00:00:00 - - - old.parquet",
     "interrupted", "its process (a process) ended"),
    ("unreadable manifest", _unreadable_manifest, "unreadable", "- - - - -", None, None),
]


@pytest.mark.parametrize("case_id, build, shown, cells, recorded, note", RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_runs_lists_each_kind_of_run(case_id, build, shown, cells, recorded, note, tmp_path, capsys):
    root = tmp_path / "outputs"
    build(root)
    (run_dir,) = [p for p in root.iterdir()]
    before = (run_dir / "manifest.json").read_bytes()
    assert main(["runs", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    header, line, footer = out.splitlines()
    assert header.split() == ["run", "status", "started", "(UTC)", "documents", "topics", "outliers", "input"]
    assert line.split()[:2] == [run_dir.name, shown] and " ".join(line.split()).endswith(cells), out
    assert footer == f"1 run(s) in {root}: 1 {shown.split('@')[0]}"
    if recorded is None:
        assert (run_dir / "manifest.json").read_bytes() == before  # never rewritten
        return
    manifest = read_manifest(run_dir)
    assert manifest["status"] == recorded
    if note:
        assert note in manifest["note"] and manifest["finished_at"] is None
        assert not (run_dir / RUN_LOCK).exists()
    if recorded == "running":
        assert (run_dir / "manifest.json").read_bytes() == before and (run_dir / RUN_LOCK).exists()
    if case_id == "process killed":
        assert f"pid {manifest['pid']} on {manifest['host']}" in manifest["note"]


def test_runs_newest_first_as_json(tmp_path, capsys):
    root = tmp_path / "outputs"
    for build in (_completed_run, _dead_run, _failed_run, _live_run):
        build(root)
        time.sleep(0.01)
    assert main(["runs", "--root", str(root), "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [r["status"] for r in rows] == ["running", "failed", "interrupted", "completed"]
    assert [r["started_at"] for r in rows] == sorted((r["started_at"] for r in rows), reverse=True)
    assert rows[3]["n_docs"] == 300 and rows[0]["n_docs"] is None and rows[2]["newly_interrupted"] is True
    assert captured.err.startswith("topics: marked 1 run(s) interrupted, their process gone (")
    # Recorded once: the second listing finds nothing new to report.
    assert main(["runs", "--root", str(root), "--json"]) == 0
    assert capsys.readouterr().err == ""


ROOT_CASES = [
    # (case id, build(root), exit code, stdout, stderr)
    ("no runs in it", _no_runs, 0, "no runs in {root}\n", ""),
    ("missing", lambda root: None, 2, "", "topics: error: --root {root}: no such folder\n"),
    ("a file", lambda root: root.write_text("x"), 2, "", "topics: error: --root {root}: not a folder\n"),
]


def test_runs_piped_into_a_reader_that_stops_early(tmp_path):
    # `topics runs | head -1`: the reader closes the pipe early; the command stops quietly,
    # with no BrokenPipeError traceback. Here the reader is gone before the first write.
    for _ in range(5):
        _completed_run(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)
    lister = subprocess.run([sys.executable, "-m", "flows.cli", "runs", "--root", str(tmp_path)], stdout=write_end,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    os.close(write_end)
    assert "Traceback" not in lister.stderr and "BrokenPipe" not in lister.stderr, lister.stderr
    assert lister.returncode == 0


@pytest.mark.parametrize("case_id, build, code, out, err", ROOT_CASES, ids=[c[0] for c in ROOT_CASES])
def test_runs_with_an_empty_or_missing_root(case_id, build, code, out, err, tmp_path, capsys):
    root = tmp_path / "outputs"
    build(root)
    assert main(["runs", "--root", str(root)]) == code
    assert capsys.readouterr() == (out.format(root=root), err.format(root=root))


# --- the sweep of temporary folders -----------------------------------------------------------

def _cache_tmp(tmp: Path) -> Path:
    return tmp / "cache" / "embed" / ".tmp"


def _in_cache_tmp(tmp: Path) -> list[Path]:
    return sorted(_cache_tmp(tmp).iterdir())


def _homes(tmp: Path) -> list[Path]:
    return _prefect_homes(tmp / "tmpdir")


def _sweep_all(tmp: Path) -> None:
    ArtifactStore(tmp / "cache").sweep_temporary()
    sweep_prefect_homes(tmp / "tmpdir")


def _dead_owner(parent: Path, prefix: str) -> None:
    _in_dead_process(
        "from topics.owned_temp import OwnedTempDir\n"
        f"(OwnedTempDir({str(parent)!r}, {prefix!r}).path / 'part.npy').write_bytes(b'half written')"
    )


HELD = []


def _live_owner(parent: Path, prefix: str) -> None:
    owned = OwnedTempDir(parent, prefix)
    (owned.path / "part.npy").write_bytes(b"being written")
    HELD.append(owned)


def _without_owner_lock(parent: Path, prefix: str) -> None:
    (parent / f"{prefix}legacy01").mkdir(parents=True)


def _trash(tmp: Path) -> None:
    (tmp / "cache" / ".trash" / "embed-k-1234").mkdir(parents=True)


SWEEP_CASES = [
    # (case id, build(tmp), the leftovers (folders and lock files), whether they survive the sweep)
    ("cache entry of a killed writer", lambda tmp: _dead_owner(_cache_tmp(tmp), "k1."), _in_cache_tmp, False),
    ("cache entry being written", lambda tmp: _live_owner(_cache_tmp(tmp), "k1."), _in_cache_tmp, True),
    ("cache entry without owner lock", lambda tmp: _without_owner_lock(_cache_tmp(tmp), "k1."), _in_cache_tmp, True),
    ("Prefect home of a killed run", lambda tmp: _dead_owner(tmp / "tmpdir", HOME_PREFIX), _homes, False),
    ("Prefect home of a live run", lambda tmp: _live_owner(tmp / "tmpdir", HOME_PREFIX), _homes, True),
    ("Prefect home without owner lock", lambda tmp: _without_owner_lock(tmp / "tmpdir", HOME_PREFIX), _homes, True),
    ("trash", _trash, lambda tmp: sorted((tmp / "cache" / ".trash").iterdir()), False),
]


@pytest.mark.parametrize("case_id, build, where, survives", SWEEP_CASES, ids=[c[0] for c in SWEEP_CASES])
def test_sweep_removes_only_what_a_dead_owner_left(case_id, build, where, survives, tmp_path):
    build(tmp_path)
    before = where(tmp_path)
    assert before, "nothing was built"
    _sweep_all(tmp_path)
    assert where(tmp_path) == (before if survives else [])
    if survives and (before[0] / "part.npy").exists():
        assert (before[0] / "part.npy").read_bytes() == b"being written"


def test_a_sweep_during_a_real_write_keeps_the_entry(tmp_path):
    """A sweep from another command while the store is writing an entry: the entry survives and commits."""
    store = ArtifactStore(tmp_path / "cache")
    swept = []

    def fill(writer):
        writer.bytes("a.bin", b"x" * 100)
        swept.extend(store.sweep_temporary())
        return {"n": 1}

    store.put("embed", "k", fill)
    assert swept == [] and store.get("embed", "k").meta == {"n": 1}
    assert list((tmp_path / "cache" / "embed" / ".tmp").iterdir()) == []  # its lock file is gone too


def test_topics_run_tidies_before_prefect_starts(arxiv_300, tmp_path, monkeypatch, capsys):
    """`topics run` marks dead runs and sweeps their leftovers before it starts a Prefect server
    (stopped here: the server 'fails' to start)."""
    root, cache = tmp_path / "outputs", tmp_path / "cache"
    _dead_run(root)
    _dead_owner(cache / "load" / ".tmp", "k1.")
    _dead_owner(tmp_path / "tmpdir", HOME_PREFIX)

    def no_server():
        raise RuntimeError("no server in this test")

    monkeypatch.setattr(cli, "private_prefect_server", no_server)
    monkeypatch.setattr(cli, "_configured_api_url", lambda: None)
    code = main(["run", "--input", str(arxiv_300), "--set", f"output.root={root}", "--set", f"cache.dir={cache}"])
    err = capsys.readouterr().err
    assert code == 1 and err.splitlines()[-1] == "topics: run failed: no server in this test"
    assert "marked 1 run(s) interrupted" in err and "removed 2 temporary folder(s) left by killed runs" in err
    (run_dir,) = root.iterdir()
    assert read_manifest(run_dir)["status"] == "interrupted"
    assert list((cache / "load" / ".tmp").iterdir()) == [] and list(_prefect_homes(tmp_path / "tmpdir")) == []


# --- a real run killed with SIGKILL ----------------------------------------------------------

def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"  # a zombie holds no files
    except OSError:
        return True


def test_real_run_killed_then_topics_runs(arxiv_300, private_tmpdir, tmp_path, capsys):
    """`topics run` SIGKILLed while the load stage writes its cache entry; then `topics runs`."""
    root, cache, signal_file = tmp_path / "outputs", tmp_path / "cache", tmp_path / "paused"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOPICS_TEST_"))}
    env.update({PAUSE_ENV: "load", PAUSE_SIGNAL_ENV: str(signal_file), "TMPDIR": str(private_tmpdir)})
    command = [sys.executable, "-m", "flows.cli", "run", "--input", str(arxiv_300),
               "--set", f"output.root={root}", "--set", f"cache.dir={cache}", "--set", "embed.show_progress=false"]
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    sigkill_when_paused(process, signal_file, "the load stage")
    server_pid = int(process.stderr.read().decode().split("temporary Prefect server (pid ")[1].split(")")[0])

    (run_dir,) = root.iterdir()
    assert read_manifest(run_dir)["status"] == "running" and read_manifest(run_dir)["current_stage"] == "load"
    (home,) = [p for p in _prefect_homes(private_tmpdir) if p.is_dir()]
    (entry_tmp,) = [p for p in (cache / "load" / ".tmp").iterdir() if p.is_dir()]
    assert home.name.startswith(HOME_PREFIX) and (home / "server.log").is_file() and any(entry_tmp.iterdir())

    deadline = time.monotonic() + 60  # the server is told to stop when its parent dies
    while not _gone(server_pid):
        assert time.monotonic() < deadline, "the temporary Prefect server outlived its run"
        time.sleep(0.2)
    assert main(["runs", "--root", str(root)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].split()[:2] == [run_dir.name, "interrupted@load"], captured.out
    assert "marked 1 run(s) interrupted" in captured.err and "removed 2 temporary folder(s)" in captured.err
    manifest = read_manifest(run_dir)
    assert manifest["status"] == "interrupted" and "during the load stage" in manifest["note"]
    assert list(_prefect_homes(private_tmpdir)) == [] and list((cache / "load" / ".tmp").iterdir()) == []
