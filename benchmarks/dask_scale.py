"""The flow on a 2-worker Dask LocalCluster against the same flow run locally, on 63k real
documents, with the reduction above ``fit_sample`` split into chunk jobs.

    .venv/bin/python benchmarks/dask_scale.py [--docs 63000] [--fit-sample 20000] [--workers 2]

Both runs are whole ``topic-pipeline`` flow runs (an ephemeral Prefect server; its start-up is
not counted), from empty artifact stores that share only the derived static model (distilled
once beforehand), with ``embed.backend: static``, ``represent.chain: []`` and
``reduce/project.fit_sample`` lowered so that UMAP's fit and its ``transform`` chunks are
jobs. Per stage it prints wall seconds: for the Dask run, the chunk jobs' wall time (the
cluster's start in the first stage that has jobs) plus the stage's own assembly. It also
prints how far the embeddings differ and how well the topic assignments agree (ARI).

The documents are the seeded sample of ``benchmarks/scale.py`` (``sample_corpus``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from scale import sample_corpus  # noqa: E402

STAGES = ("load", "embed", "reduce", "project", "cluster", "refine", "represent", "label", "evaluate", "render")


def run_flow(corpus: Path, cache: Path, root: Path, overrides: list[str]) -> tuple[Path, float]:
    from flows.topic_pipeline import topic_pipeline

    started = time.perf_counter()
    run_dir = Path(topic_pipeline(input=str(corpus), overrides=[f"cache.dir={cache}", f"output.root={root}", *overrides]))
    return run_dir, time.perf_counter() - started


def stage_seconds(run_dir: Path) -> dict[str, float]:
    from topics.run import read_manifest

    return {s["name"]: s["seconds"] + s.get("chunk_wall_seconds", 0.0) for s in read_manifest(run_dir)["stages"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=63000)
    parser.add_argument("--fit-sample", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from sklearn.metrics import adjusted_rand_score

    from topics.artifacts import ArtifactStore
    from topics.run import read_manifest
    from topics.stage_graph import RunPlan
    from topics.config import load_config

    work = Path(tempfile.mkdtemp(prefix="topics-dask-bench-"))
    corpus = sample_corpus(args.docs, work)
    n_docs = len(pd.read_parquet(corpus, columns=["doc_id"]))
    common = ["corpus.id_column=doc_id", "embed.backend=static", "embed.show_progress=false", "represent.chain=[]",
              f"reduce.fit_sample={args.fit_sample}", f"project.fit_sample={args.fit_sample}"]
    # The static model is distilled once, into a store both runs start from.
    seed = work / "seed-cache"
    tiny = work / "tiny.parquet"
    pd.read_parquet(corpus).head(20).to_parquet(tiny)
    plan, store, keys = RunPlan(load_config(None, common), str(tiny)), ArtifactStore(seed), {}
    for name in ("load", "embed"):
        keys[name] = plan.call(name, store, keys).key
    for folder in ("load", "embed", "vectors"):
        shutil.rmtree(seed / folder, ignore_errors=True)

    runs = {}
    for label, extra in (("local", []), (f"dask, {args.workers} workers", ["execution.task_runner=dask",
                                                                         f"execution.n_workers={args.workers}"])):
        cache = work / f"cache-{len(runs)}"
        shutil.copytree(seed, cache)
        run_dir, wall = run_flow(corpus, cache, work / "runs", [*common, *extra])
        runs[label] = (run_dir, cache, wall)

    (local_dir, local_cache, local_wall), (dask_dir, dask_cache, dask_wall) = runs.values()
    local_s, dask_s = stage_seconds(local_dir), stage_seconds(dask_dir)
    dask_stages = {s["name"]: s for s in read_manifest(dask_dir)["stages"]}
    print(f"{n_docs:,} documents, fit_sample {args.fit_sample:,}, static embeddings, chain []")
    print(f"{'stage':<10} {'local s':>9} {'dask s':>9} {'dask/local':>10} {'jobs':>5}")
    for name in STAGES:
        if name in local_s:
            print(f"{name:<10} {local_s[name]:>9.1f} {dask_s[name]:>9.1f} {dask_s[name] / max(local_s[name], 1e-9):>10.2f} "
                  f"{dask_stages[name].get('chunk_jobs', ''):>5}")
    print(f"{'flow wall':<10} {local_wall:>9.1f} {dask_wall:>9.1f} {dask_wall / local_wall:>10.2f}")

    def vectors(run_dir: Path, cache: Path) -> np.ndarray:
        key = next(s["key"] for s in read_manifest(run_dir)["stages"] if s["name"] == "embed")
        return np.asarray(ArtifactStore(cache).get("embed", key, verify=False).array("embeddings.npy"))

    difference = np.abs(vectors(local_dir, local_cache) - vectors(dask_dir, dask_cache)).max()
    topics = [pd.read_parquet(d / "documents.parquet")["topic"] for d in (local_dir, dask_dir)]
    print(f"embeddings: max |local - dask| = {difference:.2e}; topics: ARI {adjusted_rand_score(*topics):.3f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
