"""The ``topic-inbox`` flow: run the pipeline once on every new corpus file in an inbox.

Each file matching ``inbox`` (a folder or a glob) is fingerprinted, claimed in the ledger,
run through ``topic-pipeline`` as a subflow, and marked done or failed. The ledger makes a
scan idempotent: a schedule firing twice, a retried run or two scans at once never process
one (path, content) twice; a claim left by a crashed run is retried after
``claim_timeout_minutes``.
"""

from __future__ import annotations

import glob
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.topic_pipeline import topic_pipeline
from topics.corpus import SUFFIX_FORMATS, file_fingerprint
from topics.ledger import Ledger


def inbox_files(inbox: str) -> list[Path]:
    """Corpus files in ``inbox``: a folder (its files) or a glob; sorted, readable formats only."""
    pattern = str(Path(inbox) / "*") if Path(inbox).is_dir() else inbox
    return sorted(Path(p).resolve() for p in glob.glob(pattern) if Path(p).is_file() and Path(p).suffix.lower() in SUFFIX_FORMATS)


@flow(name="topic-inbox")
def topic_inbox(
    inbox: str = "inbox",
    config: str | None = None,
    overrides: list[str] | None = None,
    ledger: str = "outputs/inbox-ledger.sqlite",
    claim_timeout_minutes: float = 180.0,
    max_attempts: int = 3,
    reference: str | None = None,
) -> list[dict]:
    """Process every unprocessed corpus in ``inbox``; returns one record per file run now.

    Parameters
    ----------
    inbox : folder or glob of corpus files (Parquet, CSV, JSONL)
    config, overrides : settings for every pipeline run (see ``topic-pipeline``)
    ledger : SQLite file recording what was processed
    claim_timeout_minutes : age after which a claim is taken to belong to a crashed run
    max_attempts : runs per file before a failing file is left alone
    reference : a completed run directory every new corpus is compared with (see
        ``topic-pipeline``; ``reference.mode`` in the settings chooses assign or refit)
    """
    logger = get_run_logger()
    book = Ledger(ledger)
    owner = str(flow_run.get_id() or "local")
    processed = []
    for path in inbox_files(inbox):
        sha256 = file_fingerprint(path)
        if not book.claim(str(path), sha256, owner, claim_timeout_minutes * 60, max_attempts):
            continue
        logger.info("processing %s (%s)", path, sha256[:12])
        try:
            run_dir = topic_pipeline(input=str(path), config=config, overrides=overrides, run_name=path.stem, reference=reference)
        except Exception as exc:  # noqa: BLE001 - one bad corpus must not stop the others
            book.fail(str(path), sha256, owner, f"{type(exc).__name__}: {exc}")
            logger.error("failed %s: %s", path, exc)
            processed.append({"path": str(path), "sha256": sha256, "status": "failed", "error": str(exc)})
            continue
        book.complete(str(path), sha256, owner, run_dir)
        processed.append({"path": str(path), "sha256": sha256, "status": "done", "run_dir": run_dir})
    logger.info("%d corpora processed", len(processed))
    return processed
