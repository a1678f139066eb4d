"""Topic quality on a panel of labelled slices: our defaults against plain BERTopic's.

    .venv/bin/python benchmarks/quality.py [--slices NAME ...] [--docs 2000] [--cache DIR]
        [--set section.key=value ...] [--no-plain]

``--set`` changes our side's settings (as ``topics run --set`` does), to measure a variant of
the defaults; ``--no-plain`` skips plain BERTopic (its rows are then absent, and so are the
targets, which compare with it).

For each slice of :data:`benchmarks.panel.PANEL` (at most 2,000 documents), the documents are
embedded once through the pipeline's own store (default ``outputs/.bench-cache``, shared
with the other benchmarks), and both sides get the same vectors:

- ours: the pipeline's default settings (with ``--set`` applied): UMAP, HDBSCAN, refinement and the
  representation chain, each through its ``topics`` function;
- plain: ``BERTopic(calculate_probabilities=False)`` with its own defaults (UMAP 15
  neighbours, 5 components, min_dist 0, cosine; HDBSCAN min_cluster_size 10, eom; a
  CountVectorizer without stop words; plain c-TF-IDF), its UMAP given a seed so the run repeats.

Columns:

- topics, outliers (share of documents in topic -1);
- ``npmi``: ``coherence_npmi`` as the evaluate stage computes it (top 10 terms, corpus tokenised
  as our c-TF-IDF sees it, stop words removed);
- ``npmi_sw``: ``npmi_stopwords_kept`` (top 10 terms, stop words kept in the corpus, so a
  stop-word term is scored rather than hidden);
- diversity (unique share of the top 10 terms), NMI and ARI against the labels (all
  documents; outliers are one more cluster);
- stability: mean ARI between the run and three others: UMAP seeds 43 and 44, and seed 42 on
  the embeddings plus Gaussian noise of standard deviation 1e-6 (a stand-in for another
  machine's floats);
- ``sw5``: topics with a scikit-learn English stop word among their top 5 terms.

Targets (on the slices marked targeted): NMI and NPMI >= plain + 0.05, diversity >= 0.85,
outliers <= 10 %, stability >= 0.8, no stop word in any top 5. The table marks each.
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

from benchmarks.panel import PANEL, SLICES, load_slice  # noqa: E402

SEEDS = (42, 43, 44)
NOISE = 1e-6
TOP_N = 10


def embed_slice(table: pd.DataFrame, cache: Path):
    """(documents table, embeddings float32 (n_docs, dim)) through the load and embed stages,
    so a slice is embedded once across runs of every benchmark."""
    from topics import stages
    from topics.artifacts import ArtifactStore
    from topics.config import CorpusConfig, EmbedConfig

    store = ArtifactStore(cache)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "slice.parquet"
        table.to_parquet(path)
        corpus = stages.load(store, path, CorpusConfig(label_column="label"))
    embedded = stages.embed(store, corpus.key, EmbedConfig(show_progress=False))
    documents = store.get("load", corpus.key).table("documents.parquet")
    return documents, np.asarray(store.get("embed", embedded.key).array("embeddings.npy"))


def ours_assignments(texts: list[str], embeddings: np.ndarray, config, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(reduced, labels) of our reduction, clustering and refinement with UMAP seed ``seed``."""
    from topics import cluster, reduce, refine

    reduced = reduce.reduce(embeddings, config.reduce.model_copy(update={"random_state": seed}))
    labels, _ = cluster.cluster(reduced, config.cluster)
    return reduced, refine.refine(texts, embeddings, labels, config.refine, config.represent).labels


def ours(documents: pd.DataFrame, embeddings: np.ndarray, runs: list[np.ndarray], overrides: list[str] = ()) -> dict:
    """Our defaults with ``overrides`` (``section.key=value``): labels per run in ``runs`` order
    (seeds, then noise) and the base run's topic table (``topic``, ``size``, ``terms``)."""
    from topics import embed
    from topics.config import load_config
    from topics.represent import represent
    from topics.represent.chain import needs_embedding_model

    config = load_config(None, list(overrides))
    texts = documents["text"].tolist()
    labelled = [ours_assignments(texts, vectors, config, seed) for vectors, seed in runs]
    model = embed.load_model(config.embed.model, "cpu", config.embed.max_seq_length) if needs_embedding_model(config.represent) else None
    started = time.perf_counter()
    result = represent(texts, documents["doc_id"].tolist(), embeddings, labelled[0][1], config.represent, model)
    return {"reduced": labelled[0][0], "labels": [result.doc_topics, *[l for _, l in labelled[1:]]],
            "topics": result.topics, "represent_s": time.perf_counter() - started, "config": config}


def plain(documents: pd.DataFrame, runs: list[tuple[np.ndarray, int]]) -> dict:
    """Plain BERTopic with its defaults (its UMAP seeded) on the same vectors."""
    from bertopic import BERTopic
    from umap import UMAP

    texts = documents["text"].tolist()
    labels, base = [], None
    for vectors, seed in runs:
        umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=seed)
        model = BERTopic(umap_model=umap_model, calculate_probabilities=False)
        assigned, _ = model.fit_transform(texts, vectors)
        labels.append(np.asarray(assigned, dtype=np.int64))
        if base is None:
            base = model
    info = base.get_topic_info()
    topics = pd.DataFrame({
        "topic": info["Topic"].astype("int64"),
        "size": info["Count"].astype("int64"),
        "terms": [[t for t, _ in (base.get_topic(int(k)) or []) if t][:TOP_N] for k in info["Topic"]],
    })
    reduced = base.umap_model.embedding_
    return {"reduced": reduced, "labels": labels, "topics": topics}


