"""The Prefect task that runs one pipeline stage: a thin call into
:meth:`topics.stage_graph.RunPlan.call`.

Tasks pass the cache directory and entry keys, never arrays: Prefect pickles and hashes task
inputs and results, and large arrays live in the artifact store. Prefect's own result cache
is off (``NO_CACHE``): the artifact store is the cache. Each stage's task runs under the
stage's name (``load``, ``embed``, ...), so the Prefect UI lists one task per stage.
"""

from __future__ import annotations

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

from topics.artifacts import ArtifactStore
from topics.stage_graph import RunPlan


@task(name="stage", cache_policy=NO_CACHE)
def stage_task(cache_dir: str, plan: RunPlan, name: str, keys: dict[str, str], refresh: bool = False) -> dict:
    return plan.call(name, ArtifactStore(cache_dir), keys, refresh).as_dict()


def stage_task_named(name: str) -> Task:
    """:func:`stage_task` under the stage's own name."""
    return stage_task.with_options(name=name)
