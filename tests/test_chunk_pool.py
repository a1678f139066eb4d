"""Chunk jobs in worker processes (topics.chunk_work.run_in_processes): results in job order,
each from its own process, and a failing job's error raised in the caller."""

import os

import numpy as np
import pytest

from topics.chunk_work import ChunkJob, _cgroup_cpu_quota, available_cores, peak_rss_mib, run_in_processes


def _report(store, value: int) -> dict:
    # A job runs in a spawned worker: it reports where it ran and what it was given.
    return {"value": value, "pid": os.getpid(), "root": str(store.root)}


def _fail_on(store, value: int) -> dict:
    if value == 2:
        raise ValueError(f"chunk {value} is broken")
    return {"value": value}


def test_jobs_run_in_worker_processes_in_order(tmp_path):
    held = np.ones(40_000_000)  # 320 MB here, which a worker's own peak must not count
    jobs = [ChunkJob(f"job {i}", _report, (i,)) for i in range(5)]
    results = run_in_processes(jobs, str(tmp_path), processes=2)
    assert [r["value"] for r in results] == list(range(5))
    assert {r["root"] for r in results} == {str(tmp_path)}
    pids = {r["pid"] for r in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert all(r["seconds"] >= 0 for r in results)
    # Each worker's own peak: a fresh interpreter, below this test process's (which holds pytest
    # and numpy), not the parent's memory that a forked-then-exec'd child's ru_maxrss reports.
    assert all(0 < r["worker_rss_mib"] < peak_rss_mib() - 250 for r in results)
    del held


def test_one_process_or_one_job_runs_here(tmp_path):
    for jobs, processes in (([ChunkJob("a", _report, (1,)), ChunkJob("b", _report, (2,))], 1), ([ChunkJob("a", _report, (1,))], 4)):
        results = run_in_processes(jobs, str(tmp_path), processes)
        assert {r["pid"] for r in results} == {os.getpid()}
        assert all("worker_rss_mib" not in r for r in results)


def test_a_failing_job_raises_here(tmp_path):
    jobs = [ChunkJob(f"job {i}", _fail_on, (i,)) for i in range(4)]
    with pytest.raises(ValueError, match="chunk 2 is broken"):
        run_in_processes(jobs, str(tmp_path), processes=2)


def test_available_cores():
    assert 1 <= available_cores() <= (os.cpu_count() or 1)


def test_a_container_cpu_limit_caps_the_cores(tmp_path):
    """A CPU quota (cgroup v2 cpu.max, or v1 cfs files) limits the processes a local run starts,
    rounded up; no quota, or an unreadable one, leaves the affinity mask's count."""
    v2 = tmp_path / "v2"
    v2.mkdir()
    for text, expected in (("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1), ("max 100000", None), ("", None)):
        (v2 / "cpu.max").write_text(text)
        assert _cgroup_cpu_quota(v2) == expected
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_period_us").write_text("100000")
    for quota, expected in (("300000", 3), ("-1", None)):
        (v1 / "cpu.cfs_quota_us").write_text(quota)
        assert _cgroup_cpu_quota(v1.parent) == expected
    assert _cgroup_cpu_quota(tmp_path / "absent") is None
