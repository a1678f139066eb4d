"""Chunk jobs: the units of a stage's work that can run anywhere the artifact store is.

A :class:`ChunkJob` is a module-level function and picklable arguments (entry keys, settings,
row indices), never arrays. It reads its inputs from the store and commits its result there
as an entry of its own, so running a job twice, or on two machines at once, leaves one
equivalent entry, and a job lost with its worker is simply run again. The stage itself then
finds every chunk committed and only assembles.

:func:`topics.stage_graph.chunk_phases` lists a stage's jobs for a task runner. A local run
calls the same functions from inside its stages, and spreads a phase over this machine's cores
with :func:`run_in_processes` where the work is single-threaded (seeded UMAP's ``transform``).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
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


def available_cores() -> int:
    """The CPU cores this process may use: its affinity mask (a container's CPU set), capped
    by a cgroup CPU quota (a container's CPU limit, which the mask does not show: a pod
    limited to 2 CPUs on a 64-core node may use 2), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, quota) if quota else cores)


def _cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    # cgroup v2 "max 100000" or "200000 100000"; v1 cfs_quota_us -1 when unlimited.
    try:
        text = (root / "cpu.max").read_text().split()
        if text and text[0] != "max":
            return max(1, -(-int(text[0]) // int(text[1])))
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota > 0 and period > 0:
            return max(1, -(-quota // period))
    except (OSError, ValueError):
        pass
    return None


def peak_rss_mib() -> float:
    """This process's peak resident memory, MiB: ``VmHWM`` from ``/proc/self/status``, which
    starts afresh at ``exec`` (a spawned worker's ``ru_maxrss`` also counts the parent's memory
    it was forked with); ``ru_maxrss`` where there is no ``/proc``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _run_in_worker(job: ChunkJob, cache_dir: str) -> dict:
    result = job.run(cache_dir)
    return {**result, "worker_rss_mib": peak_rss_mib()}


def run_in_processes(jobs: list[ChunkJob], cache_dir: str, processes: int, single_here: bool = True) -> list[dict]:
    """Run independent ``jobs`` against the store at ``cache_dir`` in up to ``processes``
    fresh worker processes (``spawn``: no forked numba or BLAS thread state), in parallel;
    returns their results in ``jobs``' order, each with ``seconds`` and ``worker_rss_mib``
    (the worker's peak resident memory, MiB).

    With ``processes <= 1``, or one job and ``single_here``, they run here, one after another
    (results without ``worker_rss_mib``): a pool's start (imports, model loads) would cost more
    than it saves. ``single_here=False`` sends a lone job to a worker anyway, so that this
    process (and its interpreter lock) stays free for work beside it.

    Raises
    ------
    Whatever a job raises (the first failure, after the jobs already running have finished;
    the jobs that completed have committed their entries, so a re-run skips them).
    """
    if processes <= 1 or (len(jobs) <= 1 and single_here):
        return [job.run(cache_dir) for job in jobs]
    processes = min(processes, len(jobs))
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(_run_in_worker, job, cache_dir) for job in jobs]
        return [future.result() for future in futures]
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # the queued jobs never start
        raise
    finally:
        pool.shutdown(wait=True)
