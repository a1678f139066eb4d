"""``topics runs``: list the runs under an output root; and the tidying every command does.

``topics runs`` and ``topics run`` (before Prefect starts, :func:`tidy`) tidy up: runs whose
process died are recorded as ``interrupted``, and the temporary folders killed runs left (cache
entries being written, private Prefect homes) are removed once their owner is gone. Nothing a
live run holds is touched (see :mod:`topics.owned_temp`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flows.local_server import sweep_prefect_homes
from topics.artifacts import ArtifactStore
from topics.config import RunConfig
from topics.runs import OutputRootError, format_table, list_runs

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(commands) -> None:
    """Register ``topics runs`` on the ``topics`` command's subparsers."""
    runs = commands.add_parser("runs", help="list runs, newest first: status, documents, topics, outliers")
    runs.add_argument("--root", default=RunConfig().output.root, help="the output root holding run folders (default: %(default)s)")
    runs.add_argument("--json", action="store_true", help="print a JSON list, one object per run")


def sweep_leftovers(root: str | Path, rows: list[dict], cache_dirs: list[str | Path] = ()) -> list[Path]:
    """Remove what killed runs left: temporary entries in ``cache_dirs``, in ``<root>/.cache``
    and in every cache one of ``rows`` (runs, as :func:`topics.runs.list_runs` gives them) used,
    and Prefect homes of ended commands. Returns the paths removed."""
    caches = {Path(d).resolve() for d in [*cache_dirs, Path(root) / ".cache"]}
    caches |= {Path(row["cache_dir"]) for row in rows if row.get("cache_dir")}
    removed = [path for cache in sorted(caches) for path in ArtifactStore(cache).sweep_temporary()]
    return removed + sweep_prefect_homes()


def report_tidying(rows: list[dict], removed: list[Path]) -> None:
    """One line on stderr when tidying changed something."""
    marked = [row["path"] for row in rows if row.get("newly_interrupted")]
    parts = []
    if marked:
        parts.append(f"marked {len(marked)} run(s) interrupted, their process gone ({', '.join(marked)})")
    if removed:
        parts.append(f"removed {len(removed)} temporary folder(s) left by killed runs")
    if parts:
        print(f"topics: {'; '.join(parts)}", file=sys.stderr)


def tidy(root: str | Path, cache_dirs: list[str | Path] = ()) -> None:
    """Before a run: record dead runs under ``root`` as interrupted and sweep leftovers (see
    :func:`sweep_leftovers`), saying so on stderr. A missing or unreadable root has no runs."""
    try:
        rows = list_runs(root)
    except OutputRootError:
        rows = []
    report_tidying(rows, sweep_leftovers(root, rows, cache_dirs))


def runs_command(args: argparse.Namespace) -> int:
    try:
        rows = list_runs(args.root)
    except OutputRootError as exc:
        print(f"topics: error: --root {exc}", file=sys.stderr)
        return EXIT_USAGE
    report_tidying(rows, sweep_leftovers(args.root, rows))
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no runs in {args.root}")
    else:
        print(format_table(rows))
        counts = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        print(f"{len(rows)} run(s) in {args.root}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return EXIT_OK
