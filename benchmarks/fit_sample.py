"""What ``reduce.fit_sample`` costs and saves: UMAP fitted on every document against fitted on
a sample with the rest transformed, on the same real documents and embeddings.

    .venv/bin/python benchmarks/fit_sample.py [--docs 63000] [--samples 10000 20000 50000] [--cache DIR]

The documents are the scale benchmark's (a seeded sample of whole documents of the scale
corpus, embedded with ``embed.backend: static`` through the store). For each ``fit_sample``
(``none`` = fit on all) the table gives the reduce seconds, the clusters HDBSCAN finds in
that space (default settings), their ARI against the full fit's clusters (next to the ARI
of a full fit with another seed, the noise floor: UMAP's layout varies with its seed), and
trustworthiness (scikit-learn, 10 neighbours) on 3,000 seeded documents, of which the
transformed ones are a share. Used to choose the default threshold.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.scale import embed_once, sample_corpus, settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=63000)
    parser.add_argument("--samples", type=int, nargs="*", default=[10000, 20000, 50000])
    parser.add_argument("--cache", type=Path, default=REPO / "outputs" / ".bench-cache")
    args = parser.parse_args()
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import adjusted_rand_score

    from topics import cluster, reduce
    from topics.artifacts import ArtifactStore
    from topics.stage_graph import RunPlan

    corpus = sample_corpus(args.docs, Path(tempfile.mkdtemp(prefix="topics-fit-sample-")))
    embed_once(corpus, args.cache, [])
    config = settings(False, [])
    plan, store, keys = RunPlan(config, str(corpus)), ArtifactStore(args.cache), {}
    for name in ("load", "embed"):
        keys[name] = plan.call(name, store, keys).key
    embeddings = np.asarray(store.get("embed", keys["embed"]).array("embeddings.npy"))
    probe = np.sort(np.random.default_rng(0).choice(len(embeddings), size=min(3000, len(embeddings)), replace=False))
    print(f"{len(embeddings):,} documents, dim {embeddings.shape[1]}")
    print(f"{'fit_sample':>10} {'reduce s':>9} {'topics':>7} {'outliers':>9} {'ARI vs all':>11} {'trust':>7}")
    full_labels = None
    # Compile umap-learn's numba code (fit and transform) before any row is timed.
    warm = reduce.reduce(embeddings[:600], config.reduce.model_copy(update={"fit_sample": 300}))
    del warm
    for fit_sample, seed in [(None, 42), (None, 43), *[(n, 42) for n in args.samples]]:
        if fit_sample is not None and fit_sample >= len(embeddings):
            continue
        started = time.perf_counter()
        reduced = reduce.reduce(embeddings, config.reduce.model_copy(update={"fit_sample": fit_sample, "random_state": seed}))
        seconds = time.perf_counter() - started
        labels, _ = cluster.cluster(reduced, config.cluster)
        full_labels = labels if full_labels is None else full_labels
        trust = trustworthiness(embeddings[probe], reduced[probe], n_neighbors=10)
        name = fit_sample or ("none" if seed == 42 else f"none, {seed}")
        print(f"{name:>10} {seconds:>9.1f} {labels.max() + 1:>7} {(labels < 0).mean():>9.1%} "
              f"{adjusted_rand_score(full_labels, labels):>11.3f} {trust:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
