"""A consensus over UMAP seeds, weighed as a stability lever against the single-seed defaults.

    .venv/bin/python benchmarks/consensus.py [--slices NAME ...] [--docs 1000] [--runs 3] [--cache DIR]
        [--set section.key=value ...]

UMAP's layout depends on its seed and on float-level differences between machines, and
HDBSCAN's ``eom`` selection amplifies them (the stability column of ``quality.py``). A
consensus runs the reduction several times and keeps what the runs agree on. Two standard
ways are measured, each over ``--runs`` seeds, on the same stored vectors as ``quality.py``:

- ``concatenated``: the runs' reduced vectors side by side (``runs x n_components``
  columns), clustered once by HDBSCAN with the defaults. Memory and time grow linearly with
  the documents, so it would scale like the pipeline does.
- ``co-association``: evidence accumulation (Fred and Jain, "Combining multiple clusterings
  using evidence accumulation", IEEE TPAMI 27(6), 2005). HDBSCAN clusters each run; the share
  of runs that put two documents in one topic is their similarity, and average linkage cut at
  0.5 (together in most runs) gives the consensus; groups under ``min_cluster_size`` are
  outliers. The matrix is documents squared, so this is for small corpora only.

Both are followed by the default refinement (outliers reassigned by embedding at 0.3), as the
single run is. Stability is measured as ``quality.py`` does, one level up: the consensus over
seeds 42.. against the consensus over the next ``--runs`` seeds, and against the first seeds
on the vectors plus noise of 1e-6. The single run compares seed 42 with seed 43 and with
noise. Columns: topics, outliers, NMI against the labels, stability, UMAP fits per run.
``--set`` changes the settings of every method (e.g. ``cluster.min_samples=2``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.panel import PANEL, load_slice  # noqa: E402
from benchmarks.levers import print_means, scores  # noqa: E402
from benchmarks.quality import NOISE, embed_slice  # noqa: E402

FIRST_SEED = 42


def co_association_labels(runs: list[np.ndarray], min_cluster_size: int) -> np.ndarray:
    """Consensus labels (int64, -1 outliers) of label vectors ``runs`` (each (n_docs,), -1 for
    outliers): average linkage on 1 - (share of runs placing two documents in one topic), cut
    at 0.5; clusters under ``min_cluster_size`` become outliers."""
    from sklearn.cluster import AgglomerativeClustering

    together = np.zeros((len(runs[0]), len(runs[0])), dtype=np.float64)
    for labels in runs:
        together += (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
    distance = 1.0 - together / len(runs)
    found = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=0.5).fit_predict(distance)
    sizes = np.bincount(found)
    kept = {cluster: rank for rank, cluster in enumerate(np.flatnonzero(sizes >= min_cluster_size))}
    return np.array([kept.get(c, -1) for c in found], dtype=np.int64)


class Reductions:
    """UMAP of (vectors name, seed), computed once per slice."""

    def __init__(self, vectors: dict[str, np.ndarray], config):
        self.vectors, self.config, self.memo = vectors, config, {}

    def __call__(self, name: str, seed: int) -> np.ndarray:
        from topics import reduce

        if (name, seed) not in self.memo:
            settings = self.config.reduce.model_copy(update={"random_state": seed})
            self.memo[name, seed] = reduce.reduce(self.vectors[name], settings)
        return self.memo[name, seed]


def method_labels(method: str, texts, vectors: np.ndarray, reduced: list[np.ndarray], config) -> np.ndarray:
    """Refined labels of one method from its runs' reductions."""
    from topics import cluster, refine

    if method == "single":
        labels, _ = cluster.cluster(reduced[0], config.cluster)
    elif method == "concatenated":
        labels, _ = cluster.cluster(np.hstack(reduced), config.cluster)
    else:
        labels = co_association_labels([cluster.cluster(r, config.cluster)[0] for r in reduced],
                                       config.cluster.min_cluster_size)
    return refine.refine(texts, vectors, labels, config.refine, config.represent).labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", nargs="+", default=[n for n, s in PANEL.items() if s.targeted], choices=list(PANEL))
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=REPO / "outputs" / ".bench-cache")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="section.key=value")
    args = parser.parse_args()
    from topics.config import load_config

    config = load_config(None, [*args.overrides, "represent.chain=[]"])
    k = args.runs
    # method -> (seeds of the base run, seeds of the other-seed run)
    seeds = {"single": ([FIRST_SEED], [FIRST_SEED + 1])}
    for method in ("concatenated", "co-association"):
        seeds[method] = (list(range(FIRST_SEED, FIRST_SEED + k)), list(range(FIRST_SEED + k, FIRST_SEED + 2 * k)))
    rows = []
    for name in args.slices:
        documents, vectors = embed_slice(load_slice(name, args.docs), args.cache)
        texts, truth = documents["text"].tolist(), pd.factorize(documents["label"].astype(str))[0]
        noisy = vectors + np.random.default_rng(0).normal(0, NOISE, vectors.shape).astype(np.float32)
        reductions = Reductions({"clean": vectors, "noisy": noisy}, config)
        for method, (base_seeds, other_seeds) in seeds.items():
            runs = [method_labels(method, texts, v, [reductions(which, s) for s in chosen], config)
                    for which, v, chosen in (("clean", vectors, base_seeds), ("clean", vectors, other_seeds),
                                             ("noisy", noisy, base_seeds))]
            rows.append({"slice": name, "method": method, "fits": len(base_seeds), **scores(truth, runs)})
            print(f"{name} / {method}: {rows[-1]}", file=sys.stderr, flush=True)

    frame = pd.DataFrame(rows)
    print("| slice | method | UMAP fits | topics | outliers | NMI | stability |\n|---|---|---:|---:|---:|---:|---:|")
    for r in frame.itertuples():
        print(f"| {r.slice} | {r.method} | {r.fits} | {r.topics} | {r.outliers:.1%} | {r.nmi:.3f} | {r.stability:.3f} |")
    print_means(frame, "method")


if __name__ == "__main__":
    main()
