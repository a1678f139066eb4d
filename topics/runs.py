"""The runs under an output root, as ``topics runs`` lists them.

Every folder under the root holding a ``manifest.json`` is a run. Its status comes from
:func:`topics.run.settle_status`, so a run whose process died shows (and is recorded) as
``interrupted`` rather than ``running`` for ever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from topics.run import MANIFEST, settle_status

COLUMNS = ("run_id", "status", "started_at", "n_docs", "n_topics", "n_outliers", "input")
HEADERS = {"run_id": "run", "started_at": "started (UTC)", "n_docs": "documents", "n_topics": "topics", "n_outliers": "outliers"}


class OutputRootError(ValueError):
    """Raised when the output root to list is not a folder."""


def list_runs(root: str | Path, record: bool = True) -> list[dict[str, Any]]:
    """The runs under ``root``, newest first (by ``started_at``, then folder name).

    Each row holds ``COLUMNS`` plus ``path``, ``current_stage``, ``cache_dir``,
    ``newly_interrupted`` (this call found its process gone) and, for a failed or interrupted
    run, ``error`` or ``note``. Counts are None until the run completes.
    A manifest that cannot be read gives status ``unreadable`` with the reason in ``error``.
    With ``record``, dead runs are recorded as ``interrupted`` in their manifests.

    Raises
    ------
    OutputRootError
        If ``root`` does not exist, is not a folder or cannot be read.
    """
    root = Path(root)
    if not root.is_dir():
        raise OutputRootError(f"{root}: {'not a folder' if root.exists() else 'no such folder'}")
    try:
        run_dirs = list(root.iterdir())
    except OSError as exc:
        raise OutputRootError(f"{root}: cannot be read ({exc.strerror})") from None
    rows = []
    for run_dir in run_dirs:
        if run_dir.name.startswith(".") or not (run_dir / MANIFEST).is_file():
            continue  # the cache, the inbox ledger, anything that is not a run
        try:
            manifest, newly_interrupted = settle_status(run_dir, record=record)
        except (OSError, ValueError) as exc:
            rows.append({**dict.fromkeys(COLUMNS), "run_id": run_dir.name, "status": "unreadable", "path": str(run_dir),
                         "newly_interrupted": False, "error": f"{MANIFEST}: {exc}"})
            continue
        row = {name: manifest.get(name) for name in COLUMNS}
        row.update(run_id=manifest.get("run_id") or run_dir.name, path=str(run_dir),
                   current_stage=manifest.get("current_stage"), cache_dir=manifest.get("cache_dir"),
                   newly_interrupted=newly_interrupted)
        for extra in ("error", "note"):
            if manifest.get(extra):
                row[extra] = manifest[extra]
        rows.append(row)
    rows.sort(key=lambda r: (str(r.get("started_at") or ""), r["run_id"]), reverse=True)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """``rows`` (from :func:`list_runs`) as an aligned text table, one run a line; a failed or
    interrupted run's stage follows its status (``interrupted@embed``)."""
    def cell(row: dict[str, Any], name: str) -> str:
        value = row.get(name)
        if name == "status" and value in ("failed", "interrupted") and row.get("current_stage"):
            return f"{value}@{row['current_stage']}"
        if name == "started_at" and value:
            return str(value)[:19].replace("T", " ")
        return "-" if value is None else str(value)

    table = [[HEADERS.get(name, name) for name in COLUMNS]] + [[cell(row, name) for name in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(line, widths)), line[-1]]).rstrip() for line in table)
