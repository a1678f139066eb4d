"""The inbox ledger: which corpus files were processed, so each is processed exactly once.

A file is identified by its path and the SHA-256 of its bytes, so an edited file counts as
new. Processing a file is claim, run, then complete (or fail). Claims are taken inside a
SQLite ``BEGIN IMMEDIATE`` transaction, so of two scans racing for one file exactly one wins.
A claim older than the claim timeout is taken to belong to a crashed run and may be claimed
again; a failed file is retried by later scans until ``max_attempts``.

Statuses: ``claimed`` (a run is, or was, working on it), ``done`` (its run completed; the run
directory is recorded), ``failed`` (its run raised; the error is recorded).
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS corpora (
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('claimed', 'done', 'failed')),
    claimed_by  TEXT,
    claimed_at  REAL,
    finished_at REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_dir     TEXT,
    error       TEXT,
    PRIMARY KEY (path, sha256)
)
"""


class Ledger:
    """A SQLite ledger file; the constructor only records the path, tables are made on first use."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 60.0):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now: claims never interleave
            try:
                conn.execute(SCHEMA)
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def claim(self, path: str, sha256: str, owner: str, claim_timeout_s: float, max_attempts: int = 3, now: float | None = None) -> bool:
        """Claim ``(path, sha256)`` for ``owner``; False if it is done, claimed by a live run, or
        failed ``max_attempts`` times."""
        now = time.time() if now is None else now
        with self._transaction() as conn:
            row = conn.execute("SELECT status, claimed_at, attempts FROM corpora WHERE path = ? AND sha256 = ?", (path, sha256)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO corpora (path, sha256, status, claimed_by, claimed_at, attempts) VALUES (?, ?, 'claimed', ?, ?, 1)",
                    (path, sha256, owner, now),
                )
                return True
            if row["status"] == "done" or row["attempts"] >= max_attempts:
                return False
            if row["status"] == "claimed" and now - row["claimed_at"] < claim_timeout_s:
                return False
            conn.execute(
                "UPDATE corpora SET status = 'claimed', claimed_by = ?, claimed_at = ?, attempts = attempts + 1, error = NULL "
                "WHERE path = ? AND sha256 = ?",
                (owner, now, path, sha256),
            )
            return True

    def _finish(self, path: str, sha256: str, owner: str, status: str, run_dir: str | None, error: str | None) -> bool:
        with self._transaction() as conn:
            # Only the current claimant may finish: a run whose claim timed out and was taken
            # over must not overwrite its successor's record.
            cursor = conn.execute(
                "UPDATE corpora SET status = ?, finished_at = ?, run_dir = ?, error = ? "
                "WHERE path = ? AND sha256 = ? AND status = 'claimed' AND claimed_by = ?",
                (status, time.time(), run_dir, error, path, sha256, owner),
            )
            return cursor.rowcount == 1

    def complete(self, path: str, sha256: str, owner: str, run_dir: str) -> bool:
        """Mark a claimed file done with its run directory; False if ``owner`` no longer holds the claim."""
        return self._finish(path, sha256, owner, "done", run_dir, None)

    def fail(self, path: str, sha256: str, owner: str, error: str) -> bool:
        """Mark a claimed file failed (retried by later scans); False if ``owner`` lost the claim."""
        return self._finish(path, sha256, owner, "failed", None, error[:2000])

    def rows(self) -> list[dict]:
        """Every record, oldest claim first."""
        if not self.path.exists():
            return []
        with self._transaction() as conn:
            return [dict(row) for row in conn.execute("SELECT * FROM corpora ORDER BY claimed_at, path")]
