"""The stage cache's machinery: stage names, content keys, and reuse-or-compute.


Every stage function takes the store, the keys of its upstream stages and its own settings,
and returns a :class:`StageResult` naming the entry that holds its output. Stages pass keys,
never arrays, so a Prefect task (or a notebook) can chain them cheaply.

A stage's key hashes everything that shapes its output and nothing else:

- the keys (or, for embeddings, the corpus fingerprint) of its inputs,
- its own settings, less those that cannot change the result (batch size, device,
  progress bars),
- for embeddings, the vector space: the model's identity (name plus a digest of its files),
  backend, dtype and ``max_seq_length`` (see :func:`topics.embed.vector_space`),
- the versions of the packages that compute it, and ``CODE_VERSIONS[stage]``, to be
  bumped whenever a change here alters that stage's output.

So changing HDBSCAN settings reuses embed, reduce and project; changing outlier or topic
reduction reuses everything up to cluster; changing the representation chain reuses every
assignment; changing only the LLM settings reuses everything but the labels.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from topics.artifacts import ArtifactStore, CorruptArtifact, EntryWriter, stable_key

logger = logging.getLogger(__name__)

STAGES = ("load", "embed", "reduce", "project", "cluster", "refine", "represent", "label", "evaluate", "render")
# With --reference in assign mode, "assign" takes the place of cluster and refine; "drift"
# compares with the reference in either mode.
REFERENCE_STAGES = {
    "assign": ("load", "embed", "reduce", "project", "assign", "represent", "label", "evaluate", "drift", "render"),
    "refit": ("load", "embed", "reduce", "project", "cluster", "refine", "represent", "label", "evaluate", "drift", "render"),
}
# Every stage, in dependency order. "guide" runs only when guide.* lists topics (see
# topics.guide_stage), "keywords" only with keywords.enabled.
ALL_STAGES = (
    "load", "embed", "guide", "reduce", "project", "cluster", "refine", "assign", "represent", "label", "evaluate", "drift",
    "keywords", "render",
)
CODE_VERSIONS = {
    "load": 1, "embed": 2, "reduce": 1, "project": 1, "cluster": 1, "refine": 4, "assign": 3, "represent": 8, "label": 1,
    "evaluate": 4, "drift": 2, "render": 12, "guide": 1, "keywords": 2,
}
# The segmenters that cut terms out of text (see topics.represent.tokenize).
TOKENIZER_PACKAGES = ("regex", "kiwipiepy", "kiwipiepy-model", "jieba", "sudachipy", "sudachidict-core")
STAGE_PACKAGES = {
    "load": ("pandas", "pyarrow"),
    "embed": ("sentence-transformers", "transformers", "torch"),
    "reduce": ("umap-learn", "pynndescent", "numba", "numpy"),
    "project": ("umap-learn", "pynndescent", "numba", "numpy"),
    "cluster": ("hdbscan", "scikit-learn", "numpy"),
    "refine": ("bertopic", "scikit-learn", *TOKENIZER_PACKAGES),
    "represent": ("bertopic", "scikit-learn", "sentence-transformers", *TOKENIZER_PACKAGES),
    "label": ("openai", "transformers"),
    "assign": ("hdbscan", "numpy"),
    "drift": ("scipy", "numpy"),
    "evaluate": ("gensim", "scikit-learn", *TOKENIZER_PACKAGES),
    # Word vectors come from the vector store, whose space pins the embedding packages.
    "keywords": ("keybert", "scikit-learn", "numpy", *TOKENIZER_PACKAGES),
    "render": ("plotly", "pandas", "pyarrow"),
    "guide": ("numpy",),
}

@dataclass(frozen=True)
class StageResult:
    """Outcome of one stage: its entry key, whether the entry was reused, and seconds spent."""

    name: str
    key: str
    hit: bool
    seconds: float
    note: str | None = None
    # Stage-specific fields of the run's record, e.g. the embed stage's ``reused`` and ``encoded``.
    details: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        record = {k: v for k, v in asdict(self).items() if v is not None and k != "details"}
        record.update(self.details or {})
        return record


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def stage_key(stage: str, inputs: dict[str, Any], settings: dict[str, Any]) -> str:
    """The content key of ``stage`` given its inputs' identities and its result-shaping settings."""
    return stable_key(stage, CODE_VERSIONS[stage], inputs, settings, package_versions(STAGE_PACKAGES[stage]))


