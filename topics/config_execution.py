"""Where the flow's parallel work runs: the ``execution`` section of the run settings.

Nothing here changes a result, so no execution setting enters a cache key: a run on Dask
reuses what a local run computed, and the other way round.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from topics.config_base import Section

# A scheduler address as distributed accepts it: tcp://host:port, tls://, ucx:// or inproc://,
# or a bare host:port (tcp is assumed).
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx|inproc|ws|wss)://)?[^\s:/]+(?::\d{1,5})?(?:/\S*)?$")


class ExecutionConfig(Section):
    """Where chunked work runs (see "Beyond one machine: Dask" in the README).

    ``task_runner`` ``local`` runs every stage in the flow's process, except that above
    ``fit_sample`` UMAP's fit and ``transform`` chunks run in up to ``processes`` worker
    processes on this machine, and the map beside the stages after it (null: one per
    available core; 1: all in the flow's process, one stage after another). ``dask`` runs the chunk
    jobs (embedding chunks, and UMAP's fit and ``transform`` chunks above ``fit_sample``) as
    Prefect tasks through prefect-dask's ``DaskTaskRunner``: on the scheduler at
    ``dask_address``, or on a ``LocalCluster`` of ``n_workers`` processes with
    ``threads_per_worker`` threads each when no address is given. Workers read and write the
    artifact store, so ``cache.dir`` must be storage every worker reaches.
    """

    task_runner: Literal["local", "dask"] = "local"
    dask_address: str | None = None
    n_workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    processes: int | None = Field(None, ge=1)

    def local_processes(self) -> int:
        """How many worker processes a local run gives UMAP's work above ``fit_sample``: ``processes``,
        or one per core this process may use (:func:`topics.chunk_work.available_cores`)."""
        from topics.chunk_work import available_cores

        return self.processes or available_cores()

    @field_validator("dask_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _ADDRESS.match(value.strip()):
            raise ValueError(f"{value!r} is not a scheduler address (expected e.g. tcp://host:8786)")
        return value.strip()
