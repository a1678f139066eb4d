"""UMAP above ``fit_sample`` as chunk jobs: fit on the sample once, place the rest in chunks.

Above ``fit_sample`` documents a reduction (``reduce`` or ``project``) has two phases, each
job committing its result to the artifact store as an entry of its own:

1. :func:`fit_sample` fits UMAP on the seeded sample (:func:`topics.reduce.fit_sample_rows`)
   and commits ``umap-fit/<stage key>``: ``model.pkl`` (the pickled ``umap.UMAP``),
   ``rows.npy`` int64 (the sampled rows) and ``fitted.npy`` float32 (their coordinates);
2. :func:`place_chunk` places one chunk of :func:`topics.reduce.transform_chunks` with
   ``UMAP.transform`` and commits ``umap-place/<stage key>-<chunk>``: ``coordinates.npy``.

A local run runs the phases inside the stage (:func:`reduce_in_chunks`), in worker processes
on this machine: the fit in one, the chunks in a pool of them (seeded UMAP is single-threaded,
so each core places its own chunks; measured in the README's "Large corpora"), while the
stage's own process only waits, free for a stage running beside it. A Dask run runs them on
the workers first (:func:`phases`), and the stage then only assembles.
The pickled model transforms bit for bit as the fitted one, so both give the same
coordinates as :func:`topics.reduce.reduce` in memory.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np

from topics import reduce as reduce_mod
from topics.artifacts import ArtifactStore, EntryWriter, stable_key
from topics.chunk_work import ChunkJob, run_in_processes
from topics.config import ProjectConfig, ReduceConfig

FIT_STAGE = "umap-fit"
PLACE_STAGE = "umap-place"

UmapConfig = ReduceConfig | ProjectConfig


def _embeddings(store: ArtifactStore, embed_key: str) -> np.ndarray:
    return store.get("embed", embed_key, verify=False).array("embeddings.npy")


def _sample_rows(n_docs: int, config: UmapConfig) -> np.ndarray | None:
    return reduce_mod.fit_sample_rows(n_docs, config.fit_sample, config.random_state)


def place_key(key: str, index: int) -> str:
    """The ``umap-place`` entry of chunk ``index`` (1-based) of the reduction ``key``."""
    return stable_key(PLACE_STAGE, key, index)


def phases(stage: str, store: ArtifactStore, embed_key: str, config: UmapConfig, key: str) -> list[list[ChunkJob]]:
    """The reduction's chunk jobs not yet committed, in phases (a phase's jobs are independent;
    each phase needs the one before). Empty at or below ``fit_sample`` documents, where the
    stage fits every document at once, and when everything is committed."""
    n_docs = len(_embeddings(store, embed_key))
    rows = _sample_rows(n_docs, config)
    if rows is None:
        return []
    fit = [] if store.has(FIT_STAGE, key) else [
        ChunkJob(f"{stage} fit on {len(rows)} documents", fit_sample, (stage, embed_key, config, key)),
    ]
    # The chunk size travels with the job: a worker process sees only the module's default.
    size = reduce_mod.TRANSFORM_CHUNK
    chunks = reduce_mod.transform_chunks(n_docs, rows, size)
    place = [
        ChunkJob(f"{stage} place chunk {i} of {len(chunks)}", place_chunk, (stage, embed_key, config, key, i, size))
        for i in range(1, len(chunks) + 1) if not store.has(PLACE_STAGE, place_key(key, i))
    ]
    return [phase for phase in (fit, place) if phase]


def fit_sample(store: ArtifactStore, stage: str, embed_key: str, config: UmapConfig, key: str) -> dict:
    """Phase 1: fit UMAP on the seeded sample and commit ``umap-fit/<key>``; returns
    ``{"fitted": n}`` (0 when the entry was already committed)."""
    with store.lock(FIT_STAGE, key):
        if store.has(FIT_STAGE, key):
            return {"fitted": 0}
        embeddings = _embeddings(store, embed_key)
        rows = _sample_rows(len(embeddings), config)
        if rows is None:
            raise ValueError(f"{stage}: {len(embeddings)} documents are not above fit_sample={config.fit_sample}")
        # Only the sample is copied out of the memory-mapped matrix.
        fitted, model = reduce_mod.fit_model(np.asarray(embeddings[rows], dtype=np.float32), config)

        def fill(writer: EntryWriter) -> dict:
            writer.bytes("model.pkl", pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
            writer.array("rows.npy", rows)
            writer.array("fitted.npy", fitted)
            return {"stage": stage, "n_fitted": int(len(rows)), "n_docs": int(len(embeddings))}

        store.put(FIT_STAGE, key, fill)
    return {"fitted": int(len(rows))}


@functools.lru_cache(maxsize=2)
def _fitted_model(cache_dir: str, key: str):
    # Each worker process unpickles a fitted model once, not once per chunk.
    return pickle.loads(ArtifactStore(cache_dir).get(FIT_STAGE, key).file("model.pkl").read_bytes())


def place_chunk(store: ArtifactStore, stage: str, embed_key: str, config: UmapConfig, key: str, index: int,
                size: int | None = None) -> dict:
    """Phase 2: place chunk ``index`` (1-based) of the chunks of ``size`` documents (default
    :data:`topics.reduce.TRANSFORM_CHUNK`) with the fitted model and commit
    ``umap-place/<key>-<index>``; returns ``{"placed": n}`` (0 when already committed).

    Raises
    ------
    KeyError
        If phase 1's entry is missing.
    """
    entry_key = place_key(key, index)
    if store.has(PLACE_STAGE, entry_key):
        return {"placed": 0}
    embeddings = _embeddings(store, embed_key)
    rows = store.get(FIT_STAGE, key, verify=False).array("rows.npy", mmap=False)
    chunk = reduce_mod.transform_chunks(len(embeddings), rows, size)[index - 1]
    coordinates = reduce_mod.place(_fitted_model(str(store.root), key), np.asarray(embeddings[chunk], dtype=np.float32))
    store.put(PLACE_STAGE, entry_key, lambda writer: writer.array("coordinates.npy", coordinates))
    return {"placed": int(len(chunk))}


def discard(store: ArtifactStore, embed_key: str, config: UmapConfig, key: str) -> None:
    """Remove the reduction's fit and place entries, so they are computed again (``--refresh``)."""
    n_docs = len(_embeddings(store, embed_key))
    rows = _sample_rows(n_docs, config)
    if rows is None:
        return
    store.discard(FIT_STAGE, key)
    for index in range(1, len(reduce_mod.transform_chunks(n_docs, rows)) + 1):
        store.discard(PLACE_STAGE, place_key(key, index))
    _fitted_model.cache_clear()