# Crash-test hook: when this names a stage, the stage writes its files, then (before they are
# committed) creates the file named by PAUSE_SIGNAL_ENV and waits to be killed.
PAUSE_ENV = "TOPICS_TEST_PAUSE_IN_STAGE"
PAUSE_SIGNAL_ENV = "TOPICS_TEST_PAUSE_SIGNAL"
# Crash-test hook of the embed stage: when this is N, the stage commits its Nth chunk of new
# vectors, then creates the file named by PAUSE_SIGNAL_ENV and waits to be killed.
PAUSE_AFTER_CHUNK_ENV = "TOPICS_TEST_PAUSE_AFTER_CHUNK"


def pause_after_chunk_for_tests(chunks_committed: int) -> None:
    if os.environ.get(PAUSE_AFTER_CHUNK_ENV) != str(chunks_committed):
        return
    Path(os.environ[PAUSE_SIGNAL_ENV]).write_text(f"chunk {chunks_committed}")
    while True:
        time.sleep(0.5)


def _paused_for_tests(stage: str, fill: Callable[[EntryWriter], dict | None]) -> Callable[[EntryWriter], dict | None]:
    if os.environ.get(PAUSE_ENV) != stage:
        return fill

    def fill_then_wait(writer: EntryWriter) -> dict | None:
        meta = fill(writer)
        Path(os.environ[PAUSE_SIGNAL_ENV]).write_text(stage)
        while True:
            time.sleep(0.5)
        return meta  # pragma: no cover - never reached

    return fill_then_wait


def _cached(
    store: ArtifactStore, stage: str, key: str, fill: Callable[[EntryWriter], dict | None], refresh: bool, started: float,
    reusable: Callable[[dict], bool] | None = None,
) -> StageResult:
    """Reuse the entry ``stage/key`` or compute it with ``fill``. ``reusable(meta)`` may refuse
    an existing entry (e.g. labels from failed LLM calls), which is then recomputed."""
    note = None
    # One process computes a key at a time; a concurrent run waits here, then reuses the entry.
    with store.lock(stage, key):
        if not refresh:
            try:
                entry = store.get(stage, key)
                if reusable is None or reusable(entry.meta):
                    return StageResult(stage, key, True, time.perf_counter() - started)
                refresh = True
            except KeyError:
                pass
            except CorruptArtifact as exc:
                # Never load a damaged entry: report it, move it aside, recompute.
                logger.warning("recomputing %s: %s", stage, exc)
                note = f"corrupt entry recomputed: {exc}"
                store.discard(stage, key)
        store.put(stage, key, _paused_for_tests(stage, fill), replace=refresh)
    return StageResult(stage, key, False, time.perf_counter() - started, note)


# Each stage's direct inputs; the flow follows this order.
INPUTS = {
    "load": (),
    "embed": ("load",),
    "guide": ("embed",),
    "reduce": ("embed", "guide"),
    "project": ("embed",),
    "cluster": ("reduce", "guide"),
    "refine": ("load", "embed", "cluster"),
    "assign": ("load", "embed", "reduce"),
    "represent": ("load", "embed", "refine", "assign", "guide"),
    "label": ("load", "represent"),
    "evaluate": ("load", "reduce", "represent"),
    "drift": ("load", "represent", "assign"),
    "keywords": ("load", "embed"),
    "render": ("load", "project", "cluster", "assign", "represent", "label", "evaluate", "drift", "keywords"),
}


def with_downstream(names: list[str] | tuple[str, ...]) -> set[str]:
    """``names`` plus every stage that depends on them, directly or not.

    Raises
    ------
    ValueError
        If a name is not a stage.
    """
    unknown = [name for name in names if name not in INPUTS]
    if unknown:
        raise ValueError(f"unknown stage {', '.join(unknown)} (stages: {', '.join(ALL_STAGES)})")
    chosen = set(names)
    for stage in ALL_STAGES:  # in dependency order
        if any(parent in chosen for parent in INPUTS[stage]):
            chosen.add(stage)
    return chosen
