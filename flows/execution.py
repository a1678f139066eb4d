"""Chunk jobs on Dask: prefect-dask's ``DaskTaskRunner`` for ``execution.task_runner: dask``.

The flow asks :func:`topics.stage_graph.chunk_phases` for each stage's chunk jobs and hands
them to :class:`DaskChunks`, which submits each job as a Prefect task named after it, waits
for each phase, and returns. The stage task then finds every chunk committed and assembles.
A worker that dies mid-job loses nothing committed: Dask runs its job again elsewhere.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator

from topics.chunk_work import ChunkJob
from topics.config import ConfigError
from topics.config_execution import ExecutionConfig

# A scheduler with no worker (or whose workers cannot start) fails the run after this long.
NO_WORKER_S = 120.0
# How long connecting to ``execution.dask_address`` may take.
CONNECT_S = 20.0


def restore_environment(saved: dict[str, str]) -> None:
    """Make ``os.environ`` equal ``saved`` again. distributed's Nanny sets ``OMP_NUM_THREADS=1``
    and others in the process that runs a LocalCluster whenever it (re)starts a worker, and
    never restores them, so every process the flow started later would run on one thread."""
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def kept_environment() -> Iterator[None]:
    """Restore ``os.environ`` as it was on entry, on exit (see :func:`restore_environment`)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        restore_environment(saved)


class DaskChunks:
    """Runs chunk jobs as Prefect tasks on Dask, for one flow run.

    Nothing starts until the first job: a fully cached run starts no cluster. Use as a
    context manager, or call :meth:`close`.

    Parameters
    ----------
    execution : the run's ``execution`` settings (``task_runner: dask``)
    cache_dir : the artifact store every worker reads and writes
    """

    def __init__(self, execution: ExecutionConfig, cache_dir: str):
        self.execution = execution
        self.cache_dir = cache_dir
        self._runner = None
        self._environment = dict(os.environ)  # as before any cluster; restored after each phase

    def __enter__(self) -> "DaskChunks":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _describe(self) -> str:
        e = self.execution
        if e.dask_address:
            return f"the Dask scheduler at execution.dask_address={e.dask_address}"
        return f"a LocalCluster of {e.n_workers} worker(s)"

    def _start(self):
        from prefect_dask import DaskTaskRunner

        e = self.execution
        if e.dask_address:
            runner = DaskTaskRunner(address=e.dask_address, client_kwargs={"timeout": CONNECT_S})
        else:
            # processes: each worker its own interpreter (torch, numba and UMAP hold the GIL);
            # dashboard on any free port, so two runs on one machine do not collide.
            runner = DaskTaskRunner(cluster_kwargs={
                "n_workers": e.n_workers, "threads_per_worker": e.threads_per_worker, "processes": True,
                "dashboard_address": ":0",
            })
        self._environment = dict(os.environ)
        with kept_environment():
            runner.__enter__()
            try:
                client = runner.client  # connects, or starts the LocalCluster
            except (OSError, TimeoutError) as exc:
                runner.__exit__(None, None, None)
                raise ConfigError(f"execution: could not connect to {self._describe()}: {exc}") from None
            try:
                client.wait_for_workers(1, timeout=NO_WORKER_S)
            except TimeoutError:
                runner.__exit__(None, None, None)
                raise ConfigError(
                    f"execution: {self._describe()} has no worker after {NO_WORKER_S:.0f} s "
                    "(are workers started, and can they import this project?)"
                ) from None
        self._runner = runner
        return runner

    def run(self, phases: list[list[ChunkJob]]) -> dict:
        """Run ``phases`` in order, each phase's jobs in parallel; returns ``{"chunk_jobs": n,
        "chunk_seconds": s, "chunk_wall_seconds": w, ...}``: the jobs' own seconds summed, the
        wall seconds until the last finished (a cluster's start included), and the jobs' other
        numeric results summed (e.g. ``encoded``).

        Raises
        ------
        topics.config.ConfigError
            If the scheduler cannot be reached or has no worker.
        Whatever a job raises, after Dask's own retries on other workers.
        """
        from flows.tasks import chunk_task_named

        started = time.perf_counter()
        runner = self._runner or self._start()
        totals: dict = {"chunk_jobs": 0, "chunk_seconds": 0.0}
        for phase in phases:
            futures = [
                runner.submit(chunk_task_named(job.name), parameters={"cache_dir": self.cache_dir, "job": job})
                for job in phase
            ]
            results = [future.result() for future in futures]
            # A worker restarted during the phase (after dying) has changed it again.
            restore_environment(self._environment)
            for result in results:
                totals["chunk_jobs"] += 1
                totals["chunk_seconds"] += result.pop("seconds", 0.0)
                for name, value in result.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        totals[name] = totals.get(name, 0) + value
        totals["chunk_seconds"] = round(totals["chunk_seconds"], 3)
        totals["chunk_wall_seconds"] = round(time.perf_counter() - started, 3)
        return totals

    def close(self) -> None:
        """Disconnect, and stop the LocalCluster if this started one."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            try:
                runner.__exit__(None, None, None)
            finally:
                restore_environment(self._environment)

