"""The ``topics`` command: validation before Prefect starts, and a real run in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ARXIV_COLUMNS
from flows.cli import main
from topics.run import read_manifest


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_config_key(capsys):
    assert "cluster.min_clustr_size: unknown key" in _error(capsys, ["run", "--set", "cluster.min_clustr_size=5"])


def test_bad_config_file_key(capsys, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("embed:\n  modle: default\n")
    err = _error(capsys, ["run", "--config", str(config)])
    assert "c.yaml, line 2): unknown key" in err and "embed.modle (" in err


def test_api_key_in_a_config_file_is_refused(capsys, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("represent:\n  llm:\n    enabled: true\n    api_key: sk-do-not-store-me\n")
    err = _error(capsys, ["run", "--config", str(config)])
    assert "api_key_env" in err and "sk-do-not-store-me" not in err


def test_missing_local_llm_model(capsys, tmp_path):
    err = _error(capsys, ["run", "--set", "represent.llm.enabled=true", "--set", "represent.llm.provider=local",
                          "--set", f"represent.llm.model={tmp_path / 'no-such-model.gguf'}"])
    assert "represent.llm.model" in err and "does not exist" in err


def test_fp16_for_a_cpu_backend_is_refused_before_any_work(capsys):
    err = _error(capsys, ["run", "--set", "embed.backend=static", "--set", "embed.precision=fp16"])
    assert "embed.precision fp16 needs" in err


def test_bad_keywords_setting(capsys):
    err = _error(capsys, ["run", "--set", "keywords.enabled=true", "--set", "keywords.keyphrase_ngram_range=[3, 1]"])
    assert "keywords.keyphrase_ngram_range: must be (low, high)" in err


def test_keywords_stage_can_be_refreshed():
    from flows.cli import _parser

    assert _parser().parse_args(["run", "--refresh", "keywords"]).refresh == ["keywords"]


def test_missing_input_file(capsys, tmp_path):
    assert "input file not found" in _error(capsys, ["run", "--input", str(tmp_path / "missing.parquet")])


def test_unknown_column(capsys, arxiv_300):
    err = _error(capsys, ["run", "--input", str(arxiv_300), "--set", "corpus.text_column=abstract"])
    assert "corpus.text_column 'abstract' is not a column" in err and "arxiv_id" in err


def test_too_few_documents(capsys, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("text\nfirst document\nsecond document\n   \n")
    assert "2 usable document(s)" in _error(capsys, ["run", "--input", str(path)])


def test_malformed_jsonl_late_in_the_file(capsys, tmp_path):
    path = tmp_path / "late.jsonl"
    path.write_text('{"text": "fine"}\n' * 150 + '{"text": broken\n')
    assert "late.jsonl, line 151: not valid JSON" in _error(capsys, ["run", "--input", str(path)])


def test_non_empty_out_dir(capsys, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    assert "--out" in _error(capsys, ["run", "--out", str(tmp_path)])
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_unknown_refresh_stage():
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--refresh", "embedding"])
    assert exit_info.value.code == 2


def test_real_run_exit_zero_and_out_dir(arxiv_300, pipeline_cache, tmp_path):
    out = tmp_path / "my-run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    command = [
        # --input relative to the working folder: the manifest records it absolute.
        sys.executable, "-m", "flows.cli", "run", "--input", os.path.relpath(arxiv_300, tmp_path), "--out", str(out),
        *[arg for item in ARXIV_COLUMNS for arg in ("--set", item)],
        "--set", f"cache.dir={pipeline_cache}", "--set", "embed.show_progress=false",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert Path(done.stdout.strip().splitlines()[-1]) == out
    assert read_manifest(out)["status"] == "completed"
    assert read_manifest(out)["input"] == os.path.abspath(arxiv_300)
    assert (out / "documents.parquet").is_file() and (out / "topic_map.html").is_file()


def test_cache_list_and_prune(capsys, tmp_path):
    from topics.artifacts import ArtifactStore

    store = ArtifactStore(tmp_path)
    store.put("embed", "old", lambda w: w.bytes("a.bin", b"x" * 1000))
    store.put("cluster", "new", lambda w: w.bytes("b.bin", b"y"))
    old_marker = store.entry_dir("embed", "old") / "_entry.json"
    os.utime(old_marker, (0, 0))  # last used in 1970
    assert main(["cache", "list", "--cache-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "embed" in listing and "old" in listing and "2 entries" in listing
    assert main(["cache", "prune", "--older-than", "30", "--cache-dir", str(tmp_path)]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert [row["key"] for row in store.entries()] == ["new"]


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_run_is_marked_failed_and_cleans_up(how, arxiv_300, pipeline_cache, tmp_path):
    """Ctrl-C in a terminal (SIGINT to the whole process group) or a scheduler's SIGTERM to the
    command: exit 130, manifest failed, the temporary Prefect server gone."""
    import signal
    import time

    from topics.stages import PAUSE_ENV, PAUSE_SIGNAL_ENV

    signal_file = tmp_path / "paused"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOPICS_TEST_"))}
    env.update({PAUSE_ENV: "cluster", PAUSE_SIGNAL_ENV: str(signal_file)})
    command = [sys.executable, "-m", "flows.cli", "run", "--input", str(arxiv_300), "--out", str(tmp_path / "run"),
               "--set", f"cache.dir={pipeline_cache}", "--set", "embed.show_progress=false", "--refresh", "cluster"]
    # As from a terminal: SIGINT at its default even when this test runs as a background job
    # (a non-interactive shell starts those with SIGINT ignored, and Python then keeps it so).
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while not signal_file.exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.2)
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err[-3000:]
    assert "interrupted" in err.splitlines()[-1]
    manifest = read_manifest(tmp_path / "run")
    assert manifest["status"] == "failed" and manifest["current_stage"] == "cluster"
    server_pid = int(err.split("temporary Prefect server (pid ")[1].split(")")[0])
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)
