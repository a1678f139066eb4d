"""The ``topics`` command.

``topics cache list`` and ``topics cache prune --older-than DAYS`` inspect and trim the
artifact store.

``topics runs`` lists the runs under the output root (see :mod:`flows.runs_command`).

``topics search RUN_DIR "query"`` finds a run's nearest topics and documents (see
:mod:`flows.search_command`).

``topics run`` validates the settings and the input before Prefect starts (exit 2 with a
one-line reason when they are wrong), then runs the ``topic-pipeline`` flow: exit 0 on
success, 1 if the run failed.

Without a Prefect server configured (no ``PREFECT_API_URL`` in the environment or the active
profile) each run starts its own temporary server and Prefect home (see
:mod:`flows.local_server`), so concurrent runs never share one SQLite database; with a server
configured, runs are recorded there. Ctrl-C or SIGTERM marks the run failed and exits 130.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tomllib
from datetime import datetime, timezone
from contextlib import ExitStack
from pathlib import Path

from flows import runs_command as runs
from flows import search_command
from flows.console import find_run_dir, quiet_tracebacks
from flows.local_server import private_prefect_server
from topics import preflight
from topics.artifacts import ArtifactStore
from topics.config import ConfigError, RunConfig, load_config
from topics.corpus import Corpus, CorpusError, load_corpus, resolve_input
from topics.preflight import Adjustment, PreflightError
from topics.run import ERROR_LOG, check_out_dir, error_line
from topics.embed import EmbeddingError, check_model_available, space_label, vector_space
from topics.reference import check_vector_space, load_reference
from topics.represent.llm_clients import local_model_path
from topics.stages import ALL_STAGES

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="topics", description="Topic modeling pipeline (Prefect flow 'topic-pipeline').")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline on a corpus")
    run.add_argument("--input", help="corpus file: .parquet, .csv, .tsv, .jsonl (default: the embedded arXiv corpus)")
    run.add_argument("--config", help="YAML settings file (default: built-in defaults, as configs/default.yaml)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override one setting; repeatable, e.g. --set cluster.min_cluster_size=20")
    run.add_argument("--out", help="run directory to write; it must be absent or empty (default: <output.root>/<run_id>)")
    run.add_argument("--refresh", action="append", default=[], choices=ALL_STAGES, metavar="STAGE",
                     help=f"recompute STAGE and everything after it; repeatable ({', '.join(ALL_STAGES)})")
    run.add_argument("--reference", metavar="RUN_DIR",
                     help="a completed earlier run to compare with: new documents are assigned to its topics "
                          "(reference.mode=assign) or topics are refitted and matched (refit); adds drift.json and drift.html")
    run.add_argument("--no-cache", action="store_true", help="neither read nor fill the artifact cache")
    run.add_argument("--verbose", action="store_true", help="show Prefect's tracebacks on the console (always in <run>/error.log)")

    cache = commands.add_parser("cache", help="inspect or prune the artifact cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    listing = cache_commands.add_parser("list", help="list cache entries: stage, key, size, last used")
    prune = cache_commands.add_parser("prune", help="delete entries not used for some days")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS", help="age in days since last use")
    for sub in (listing, prune):
        sub.add_argument("--cache-dir", default=RunConfig().cache.dir, help="the cache folder (default: %(default)s)")
    runs.add_parser(commands)
    search_command.add_parser(commands)
    return parser


def _configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile, read without importing Prefect."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect")).expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        data = tomllib.loads(profiles.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active", "ephemeral")
    return data.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")


def _fail(message: str) -> int:
    print(f"topics: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def check_reference(run_dir: str, space: dict) -> None:
    """Raise ReferenceRunError (a ValueError) when ``run_dir`` cannot serve as a reference for a
    run embedding into vector ``space`` (another model, backend or precision)."""
    reference = load_reference(run_dir)
    check_vector_space(run_dir, reference.info, space["model"], space_label(space))


def check_run(args: argparse.Namespace) -> tuple[RunConfig, list[Adjustment], Corpus]:
    """Every check that needs no model: settings, input, corpus terms, where outputs go.

    Raises
    ------
    ConfigError, CorpusError, EmbeddingError, PreflightError, ValueError
        With the one-line reason.
    """
    settings = load_config(args.config, args.overrides)
    preflight.check_settings(settings, args.reference)
    input_path, corpus_config = resolve_input(args.input, settings.corpus)
    if args.out:
        check_out_dir(args.out)
    preflight.check_writable(args.out or settings.output.root, "--out" if args.out else "output.root")
    if settings.cache.enabled and not args.no_cache:
        preflight.check_writable(settings.cache.dir, "cache.dir")
    # Reading the whole corpus here (seconds even for large files) catches malformed rows
    # and corpora that can give no topic before Prefect starts; the flow reads it again.
    corpus = load_corpus(input_path, corpus_config)
    try:
        preflight.check_corpus_size(len(corpus))
        preflight.check_terms(corpus.texts, settings.represent)
    except PreflightError as exc:
        raise PreflightError(f"{input_path}: {exc}") from None
    llm = settings.represent.llm
    if llm.enabled and llm.provider == "local":
        local_model_path(llm)
    embed = settings.embed  # e.g. fp16 off CUDA is a settings error: say so before any work
    space = vector_space(embed.model, embed.backend, embed.device, embed.precision, embed.max_seq_length)
    check_model_available(embed.model)  # a hub name offline fails here, not after a minute of retries
    if args.reference:
        check_reference(args.reference, space)
    return settings, preflight.planned_adjustments(settings, len(corpus)), corpus


def _notes(corpus: Corpus, adjustments: list[Adjustment]) -> None:
    """What the user should know before the run starts: rows dropped, settings adjusted."""
    if len(corpus.dropped):
        counts = ", ".join(f"{reason}={n}" for reason, n in corpus.dropped["reason"].value_counts().items())
        total = len(corpus) + len(corpus.dropped)
        print(f"topics: note: {len(corpus.dropped)} of {total} rows dropped ({counts}); they are listed in dropped.parquet",
              file=sys.stderr)
    for adjustment in adjustments:
        print(f"topics: note: {adjustment.line()}", file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    try:
        settings, adjustments, corpus = check_run(args)
    except (ConfigError, CorpusError, EmbeddingError, PreflightError, ValueError) as exc:
        return _fail(str(exc))
    _notes(corpus, adjustments)
    runs.tidy(settings.output.root, [settings.cache.dir])  # dead runs marked, their leftovers removed

    with ExitStack() as stack:
        if _configured_api_url() is None:
            try:
                server = stack.enter_context(private_prefect_server())
            except RuntimeError as exc:
                print(f"topics: run failed: {exc}", file=sys.stderr)
                return EXIT_FAILED
            os.environ.update(server)
            print(f"topics: temporary Prefect server (pid {server['TOPICS_PREFECT_SERVER_PID']}) at {server['PREFECT_API_URL']}", file=sys.stderr)
        if not args.verbose:
            quiet_tracebacks()
        # A scheduler's SIGTERM takes the same orderly path as Ctrl-C: manifest marked failed,
        # server stopped.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            from flows.topic_pipeline import topic_pipeline

            state = topic_pipeline(
                input=args.input, config=args.config, overrides=list(args.overrides), out=args.out,
                refresh=list(args.refresh), no_cache=args.no_cache, reference=args.reference, return_state=True,
            )
        except KeyboardInterrupt:
            print("topics: interrupted; the run directory is marked failed", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            _send_pending_logs()
        if not state.is_completed():
            return _report_failure(state, args, settings)
        print(state.result())
        return EXIT_OK


def _report_failure(state, args: argparse.Namespace, settings: RunConfig) -> int:
    """One line with the reason; where the full traceback is (and, with --verbose, the traceback)."""
    try:
        state.result()
        reason = state.message or "the flow run did not complete"
    except KeyboardInterrupt:
        print("topics: interrupted; the run directory is marked failed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - report any failure in one line
        reason = state.message if type(exc).__name__ == "FailedRun" and state.message else error_line(exc)
    run_dir = find_run_dir(args.out, settings.output.root, str(state.state_details.flow_run_id or ""))
    log = run_dir / ERROR_LOG if run_dir is not None else None
    where = f" (traceback: {log})" if log is not None and log.is_file() else ""
    print(f"topics: run failed: {reason}{where}", file=sys.stderr)
    if args.verbose and where:
        print(log.read_text(encoding="utf-8"), file=sys.stderr)
    return EXIT_FAILED


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _send_pending_logs() -> None:
    """Deliver Prefect's queued logs and events while the server is still up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    EventsWorker.drain_all(timeout=5)


