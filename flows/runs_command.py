"""``topics runs``: list the runs under an output root; and the tidying every command does.

Both ``topics runs`` and ``topics run`` (before Prefect starts) call :func:`tidy`: runs whose
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


def tidy(root: str | Path, cache_dirs: list[str | Path] = ()) -> tuple[list[dict], list[Path]]:
    """Record dead runs under ``root`` as interrupted and sweep leftovers: temporary entries in
    ``cache_dirs``, in ``<root>/.cache`` and in every cache a run under ``root`` used, and
    Prefect homes of ended commands. Returns (every run under ``root``, as
    :func:`topics.runs.list_runs` gives them; the paths removed). A missing root has no runs."""
    try:
        rows = list_runs(root)
    except OutputRootError:
        rows = []
    caches = {Path(d).resolve() for d in [*cache_dirs, Path(root) / ".cache"]}
    caches |= {Path(row["cache_dir"]) for row in rows if row.get("cache_dir")}
    removed = [path for cache in sorted(caches) for path in ArtifactStore(cache).sweep_temporary()]
    removed += sweep_prefect_homes()
    return rows, removed


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


def tidy_and_report(root: str | Path, cache_dirs: list[str | Path] = ()) -> list[dict]:
    """:func:`tidy`, then :func:`report_tidying`; returns the runs."""
    rows, removed = tidy(root, cache_dirs)
    report_tidying(rows, removed)
    return rows


def runs_command(args: argparse.Namespace) -> int:
    if not Path(args.root).is_dir():
        what = "not a folder" if Path(args.root).exists() else "no such folder"
        print(f"topics: error: --root {args.root}: {what} (no runs there yet?)", file=sys.stderr)
        return EXIT_USAGE
    rows = tidy_and_report(args.root)
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
