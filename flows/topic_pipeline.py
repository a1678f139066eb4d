"""The ``topic-pipeline`` flow: one task per stage, wired by entry keys. No maths here."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Failed, State

from flows import tasks
from flows.execution import DaskChunks

from topics import preflight, report, stages
from topics.artifacts import ArtifactStore
from topics.config import ConfigError, RefineConfig, load_config
from topics.corpus import CorpusError, file_fingerprint, resolve_input
from topics.preflight import PreflightError
from topics.reference import load_reference
from topics.represent.llm_clients import local_model_path
from topics.run import Manifest, create_run_dir, error_line
from topics.stage_graph import RunPlan, chunk_phases, runs_in_background, waits_before


def publish_prefect_artifacts(store: ArtifactStore, render_key: str, run_dir: Path, run: dict) -> None:
    """A Markdown summary, the topic table and a link to the run's index.html, on the flow run."""
    rendered = store.get("render", render_key, verify=False)
    topics, metrics = rendered.table("topics.parquet"), rendered.json("metrics.json")
    create_markdown_artifact(report.markdown_summary(run, topics, metrics), key="topics-summary", description="Run summary")
    rows = [
        {"topic": int(r.topic), "size": int(r.size), "name": r.name, "terms": " ".join(list(r.terms)[:10])}
        for r in topics.itertuples(index=False)
    ]
    create_table_artifact(rows, key="topics-table", description="Topics of the run")
    index = (Path(run_dir) / "index.html").resolve()
    create_link_artifact(index.as_uri(), link_text=f"Run {run['run_id']}: index.html", key="topics-report")


def record_llm_outcome(store: ArtifactStore, label_key: str, manifest: Manifest, logger) -> None:
    """Put the LLM labelling outcome (client, counts, per-topic failures) in the manifest."""
    meta = store.get("label", label_key, verify=False).meta
    outcome = {k: meta.get(k) for k in ("client", "n_labelled", "failures", "n_calls", "n_cached", "seconds")}
    manifest.update(llm=outcome)
    if outcome["failures"]:
        logger.warning(
            "LLM labels failed for %d topic(s); they keep their c-TF-IDF names (see manifest.json 'llm')",
            len(outcome["failures"]),
        )


def refused(logger, exc: BaseException) -> State:
    """End the flow run as Failed with the reason in one line (no traceback)."""
    reason = error_line(exc)
    logger.error("run refused: %s", reason)
    return Failed(message=reason)


def report_adjustments(manifest: Manifest, adjustments: list[dict], logger) -> None:
    """Log each setting applied with another value than given and add it to the manifest."""
    for item in adjustments:
        logger.warning("%s=%s is applied as %s: %s", item["key"], item["given"], item["used"], item["reason"])
    if adjustments:
        manifest.update(adjustments=[*manifest.data.get("adjustments", []), *adjustments])


