import multiprocessing

from topics.ledger import Ledger


def test_claim_complete_and_never_again(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.claim("/in/a.parquet", "sha1", "run-1", claim_timeout_s=60)
    assert not ledger.claim("/in/a.parquet", "sha1", "run-2", claim_timeout_s=60)  # live claim
    assert ledger.complete("/in/a.parquet", "sha1", "run-1", "/out/r1")
    assert not ledger.claim("/in/a.parquet", "sha1", "run-3", claim_timeout_s=0)  # done stays done
    (row,) = ledger.rows()
    assert row["status"] == "done" and row["run_dir"] == "/out/r1" and row["attempts"] == 1


def test_changed_content_counts_as_new(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.claim("/in/a.parquet", "sha1", "r1", 60)
    ledger.complete("/in/a.parquet", "sha1", "r1", "/out/1")
    assert ledger.claim("/in/a.parquet", "sha2", "r2", 60)


def test_crashed_claim_is_retried_after_timeout(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.claim("/in/a.parquet", "sha1", "crashed", 600, now=1000.0)
    assert not ledger.claim("/in/a.parquet", "sha1", "next", 600, now=1500.0)
    assert ledger.claim("/in/a.parquet", "sha1", "next", 600, now=1700.0)
    # The crashed run, should it come back, cannot overwrite its successor's record.
    assert not ledger.complete("/in/a.parquet", "sha1", "crashed", "/out/stale")
    assert ledger.complete("/in/a.parquet", "sha1", "next", "/out/good")
    assert ledger.rows()[0]["attempts"] == 2


def test_failures_retry_until_max_attempts(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    for attempt in range(2):
        assert ledger.claim("/in/bad.csv", "s", f"r{attempt}", 60, max_attempts=2)
        assert ledger.fail("/in/bad.csv", "s", f"r{attempt}", "CorpusError: no usable document")
    assert not ledger.claim("/in/bad.csv", "s", "r9", 60, max_attempts=2)
    assert ledger.rows()[0]["error"].startswith("CorpusError")


def _claim(args):
    path, owner = args
    return Ledger(path).claim("/in/a.parquet", "sha1", owner, 600)


def test_racing_scans_claim_once(tmp_path):
    path = str(tmp_path / "l.sqlite")
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        wins = pool.map(_claim, [(path, f"scan-{i}") for i in range(12)])
    assert sum(wins) == 1
