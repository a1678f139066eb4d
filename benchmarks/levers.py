"""The clustering levers of the quality issue, measured on the labelled panel: which settings
give topics that match the labels, few outliers, and the same structure across seeds.

    .venv/bin/python benchmarks/levers.py [--slices NAME ...] [--docs 1000] [--cache DIR]

Each slice of :data:`benchmarks.panel.PANEL` is embedded once through the pipeline's store
(default ``outputs/.bench-cache``, shared with ``quality.py``). For each candidate the
pipeline's own functions run (``topics.reduce``, ``topics.cluster``, ``topics.refine``) from
the same vectors, three times: UMAP seeds 42 and 43, and seed 42 on the vectors plus Gaussian
noise of standard deviation 1e-6 (a stand-in for another machine's floats). The three
reductions are computed once per slice and ``reduce.*`` setting, and shared by the candidates.

Columns per candidate and slice: topics, outlier share, NMI against the labels (outliers are
one more cluster), stability (mean ARI of the seed-42 run to the other two). The last rows
average each candidate over the targeted slices. Terms and NPMI are ``quality.py``'s business.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.panel import PANEL, load_slice  # noqa: E402
from benchmarks.quality import NOISE, embed_slice  # noqa: E402

KEEP = ["refine.outliers.strategy=none"]  # HDBSCAN's outliers kept, as plain BERTopic does
# name -> settings overrides on the defaults (eom, outliers reduced by embedding at 0.3).
CANDIDATES = {
    "defaults (eom + outliers by embedding 0.3)": [],
    "eom, outliers kept (BERTopic's)": KEEP,
    "eom, min_samples 5, outliers kept": ["cluster.min_samples=5", *KEEP],
    "eom, min_samples 2, outliers kept": ["cluster.min_samples=2", *KEEP],
    "leaf, outliers kept": ["cluster.cluster_selection_method=leaf", *KEEP],
    "leaf, min_cluster_size 20, outliers kept": ["cluster.cluster_selection_method=leaf", "cluster.min_cluster_size=20", *KEEP],
    "defaults, min_samples 5": ["cluster.min_samples=5"],
    "defaults, min_samples 2": ["cluster.min_samples=2"],
    "defaults, 30 neighbours": ["reduce.n_neighbors=30"],
    "defaults, 50 neighbours": ["reduce.n_neighbors=50"],
    "defaults, 100 neighbours": ["reduce.n_neighbors=100"],
    "defaults, 10 components": ["reduce.n_components=10"],
    "defaults, min_cluster_size 20": ["cluster.min_cluster_size=20"],
    "defaults, 30 neighbours, min_cluster_size 20": ["reduce.n_neighbors=30", "cluster.min_cluster_size=20"],
    "defaults, 50 neighbours, min_samples 5": ["reduce.n_neighbors=50", "cluster.min_samples=5"],
    "defaults, outliers at 0.2": ["refine.outliers.threshold=0.2"],
}


def labels_for(texts: list[str], vectors: np.ndarray, reduced: np.ndarray, overrides: list[str]) -> np.ndarray:
    from topics import cluster, refine
    from topics.config import load_config

    config = load_config(None, [*overrides, "represent.chain=[]"])
    labels, _ = cluster.cluster(reduced, config.cluster)
    return refine.refine(texts, vectors, labels, config.refine, config.represent).labels


def reductions(runs: list[tuple[np.ndarray, int]], overrides: list[str], memo: dict) -> list[np.ndarray]:
    """UMAP of each (vectors, seed) run with the candidate's ``reduce.*`` settings, computed once
    per distinct setting."""
    from topics import reduce
    from topics.config import load_config

    settings = tuple(item for item in overrides if item.startswith("reduce."))
    if settings not in memo:
        config = load_config(None, list(settings)).reduce
        memo[settings] = [reduce.reduce(v, config.model_copy(update={"random_state": seed})) for v, seed in runs]
    return memo[settings]


def scores(truth: np.ndarray, runs: list[np.ndarray]) -> dict:
    """Topics, outlier share and NMI against ``truth`` of ``runs[0]``, and its stability: the
    mean ARI to the other runs (labels int, -1 for outliers)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    base = runs[0]
    return {"topics": len(set(base.tolist()) - {-1}), "outliers": float((base < 0).mean()),
            "nmi": normalized_mutual_info_score(truth, base),
            "stability": float(np.mean([adjusted_rand_score(base, other) for other in runs[1:]]))}


def print_means(frame: pd.DataFrame, key: str) -> None:
    """The Markdown table of :func:`scores` averaged over the slices, one row per ``key`` value."""
    print(f"\nMean over the slices:\n| {key} | topics | outliers | NMI | stability |\n|---|---:|---:|---:|---:|")
    for value, part in frame.groupby(key, sort=False):
        print(f"| {value} | {part.topics.mean():.1f} | {part.outliers.mean():.1%} | {part.nmi.mean():.3f} | {part.stability.mean():.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", nargs="+", default=[n for n, s in PANEL.items() if s.targeted], choices=list(PANEL))
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--cache", type=Path, default=REPO / "outputs" / ".bench-cache")
    args = parser.parse_args()

    rows = []
    for name in args.slices:
        documents, vectors = embed_slice(load_slice(name, args.docs), args.cache)
        texts, truth = documents["text"].tolist(), pd.factorize(documents["label"].astype(str))[0]
        noisy = vectors + np.random.default_rng(0).normal(0, NOISE, vectors.shape).astype(np.float32)
        inputs, memo = [(vectors, 42), (vectors, 43), (noisy, 42)], {}
        for candidate in args.candidates:
            reduced = reductions(inputs, CANDIDATES[candidate], memo)
            started = time.perf_counter()
            runs = [labels_for(texts, v, r, CANDIDATES[candidate]) for (v, _), r in zip(inputs, reduced)]
            rows.append({
                "slice": name, "candidate": candidate, "docs": len(texts), **scores(truth, runs),
                "seconds": (time.perf_counter() - started) / 3,  # clustering and refinement, not UMAP
            })
            print(f"{name} / {candidate}: {rows[-1]}", file=sys.stderr, flush=True)

    frame = pd.DataFrame(rows)
    print("| slice | candidate | docs | topics | outliers | NMI | stability | s per run |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in frame.itertuples():
        print(f"| {r.slice} | {r.candidate} | {r.docs} | {r.topics} | {r.outliers:.1%} | {r.nmi:.3f} | {r.stability:.3f} | {r.seconds:.1f} |")
    print_means(frame, "candidate")


if __name__ == "__main__":
    main()
