"""What ``topics run`` shows on the console when a run fails: one line, not Prefect's
traceback blocks (the traceback is kept in the run folder's ``error.log``, and ``--verbose``
shows it)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from topics.run import MANIFEST

# Prefect's loggers that print a failed task's or flow's traceback.
RUN_LOGGERS = ("prefect.task_runs", "prefect.flow_runs", "prefect.flow_engine", "prefect.task_engine")


class DropTraceback(logging.Filter):
    """Keep a record's message, drop its traceback (``exc_info``) and anything after its first line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.exc_text:
            record.exc_info, record.exc_text = None, None
        message = record.getMessage()
        if "\n" in message:
            record.msg, record.args = message.split("\n", 1)[0], None
        return True


def quiet_tracebacks() -> None:
    """Stop Prefect's console handlers from printing tracebacks. Records still reach the
    Prefect server without the traceback; the run's ``error.log`` holds it in full."""
    drop = DropTraceback()
    for name in RUN_LOGGERS:
        logging.getLogger(name).addFilter(drop)


def find_run_dir(out: str | None, output_root: str, flow_run_id: str) -> Path | None:
    """The run directory a flow run made: ``out`` when given, else the folder under
    ``output_root`` whose manifest names ``flow_run_id``; None when it made none."""
    if out:
        return Path(out) if (Path(out) / MANIFEST).is_file() else None
    root = Path(output_root)
    if not flow_run_id or not root.is_dir():
        return None
    # Newest first: the run just made is among the last few folders.
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True)[:50]:
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("flow_run_id") == flow_run_id:
            return folder
    return None
