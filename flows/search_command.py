"""``topics search RUN_DIR "query"``: the topics and documents of a run nearest to a query.

A thin wrapper over :func:`topics.search.search`: the query is embedded with the run's own
model, offline, and scored against the run's stored vectors. Bad input (an empty query, a
folder that is not a completed run, pruned vectors, a model that cannot be loaded) exits 2
with one line.
"""

from __future__ import annotations

import argparse
import json
import sys

from topics.search import SearchError, SearchResult, search

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(commands) -> None:
    """Register ``topics search`` on the ``topics`` command's subparsers."""
    parser = commands.add_parser("search", help="find the topics and documents of a run nearest to a query")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a completed run directory, e.g. outputs/<run_id>")
    parser.add_argument("query", help="what to look for, in words")
    parser.add_argument("--topics", type=int, default=5, metavar="K", help="how many topics to show (default: %(default)s)")
    parser.add_argument("--docs", type=int, default=10, metavar="N", help="how many documents to show (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help='print {"topics": [...], "documents": [...]} as JSON')


def format_result(result: SearchResult) -> str:
    """The result as two aligned tables, topics then documents, best first."""
    lines = [f"topics nearest to {result.query!r}:", f"{'score':>6}  {'topic':>5}  {'size':>5}  name"]
    lines += [f"{t.score:>6.3f}  {t.topic:>5}  {t.size:>5}  {t.name}" for t in result.topics]
    width = max([6] + [len(d.doc_id) for d in result.documents])
    lines += ["", "documents:", f"{'score':>6}  {'topic':>5}  {'doc_id':<{width}}  title or text"]
    lines += [f"{d.score:>6.3f}  {d.topic:>5}  {d.doc_id:<{width}}  {d.snippet}" for d in result.documents]
    return "\n".join(lines)


def search_command(args: argparse.Namespace) -> int:
    for flag, value in (("--topics", args.topics), ("--docs", args.docs)):
        if value < 0:
            print(f"topics: error: {flag} must be 0 or more, got {value}", file=sys.stderr)
            return EXIT_USAGE
    try:
        result = search(args.run_dir, args.query, k_topics=args.topics, n_docs=args.docs)
    except SearchError as exc:
        print(f"topics: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) if args.json else format_result(result), flush=True)
    seconds = result.seconds
    print(f"topics: model loaded in {seconds['model']:.1f} s, query embedded in {seconds['query']:.2f} s, "
          f"documents and topics scored in {seconds['score']:.2f} s", file=sys.stderr)
    return EXIT_OK
