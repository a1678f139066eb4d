"""How long ``topics search`` takes on a 50,000-document run.

Builds a synthetic completed run in a temporary folder: 50,000 random unit vectors of
dimension 384 (float32) in an embed cache entry, a ``documents.parquet`` with ~600-character
texts and titles, 50 topics. The real packaged model embeds the query. Prints one row per step:
opening the run (manifest, tables, the memory-mapped matrix), loading the model, the first
query (embedding plus scoring), a second query with the model loaded, and the bare
matrix-vector product over the memory-mapped matrix.

    .venv/bin/python benchmarks/search.py [N_DOCS]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from topics.artifacts import ArtifactStore, write_json, write_npy
from topics.embed import model_identity
from topics.search import RunSearch

DIM, N_TOPICS = 384, 50


def synthetic_run(root: Path, n_docs: int) -> Path:
    """A completed run folder whose vectors sit in an embed entry of ``root/cache``."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n_docs, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store, key = ArtifactStore(root / "cache"), "synthetic-embed"
    store.put("embed", key, lambda writer: writer.array("embeddings.npy", vectors) or {"model": model_identity("default")})
    run = root / "run"
    (run / "model").mkdir(parents=True)
    topics = rng.integers(-1, N_TOPICS, n_docs)
    words = np.array("galaxy quark lattice spin field network theorem protein market climate".split())
    texts = [" ".join(words[rng.integers(0, len(words), 90)]) for _ in range(n_docs)]
    pd.DataFrame({"doc_id": [f"doc-{i}" for i in range(n_docs)], "text": texts, "topic": topics,
                  "title": [t[:60] for t in texts]}).to_parquet(run / "documents.parquet", index=False)
    sizes = np.bincount(topics[topics >= 0], minlength=N_TOPICS)
    pd.DataFrame({"topic": range(N_TOPICS), "size": sizes, "name": [f"{t}_synthetic" for t in range(N_TOPICS)],
                  "label": ""}).to_parquet(run / "topics.parquet", index=False)
    centres = rng.standard_normal((N_TOPICS, DIM), dtype=np.float32)
    write_npy(run / "model" / "topic_embeddings.npy", centres)
    write_json(run / "model" / "reference.json", {"embedding_model": model_identity("default"), "embedding_backend": "torch/fp32",
                                                  "topics": [{"topic": t} for t in range(N_TOPICS)]})
    write_json(run / "manifest.json", {
        "run_id": "synthetic", "status": "completed", "cache_dir": str(root / "cache"),
        "config": {"embed": {"model": "default", "backend": "torch", "show_progress": False}},
        "stages": [{"name": "embed", "key": key, "backend": "torch", "dtype": "fp32"}],
    })
    return run


def main(n_docs: int = 50_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run = synthetic_run(Path(folder), n_docs)
        rows = []
        started = time.perf_counter()
        index = RunSearch(run)
        rows.append(("open the run (tables, memory-mapped matrix)", time.perf_counter() - started))
        first = index.search("galaxy clusters and dark matter", 5, 10)
        rows.append(("first query: load the model", first.seconds["model"]))
        rows.append(("first query: embed the query", first.seconds["query"]))
        rows.append(("first query: score, rank, read snippets", first.seconds["score"]))
        second = index.search("spin lattice models", 5, 10)
        rows.append(("second query: embed, score, rank, snippets", second.seconds["query"] + second.seconds["score"]))
        matrix, query = index.vectors_.doc_vectors, np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
        best = min(_timed(lambda: np.asarray(matrix @ query)) for _ in range(5))
        rows.append((f"matrix-vector product alone ({n_docs} x {DIM}, best of 5)", best))
        print(f"| step ({n_docs:,} documents) | seconds |\n|---|---:|")
        for name, seconds in rows:
            print(f"| {name} | {seconds:.3f} |")
        print(json.dumps(second.to_dict()["documents"][:1]))


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
