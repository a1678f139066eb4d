"""The pipeline's stage graph, defined once: which stages a run has, in what order, and what
each stage is called with.

A :class:`RunPlan` holds a run's settings, input file and reference run. ``plan.stages()``
names the run's stages in dependency order; ``plan.call(name, store, keys)`` runs one of them
against an artifact store, given the entry keys of the stages before it. The Prefect flow
(``flows/topic_pipeline.py``) maps each call onto a task, the benchmarks call them in a loop
(:func:`run_plan`), and any other runner does the same; none of them wires stages itself.

Which stages a run has:

- ``guide`` only when ``guide.*`` lists or seeds topics;
- with a reference run in ``assign`` mode, ``assign`` takes the place of ``cluster`` and
  ``refine``; ``drift`` runs whenever there is a reference run;
- ``keywords`` only with ``keywords.enabled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from topics import embed_stage, guide_stage, reduce_chunks, stages
from topics import reduce as reduce_mod
from topics.artifacts import ArtifactStore
from topics.chunk_work import ChunkJob
from topics.config import RunConfig
from topics.stage_cache import StageResult


@dataclass(frozen=True)
class RunPlan:
    """One run's stage graph.

    Parameters
    ----------
    settings : the run's validated settings
    input_path : the corpus file
    reference_dir : a completed earlier run to compare with (``--reference``), or None
    """

    settings: RunConfig
    input_path: str
    reference_dir: str | None = None

    @property
    def assigning(self) -> bool:
        """Whether new documents are assigned to a reference run's topics (no clustering)."""
        return self.reference_dir is not None and self.settings.reference.mode == "assign"

    @property
    def labels_stage(self) -> str:
        """The stage whose ``labels.npy`` holds the final topic of each document."""
        return "assign" if self.assigning else "refine"

    def stages(self) -> tuple[str, ...]:
        """The run's stages, in dependency order (each after all of its inputs)."""
        s = self.settings
        names = ["load", "embed", *(["guide"] if s.guide.active() else []), "reduce", "project"]
        names += ["assign"] if self.assigning else ["cluster", "refine"]
        names += ["represent", "label", "evaluate"]
        names += ["drift"] if self.reference_dir else []
        names += ["keywords"] if s.keywords.enabled else []
        return (*names, "render")

    def call(self, name: str, store: ArtifactStore, keys: dict[str, str], refresh: bool = False) -> StageResult:
        """Run (or reuse) stage ``name``.

        Parameters
        ----------
        name : one of :meth:`stages`
        store : the artifact store
        keys : entry keys of the stages already run, by stage name
        refresh : recompute even if the entry exists

        Raises
        ------
        KeyError
            If ``name`` is not a stage of this plan, or one of its inputs has no key yet.
        Whatever the stage raises (settings and input errors are ``ValueError``).
        """
        if name not in self.stages():
            raise KeyError(f"{name} is not a stage of this run (its stages: {', '.join(self.stages())})")
        s, k = self.settings, keys.get
        guide_key = k("guide")
        calls: dict[str, Callable[[], StageResult]] = {
            "load": lambda: stages.load(store, self.input_path, s.corpus, refresh),
            "embed": lambda: stages.embed(store, keys["load"], s.embed, refresh),
            "guide": lambda: stages.guide(store, keys["embed"], s.guide, s.embed, refresh),
            "reduce": lambda: stages.reduce(store, keys["embed"], s.reduce, refresh, guide_key, s.execution.local_processes()),
            "project": lambda: stages.project(store, keys["embed"], s.project, refresh, s.execution.local_processes()),
            "assign": lambda: stages.assign(
                store, keys["load"], keys["embed"], keys["reduce"], self.reference_dir, s.reference, s.cluster, refresh,
            ),
            "cluster": lambda: stages.cluster(store, keys["reduce"], s.cluster, refresh, guide_key),
            "refine": lambda: stages.refine(store, keys["load"], keys["embed"], keys["cluster"], s.refine, s.represent, refresh),
            "represent": lambda: stages.represent(
                store, keys["load"], keys["embed"], keys[self.labels_stage], s.represent, s.embed, refresh, self.labels_stage,
                guide_key,
            ),
            "label": lambda: stages.label(store, keys["load"], keys["represent"], s.represent.llm, refresh),
            "evaluate": lambda: stages.evaluate(store, keys["load"], keys["reduce"], keys["represent"], s.represent, refresh),
            "drift": lambda: stages.drift(
                store, keys["load"], keys["represent"], self.reference_dir, s.reference, k("assign"), refresh,
            ),
            "keywords": lambda: stages.keywords(store, keys["load"], keys["embed"], s.keywords, s.embed, s.represent, refresh),
            "render": lambda: stages.render(
                store, keys["load"], keys["project"], k("cluster"), keys["represent"], keys["label"], keys["evaluate"], s.render,
                refresh, k("assign"), k("drift"), k("keywords"),
            ),
        }
        return calls[name]()