def reduce_in_chunks(stage: str, store: ArtifactStore, embed_key: str, config: UmapConfig, key: str, out_path: Path,
                     refresh: bool = False, processes: int = 1) -> dict:
    """Reduce above ``fit_sample``: run the phases not yet committed (with ``processes`` > 1,
    the fit in a worker process and the chunks in up to ``processes`` of them, see
    :func:`topics.chunk_work.run_in_processes`; else here), then assemble the float32
    (n_docs, n_components) coordinates, in corpus order, into the ``.npy`` file ``out_path``
    (memory-mapped, so no second full copy is held).

    Returns ``{"worker_processes": n, "worker_rss_mib": peak}`` when jobs ran in worker
    processes (the most at once, and the largest worker's peak resident memory), else ``{}``.
    The coordinates are the same whatever ``processes`` is: the fit is seeded, and each chunk
    is placed alone, by the same model.
    """
    if refresh:
        discard(store, embed_key, config, key)
    report: dict = {}
    for phase in phases(stage, store, embed_key, config, key):
        results = run_in_processes(phase, str(store.root), processes, single_here=False)
        peaks = [result["worker_rss_mib"] for result in results if "worker_rss_mib" in result]
        if peaks:
            report = {"worker_processes": max(report.get("worker_processes", 0), min(processes, len(phase))),
                      "worker_rss_mib": max([report.get("worker_rss_mib", 0), *peaks])}
    fit = store.get(FIT_STAGE, key)
    rows, fitted = fit.array("rows.npy", mmap=False), fit.array("fitted.npy")
    n_docs = len(_embeddings(store, embed_key))
    out = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.float32, shape=(n_docs, fitted.shape[1]))
    out[rows] = fitted
    for index, chunk in enumerate(reduce_mod.transform_chunks(n_docs, rows), 1):
        out[chunk] = store.get(PLACE_STAGE, place_key(key, index)).array("coordinates.npy")
    out.flush()
    del out
    return report