@flow(name="topic-pipeline")
def topic_pipeline(
    input: str | None = None,
    config: str | None = None,
    overrides: list[str] | None = None,
    out: str | None = None,
    refresh: list[str] | None = None,
    no_cache: bool = False,
    run_name: str | None = None,
    reference: str | None = None,
) -> str:
    """Turn a corpus into topics; returns the run directory. Settings or input that cannot
    give a run end the flow run ``Failed`` with the reason as its one-line message (and a
    ``failed`` manifest once the run directory exists).

    Parameters
    ----------
    input : corpus file (Parquet, CSV or JSONL); the embedded default corpus when omitted
    config : YAML settings file; defaults when omitted
    overrides : ``section.key=value`` items applied over the file
    out : run directory to create instead of ``<output.root>/<run_id>``
    refresh : stages to recompute (with everything downstream of them) even if cached
    no_cache : use a throwaway store, so nothing is read from or left in the cache
    run_name : a label for the run, kept in its manifest
    reference : a completed earlier run directory to compare with (``reference.mode``:
        ``assign`` new documents to its topics, or ``refit`` and match); adds ``drift.json``
        and ``drift.html``
    """
    logger = get_run_logger()
    # Wrong settings or input end the flow run as Failed with one line, not a traceback: a
    # scheduled run's log then says what to fix.
    try:
        settings = load_config(config, overrides or ())
        preflight.check_settings(settings, reference)
        input_path, corpus_config = resolve_input(input, settings.corpus)
        settings = settings.model_copy(update={"corpus": corpus_config})
        refreshed = stages.with_downstream(refresh or [])
        llm = settings.represent.llm
        if llm.enabled and llm.provider == "local":
            local_model_path(llm)  # a missing model is a settings error: say so before any work
        reference_dir = None
        if reference:
            load_reference(reference)  # a clear error before any work when it cannot serve
            reference_dir = str(Path(reference).resolve())
        run_id, run_dir = create_run_dir(settings.output.root, out)
    except (ConfigError, CorpusError, ValueError, OSError) as exc:
        return refused(logger, exc)
    temp_cache = tempfile.mkdtemp(prefix="topics-nocache-") if no_cache or not settings.cache.enabled else None
    cache_dir = temp_cache or settings.cache.dir
    manifest = Manifest(
        run_dir,
        run_id,
        run_name=run_name,
        flow_run_id=str(flow_run.get_id() or ""),
        # Absolute: `topics runs` and the report are read from other folders than the run's.
        input=os.path.abspath(input_path),
        input_sha256=file_fingerprint(input_path) if Path(input_path).is_file() else None,
        cache_dir=None if temp_cache else str(Path(cache_dir).resolve()),
        config=settings.model_dump(mode="json"),
        reference=reference_dir,
    )
    logger.info("run %s -> %s", run_id, run_dir)

    plan = RunPlan(settings, str(input_path), reference_dir)
    keys: dict[str, str] = {}
    execution = settings.execution
    if execution.task_runner == "local" and execution.dask_address:
        logger.warning("execution.dask_address is not used: execution.task_runner is local")
    chunks = DaskChunks(execution, cache_dir) if execution.task_runner == "dask" else None

    background: dict = {}  # stage name -> the Prefect future of a stage running beside the others

    def step(name: str) -> str | None:
        for waiting in [b for b in waits_before(name) if b in background]:
            join(waiting)
        manifest.stage_started(name)
        refresh_stage, chunk_totals = name in refreshed, {}
        if chunks is None and runs_in_background(plan, name, ArtifactStore(cache_dir), dict(keys), refresh_stage):
            # Its UMAP work runs in worker processes; clustering and terms go on meanwhile.
            logger.info("%-9s started beside the next stages (its UMAP work runs in worker processes)", name)
            background[name] = tasks.stage_task_named(name).submit(cache_dir, plan, name, dict(keys), refresh=refresh_stage)
            return None
        if chunks is not None:
            # The stage's chunk jobs run on the workers first; the stage then only assembles.
            phases = chunk_phases(plan, name, ArtifactStore(cache_dir), dict(keys), refresh=refresh_stage)
            if phases:
                chunk_totals = chunks.run(phases)
                refresh_stage = False  # chunk_phases discarded what the refresh replaces
        result = tasks.stage_task_named(name)(cache_dir, plan, name, dict(keys), refresh=refresh_stage)
        return finish(name, result, chunk_totals)

    def finish(name: str, result: dict, chunk_totals: dict) -> str:
        if "encoded" in chunk_totals:  # the workers encoded these; the stage found them stored
            result["reused"] = max(0, result.get("reused", 0) - chunk_totals["encoded"])
        result.update(chunk_totals)
        report_adjustments(manifest, result.pop("adjustments", []), logger)
        manifest.stage_finished(result)
        details = " ".join(f"{k}={v}" for k, v in result.items() if k not in ("name", "key", "hit", "seconds", "note"))
        logger.info("%-9s %s in %.1f s (%s)%s", name, "hit " if result["hit"] else "computed", result["seconds"], result["key"][:12],
                    f" {details}" if details else "")
        keys[name] = result["key"]
        return result["key"]

    def join(name: str) -> None:  # wait for a stage running beside the others, then record it
        manifest.stage_started(name)
        finish(name, background.pop(name).result(), {})

    def settle_background(exc: Exception) -> None:
        # A stage failed while the map ran beside it: the map does not depend on the failed
        # stage, so let it finish and keep its entry (a re-run reuses it) rather than leave
        # worker processes behind; the manifest lists it among the finished stages and still
        # names the stage the run failed in.
        failed_in = manifest.data.get("current_stage")
        for name in list(background):
            logger.warning("%s; waiting for %s, running beside, to finish (its result is kept for a re-run)",
                           error_line(exc), name)
            try:
                join(name)
            except Exception as also:  # noqa: BLE001 - the first failure is the run's error
                logger.warning("%-9s failed too: %s", name, error_line(also))
        manifest.update(current_stage=failed_in)

    try:
        try:
            if not Path(input_path).is_file():
                raise CorpusError(f"input file not found: {input_path}")
            if not temp_cache:
                preflight.check_writable(cache_dir, "cache.dir")
            corpus = step("load")
            adjustments = preflight.check_loaded_corpus(ArtifactStore(cache_dir), corpus, settings)
        except (CorpusError, PreflightError) as exc:
            manifest.failed(exc)
            return refused(logger, exc)
        report_adjustments(manifest, [a.as_dict() for a in adjustments], logger)
        if plan.assigning and settings.refine != RefineConfig():
            logger.warning("refine.* settings are not applied when assigning to a reference (reference.mode=assign)")
        # The stage graph is topics.stage_graph's; the flow only runs each stage as a task.
        for name in plan.stages()[1:]:
            step(name)
            if name == "label" and settings.represent.llm.enabled:
                record_llm_outcome(ArtifactStore(cache_dir), keys["label"], manifest, logger)
        labels_stage = plan.labels_stage
        labels_key, represented, rendered = keys[labels_stage], keys["represent"], keys["render"]
        summary = stages.publish(
            ArtifactStore(cache_dir), run_dir, corpus, labels_key, represented, rendered, manifest.data, labels_stage,
        )
        manifest.completed(**summary)
        if summary["n_topics"] == 0:
            logger.warning("no topic was found: %s", report.no_topic_reason(manifest.data))
        try:
            publish_prefect_artifacts(ArtifactStore(cache_dir), rendered, run_dir, manifest.data)
        except Exception as exc:  # noqa: BLE001 - the run's outputs are complete; artifacts are a convenience
            logger.warning("could not create the Prefect artifacts: %s", exc)
    except ConfigError as exc:  # execution.* could not serve (no scheduler, no worker)
        settle_background(exc)
        manifest.failed(exc)
        return refused(logger, exc)
    except BaseException as exc:
        if isinstance(exc, Exception):  # not on an interrupt or a cancellation
            settle_background(exc)
        manifest.failed(exc)
        raise
    finally:
        if chunks is not None:
            chunks.close()
        if temp_cache:
            shutil.rmtree(temp_cache, ignore_errors=True)
    logger.info("completed: %s", run_dir)
    return str(run_dir)