def chunk_phases(plan: RunPlan, name: str, store: ArtifactStore, keys: dict[str, str],
                 refresh: bool = False) -> list[list[ChunkJob]]:
    """Stage ``name``'s work that can be spread over workers, as chunk jobs not yet done, in
    phases (see :mod:`topics.chunk_work`): a phase's jobs are independent, and each phase needs
    the one before. After they have run, ``plan.call(name, ...)`` only assembles.

    - ``embed``: one job per ``embed.chunk_size`` texts with no stored vector;
    - ``reduce`` and ``project`` above ``fit_sample`` documents: the fit on the sample, then
      one job per ``UMAP.transform`` chunk (not the guided reduction, which fits whole);
    - every other stage, and any stage whose entry is already committed: none.

    With ``refresh`` the stage's entry and its chunk entries are discarded first, so the jobs
    compute them again (then call the stage without ``refresh``).
    """
    s = plan.settings
    if name == "embed":
        return [jobs] if (jobs := embed_stage.chunk_jobs(store, keys["load"], s.embed)) else []
    if name not in ("reduce", "project"):
        return []
    if name == "reduce" and guide_stage.guide_meta(store, keys.get("guide"))["seeded"]:
        return []
    config = s.reduce if name == "reduce" else s.project
    key = stages.reduction_key(name, store, keys["embed"], config)
    if refresh:
        store.discard(name, key)
        reduce_chunks.discard(store, keys["embed"], config, key)
    elif store.has(name, key):
        return []
    return reduce_chunks.phases(name, store, keys["embed"], config, key)


# A stage that only a later stage reads, so it may run beside the stages in between: the map
# (``project``) is read only by ``render``. Name -> the stage that must wait for it.
BACKGROUND = {"project": "render"}


def waits_before(name: str) -> tuple[str, ...]:
    """The background stages that must have finished before stage ``name`` starts."""
    return tuple(stage for stage, before in BACKGROUND.items() if before == name)


def runs_in_background(plan: RunPlan, name: str, store: ArtifactStore, keys: dict[str, str], refresh: bool = False) -> bool:
    """Whether a local run should start stage ``name`` beside the stages after it (and wait
    for it before :data:`BACKGROUND`'s stage): a background stage with UMAP work to do (not
    stored, or ``refresh``) above ``fit_sample``, and more than one local process, so that its
    fit and ``transform`` chunks run in worker processes while this process clusters and
    describes topics. Below ``fit_sample`` UMAP would run in this process and hold its
    interpreter lock: no gain. Reads the store only."""
    execution = plan.settings.execution
    if name not in BACKGROUND or execution.task_runner != "local" or execution.local_processes() < 2:
        return False
    config = plan.settings.project if name == "project" else plan.settings.reduce
    n_docs = len(store.get("embed", keys["embed"], verify=False).array("embeddings.npy"))
    if reduce_mod.fit_sample_rows(n_docs, config.fit_sample, config.random_state) is None:
        return False
    return refresh or not store.has(name, stages.reduction_key(name, store, keys["embed"], config))


def run_plan(plan: RunPlan, store: ArtifactStore, refresh: set[str] | frozenset[str] = frozenset(),
             on_result: Callable[[StageResult], None] | None = None) -> dict[str, str]:
    """Run every stage of ``plan`` in this process, in order, except that a stage
    :func:`runs_in_background` runs in a thread beside the ones after it; returns the entry
    key of each stage by name. ``refresh`` names stages to recompute; ``on_result`` sees each
    result as it comes (e.g. to print timings)."""
    from concurrent.futures import Future, ThreadPoolExecutor

    keys: dict[str, str] = {}
    background: dict[str, Future] = {}

    def finish(result: StageResult) -> None:
        keys[result.name] = result.key
        if on_result is not None:
            on_result(result)

    with ThreadPoolExecutor(max_workers=len(BACKGROUND), thread_name_prefix="stage") as threads:
        for name in plan.stages():
            for waiting in [b for b in waits_before(name) if b in background]:
                finish(background.pop(waiting).result())
            if runs_in_background(plan, name, store, keys, name in refresh):
                background[name] = threads.submit(plan.call, name, store, dict(keys), name in refresh)
                continue
            finish(plan.call(name, store, keys, refresh=name in refresh))
    return keys
