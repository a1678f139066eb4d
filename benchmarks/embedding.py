"""Embedding backends side by side: speed, closeness to `torch`, and what they do to topics.

    .venv/bin/python benchmarks/embedding.py [--docs 2000] [--corpora NAME ...] [--backends ...]

On slices of labelled corpora in ../shared/corpora (seeded samples of --docs documents), each
backend encodes the slice; then the same UMAP (seeded), HDBSCAN and plain c-TF-IDF settings
run on its vectors. Prints one table, a row per corpus and backend:

- docs/s: encoding throughput (model loading and one-time conversion excluded), and the
  ratio to `torch` in the same run;
- cosine: mean cosine of each document's vector to its `torch` vector (`static` vectors live
  in a space of their own, so theirs is low by construction: judge them by NMI and NPMI);
- NMI against the corpus labels and NPMI coherence of the top 10 terms, next to `torch`'s,
  with the relative change.

The representation is plain c-TF-IDF (no KeyBERT-inspired/MMR chain): the chain embeds words
with the torch model whatever the backend, so it would only blur the backend's effect.
`torch-seq128` is `torch` with `embed.max_seq_length: 128`.

HDBSCAN's clusters move with UMAP's seed, so quality is averaged over --seeds seeds and the
`torch` row's NMI spread shows how much of a difference is noise.

Target: a fast path >= 3x `torch` with <= 5 % loss of NMI and NPMI on every corpus.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.panel import PANEL, load_slice  # noqa: E402

BACKENDS = {  # row name -> (backend, max_seq_length)
    "torch": ("torch", None),
    "torch-seq128": ("torch", 128),
    "onnx": ("onnx", None),
    "onnx-int8": ("onnx-int8", None),
    "static": ("static", None),
}


def topics_quality(texts: list[str], labels: pd.Series, vectors: np.ndarray, seeds: list[int]) -> dict:
    """UMAP + HDBSCAN (the pipeline's defaults) + plain c-TF-IDF, once per UMAP seed; NMI vs
    labels, NPMI (and NPMI with stop words kept, see
    :func:`topics.evaluate.npmi_stopwords_kept`), averaged over the seeds, and NMI's spread (max - min) across them."""
    from topics import cluster, evaluate, reduce
    from topics.config import ClusterConfig, ReduceConfig, RepresentConfig
    from topics.represent import build_vectorizer
    from topics.represent import represent as represent_topics

    config = RepresentConfig(chain=[])
    documents = pd.DataFrame({"doc_id": range(len(texts)), "text": texts})
    runs = []
    for seed in seeds:
        reduced = reduce.reduce(vectors, ReduceConfig(random_state=seed))
        assignment, _ = cluster.cluster(reduced, ClusterConfig())
        result = represent_topics(texts, [str(i) for i in range(len(texts))], vectors, assignment, config, None)
        metrics = evaluate.summarize(documents, result.topics, result.doc_topics, reduced, build_vectorizer(config, texts).build_analyzer())
        terms = [list(t) for t in result.topics.loc[result.topics["topic"] >= 0, "terms"]]
        runs.append({"nmi": evaluate.label_agreement(result.doc_topics, labels)["scores"]["all"]["nmi"],
                     "npmi": metrics["coherence_npmi"], "npmi_sw": evaluate.npmi_stopwords_kept(terms, texts, config),
                     "topics": metrics["n_topics"], "outliers": metrics["outlier_share"]})
    frame = pd.DataFrame(runs)
    return {**frame.mean().to_dict(), "nmi_spread": frame["nmi"].max() - frame["nmi"].min()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--corpora", nargs="+", default=list(PANEL)[:4], choices=list(PANEL))
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    parser.add_argument("--seeds", type=int, default=3, help="UMAP seeds per row (42, 43, ...); quality is their mean")
    args = parser.parse_args()
    if "torch" not in args.backends:
        args.backends.insert(0, "torch")

    from topics import embed
    from topics.artifacts import ArtifactStore

    store = ArtifactStore(tempfile.mkdtemp(prefix="embedding-bench-"))  # derived models, built once
    encoders, load_s = {}, {}
    for row in args.backends:
        backend, seq = BACKENDS[row]
        started = time.perf_counter()
        encoders[row] = embed.load_encoder(backend=backend, device="cpu", max_seq_length=seq, store=store)
        load_s[row] = time.perf_counter() - started
        print(f"loaded {row} in {load_s[row]:.1f} s (one-time conversion included)", file=sys.stderr, flush=True)

    rows = []
    for name in args.corpora:
        table = load_slice(name, args.docs)
        texts = table["text"].tolist()
        reference = None
        for row in args.backends:
            embed.encode_in_batches(encoders[row], texts[:64])  # warm-up: first calls pay one-time costs
            started = time.perf_counter()
            vectors = embed.encode_in_batches(encoders[row], texts)
            seconds = time.perf_counter() - started
            reference = vectors if row == "torch" else reference
            quality = topics_quality(texts, table["label"], vectors, list(range(42, 42 + args.seeds)))
            rows.append({"corpus": name, "backend": row, "docs": len(texts), "docs_s": len(texts) / seconds,
                         "cosine": float((vectors * reference).sum(axis=1).mean()), **quality})
            print(f"{name:16} {row:13} {len(texts) / seconds:8.1f} docs/s  NMI {quality['nmi']:.3f}  NPMI {quality['npmi']:.3f}",
                  file=sys.stderr, flush=True)

    frame = pd.DataFrame(rows)
    base = frame[frame["backend"] == "torch"].set_index("corpus")
    frame["speed_x"] = frame["docs_s"] / frame["corpus"].map(base["docs_s"])
    frame["nmi_torch"] = frame["corpus"].map(base["nmi"])
    frame["npmi_torch"] = frame["corpus"].map(base["npmi"])
    frame["nmi_change"] = frame["nmi"] / frame["nmi_torch"] - 1
    frame["npmi_change"] = (frame["npmi"] - frame["npmi_torch"]) / frame["npmi_torch"].abs()
    print(f"\nEmbedding backends on {args.docs}-document slices, CPU, one process; NMI and NPMI are means over "
          f"{args.seeds} UMAP seeds (NMI spread: max - min across them)\n")
    print("| corpus | backend | docs/s | x torch | cosine to torch | NMI | NMI torch | NMI change | NMI spread | NPMI | NPMI torch | NPMI change | NPMI stop words kept | topics | outliers |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in frame.itertuples():
        print(f"| {r.corpus} | {r.backend} | {r.docs_s:.1f} | {r.speed_x:.2f} | {r.cosine:.3f} | {r.nmi:.3f} | {r.nmi_torch:.3f} | "
              f"{r.nmi_change:+.1%} | {r.nmi_spread:.3f} | {r.npmi:.3f} | {r.npmi_torch:.3f} | {r.npmi_change:+.1%} | "
              f"{r.npmi_sw:.3f} | {r.topics:.1f} | {r.outliers:.1%} |")
    print("\nOne-time load (conversion included) s: " + ", ".join(f"{k} {v:.1f}" for k, v in load_s.items()))
    fast = frame[(frame["backend"] != "torch")]
    for backend, group in fast.groupby("backend", sort=False):
        meets = (group["speed_x"] >= 3) & (group["nmi_change"] >= -0.05) & (group["npmi_change"] >= -0.05)
        verdict = "meets the bar on every corpus" if meets.all() else \
            "misses on " + ", ".join(f"{r.corpus} (x{r.speed_x:.2f}, NMI {r.nmi_change:+.1%}, NPMI {r.npmi_change:+.1%})"
                                     for r in group[~meets].itertuples())
        print(f"- {backend}: {verdict}")


if __name__ == "__main__":
    main()
