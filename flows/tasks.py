"""The Prefect tasks: one runs a pipeline stage (a thin call into
:meth:`topics.stage_graph.RunPlan.call`), the other one chunk job of a stage's work (with
``execution.task_runner: dask``, on a Dask worker).

Tasks pass the cache directory and entry keys, never arrays: Prefect pickles and hashes task
inputs and results, and large arrays live in the artifact store. Prefect's own result cache
is off (``NO_CACHE``): the artifact store is the cache. Each stage's task runs under the
stage's name (``load``, ``embed``, ...), so the Prefect UI lists one task per stage.
"""

from __future__ import annotations

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

from topics.artifacts import ArtifactStore
from topics.chunk_work import ChunkJob
from topics.stage_graph import RunPlan


@task(name="stage", cache_policy=NO_CACHE)
def stage_task(cache_dir: str, plan: RunPlan, name: str, keys: dict[str, str], refresh: bool = False) -> dict:
    return plan.call(name, ArtifactStore(cache_dir), keys, refresh).as_dict()


def stage_task_named(name: str) -> Task:
    """:func:`stage_task` under the stage's own name."""
    return stage_task.with_options(name=name)


@task(name="chunk", cache_policy=NO_CACHE)
def chunk_task(cache_dir: str, job: ChunkJob) -> dict:
    """One chunk job (see :mod:`topics.chunk_work`), run where the task runner puts it."""
    return job.run(cache_dir)


def chunk_task_named(name: str) -> Task:
    """:func:`chunk_task` under the job's own name, e.g. ``embed chunk 3 of 12``."""
    return chunk_task.with_options(name=name)