def score(documents: pd.DataFrame, side: dict, represent_config) -> dict:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from topics import evaluate
    from topics.represent import build_vectorizer

    base = side["labels"][0]
    metrics = evaluate.summarize(documents, side["topics"], base, side["reduced"], build_vectorizer(represent_config, documents["text"].tolist()).build_analyzer(), TOP_N)
    real = side["topics"][side["topics"]["topic"] >= 0]
    terms = [list(t) for t in real["terms"]]
    truth = pd.factorize(documents["label"].astype(str))[0]
    return {
        "topics": metrics["n_topics"],
        "outliers": metrics["outlier_share"],
        "npmi": metrics["coherence_npmi"],
        "npmi_sw": evaluate.npmi_stopwords_kept(terms, documents["text"].tolist(), represent_config, TOP_N),
        "diversity": metrics["topic_diversity"],
        "nmi": normalized_mutual_info_score(truth, base),
        "ari": adjusted_rand_score(truth, base),
        "stability": float(np.mean([adjusted_rand_score(base, other) for other in side["labels"][1:]])),
        "sw5": sum(any(t in ENGLISH_STOP_WORDS for t in terms_[:5]) for terms_ in terms),
    }


def fmt(value, spec: str) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", nargs="+", default=list(PANEL), choices=list(SLICES),
                        help="panel slices (default: all of them), or language slices (i18n-de, -ko, -zh, -ja)")
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--cache", type=Path, default=REPO / "outputs" / ".bench-cache")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="a setting of ours, as for topics run --set")
    parser.add_argument("--no-plain", action="store_true", help="skip plain BERTopic")
    args = parser.parse_args()

    rows = []
    for name in args.slices:
        started = time.perf_counter()
        documents, embeddings = embed_slice(load_slice(name, args.docs), args.cache)
        noisy = embeddings + np.random.default_rng(0).normal(0, NOISE, embeddings.shape).astype(np.float32)
        runs = [(embeddings, SEEDS[0]), *[(embeddings, s) for s in SEEDS[1:]], (noisy, SEEDS[0])]
        mine = ours(documents, embeddings, runs, args.overrides)
        sides = [("ours", mine)] if args.no_plain else [("ours", mine), ("plain", plain(documents, runs))]
        # Both sides are scored with our tokenisation (the evaluate stage's), so the same
        # tokens count on both; npmi_sw keeps stop words in it.
        for side, result in sides:
            rows.append({"slice": name, "targeted": SLICES[name].targeted, "side": side, "docs": len(documents),
                         **score(documents, result, mine["config"].represent)})
        print(f"{name}: {len(documents)} docs, {time.perf_counter() - started:.0f} s (represent {mine['represent_s']:.0f} s)",
              file=sys.stderr, flush=True)

    frame = pd.DataFrame(rows)
    print("\n| slice | side | docs | topics | outliers | npmi | npmi_sw | diversity | NMI | ARI | stability | sw5 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in frame.itertuples():
        print(f"| {r.slice}{'' if r.targeted else ' (reported)'} | {r.side} | {r.docs} | {r.topics} | {r.outliers:.1%} | "
              f"{fmt(r.npmi, '.3f')} | {fmt(r.npmi_sw, '.3f')} | {fmt(r.diversity, '.3f')} | {r.nmi:.3f} | {r.ari:.3f} | "
              f"{r.stability:.3f} | {r.sw5} |")
    if args.no_plain:
        return
    print("\nTargets, ours against plain on targeted slices (yes / shortfall):")
    print("| slice | NMI >= plain+0.05 | NPMI_sw >= plain+0.05 | diversity >= 0.85 | outliers <= 10% | stability >= 0.8 | no stop word in top 5 |")
    print("|---|---|---|---|---|---|---|")
    for name, pair in frame[frame["targeted"]].groupby("slice", sort=False):
        o, p = pair[pair["side"] == "ours"].iloc[0], pair[pair["side"] == "plain"].iloc[0]

        def check(ok: bool, gap: float, spec: str = "+.3f") -> str:
            return "yes" if ok else f"no ({format(gap, spec)})"

        npmi_gap = (o.npmi_sw or -1) - (p.npmi_sw or -1) - 0.05
        print(f"| {name} | {check(o.nmi >= p.nmi + 0.05, o.nmi - p.nmi - 0.05)} | {check(npmi_gap >= 0, npmi_gap)} | "
              f"{check((o.diversity or 0) >= 0.85, (o.diversity or 0) - 0.85)} | {check(o.outliers <= 0.10, o.outliers - 0.10, '+.1%')} | "
              f"{check(o.stability >= 0.8, o.stability - 0.8)} | {check(o.sw5 == 0, o.sw5, 'd')} |")


if __name__ == "__main__":
    main()
