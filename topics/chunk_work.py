"""Chunk jobs: the units of a stage's work that can run anywhere the artifact store is.

A :class:`ChunkJob` is a module-level function and picklable arguments (entry keys, settings,
row indices), never arrays. It reads its inputs from the store and commits its result there
as an entry of its own, so running a job twice, or on two machines at once, leaves one
equivalent entry, and a job lost with its worker is simply run again. The stage itself then
finds every chunk committed and only assembles.

:func:`topics.stage_graph.chunk_phases` lists a stage's jobs; a local run never calls them
through here (its stages run the same functions in their own loop).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from topics.artifacts import ArtifactStore

# Worker-death test hook: when this names a directory, the first job to start there writes its
# process id to ``<dir>/paused`` and sleeps (to be killed); every later job runs normally.
PAUSE_IN_JOB_ENV = "TOPICS_TEST_PAUSE_IN_JOB"


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of a stage's work.

    Parameters
    ----------
    name : what the job does, for task names and logs, e.g. ``"embed chunk 3 of 12"``
    function : a module-level function ``function(store, *args)``; its return value (a small
        JSON-serialisable dict) is the job's result
    args : its picklable arguments after the store
    """

    name: str
    function: Callable[..., dict]
    args: tuple[Any, ...] = field(default_factory=tuple)

    def run(self, cache_dir: str) -> dict:
        """Run the job against the store at ``cache_dir``; returns its result with ``seconds``."""
        started = time.perf_counter()
        _pause_for_tests()
        result = self.function(ArtifactStore(cache_dir), *self.args) or {}
        return {**result, "seconds": round(time.perf_counter() - started, 3)}


def _pause_for_tests() -> None:
    folder = os.environ.get(PAUSE_IN_JOB_ENV)
    if not folder:
        return
    try:
        fd = os.open(Path(folder) / "paused", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