def cache_command(args: argparse.Namespace) -> int:
    store = ArtifactStore(args.cache_dir)
    if args.cache_command == "prune":
        if args.older_than < 0:
            return _fail("--older-than must be 0 or more days")
        removed = store.prune(args.older_than)
        freed = sum(row["bytes"] for row in removed) / 1e6
        print(f"removed {len(removed)} entries ({freed:.1f} MB) from {args.cache_dir}")
        return EXIT_OK
    rows = store.entries()
    print(f"{'stage':<10} {'key':<40} {'MB':>9}  last used (UTC)")
    for row in rows:
        used = datetime.fromtimestamp(row["last_used"], timezone.utc).strftime("%Y-%m-%d %H:%M")
        print(f"{row['stage']:<10} {row['key']:<40} {row['bytes'] / 1e6:>9.2f}  {used}")
    print(f"{len(rows)} entries, {sum(r['bytes'] for r in rows) / 1e6:.1f} MB in {args.cache_dir}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run_command(args)
    try:
        if args.command == "runs":
            return runs.runs_command(args)
        if args.command == "search":
            return search_command.search_command(args)
        return cache_command(args)
    except BrokenPipeError:
        # The reader of our output went away (`topics runs | head`): stop quietly, as other
        # command-line tools do. stdout is pointed at devnull so the interpreter's final
        # flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
