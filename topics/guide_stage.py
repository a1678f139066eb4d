"""The ``guide`` stage and the guided variants of reduce and cluster (see :mod:`topics.guide`).

``guide`` runs after ``embed`` only when ``guide.*`` lists topics. Its key is the embed key
and the guide's content (the file's, not its path), so the stages before it are reused. It
embeds the listed topics' texts and the seed topics with the run's encoder and writes:

- with zero-shot topics: ``zeroshot.npy`` int64 (n_docs,), the listed topic each document
  joined or -1; ``zeroshot_similarity.npy`` float32 (n_docs,), its similarity to the most
  similar one; ``listed_embeddings.npy`` float32 (n_listed, dim);
- with seed topics: ``embeddings.npy`` float32 (n_docs, dim), the nudged embeddings, and
  ``seed_y.npy`` int64 (n_docs,), the seed topic per document or -1.

Downstream keys gain the guide key only where it changes the result: ``reduce`` with seed
topics (UMAP fits the nudged embeddings with ``y``), ``cluster`` and ``represent`` with
zero-shot topics, ``represent`` also with seed topics (seed words boosted in c-TF-IDF). With
no guide settings no stage reads or keys on it, and every key is as before.
"""

from __future__ import annotations

import time

import numpy as np

from topics import cluster as cluster_mod
from topics import guide as guide_mod
from topics import reduce as reduce_mod
from topics.artifacts import ArtifactStore, EntryWriter
from topics.config import ClusterConfig, EmbedConfig, GuideConfig, ReduceConfig
from topics.stage_cache import StageResult, _cached, stage_key


def guide(store: ArtifactStore, embed_key: str, config: GuideConfig, embed_config: EmbedConfig, refresh: bool = False) -> StageResult:
    """Zero-shot assignment and seed nudging of the run's embeddings (files listed in the
    module docstring). Entry meta: ``zeroshot`` and ``seeded`` (bool), ``names``, ``seed_words``
    and ``joined`` (documents per listed topic).

    Raises
    ------
    topics.config.ConfigError
        If ``guide.file`` cannot serve (see :func:`topics.guide_file.read_guide_file`).
    topics.embed.EmbeddingError
        If the model cannot be loaded.
    """
    started = time.perf_counter()
    resolved = guide_mod.resolve(config)
    key = stage_key("guide", {"embed": embed_key}, resolved.settings())

    def fill(writer: EntryWriter) -> dict:
        from topics.embed_stage import load_config_encoder

        embeddings = np.asarray(store.get("embed", embed_key, verify=False).array("embeddings.npy"))
        encoder = load_config_encoder(embed_config, store)
        meta = {"zeroshot": resolved.zeroshot, "seeded": resolved.seeded, "names": list(resolved.names),
                "seed_words": resolved.seed_words(), "joined": []}
        if resolved.zeroshot:
            listed = encoder.encode(list(resolved.texts))
            assignment, similarity = guide_mod.zeroshot_assign(embeddings, listed, resolved.min_similarity)
            writer.array("zeroshot.npy", assignment)
            writer.array("zeroshot_similarity.npy", similarity)
            writer.array("listed_embeddings.npy", listed)
            meta["joined"] = np.bincount(assignment[assignment >= 0], minlength=len(resolved.names)).tolist()
        if resolved.seeded:
            seeds = encoder.encode([" ".join(words) for words in resolved.seed_topics])
            nudged, y = guide_mod.nudge(embeddings, seeds)
            writer.array("embeddings.npy", nudged)
            writer.array("seed_y.npy", y)
        return meta

    return _cached(store, "guide", key, fill, refresh, started)


def guide_meta(store: ArtifactStore, guide_key: str | None) -> dict:
    """The guide entry's meta, or an inactive one when there is no guide stage."""
    if guide_key is None:
        return {"zeroshot": False, "seeded": False, "names": [], "seed_words": []}
    return store.get("guide", guide_key, verify=False).meta


def reduce_seeded(store: ArtifactStore, embed_key: str, guide_key: str, config: ReduceConfig, refresh: bool = False) -> StageResult:
    """UMAP of the nudged embeddings with the seed topics as ``y`` (semi-supervised UMAP, as
    BERTopic's ``_reduce_dimensionality(embeddings, y)``); entry file ``reduced.npy`` float32
    (n_docs, n_components). The key is the reduce key's inputs plus the guide key."""
    started = time.perf_counter()
    n_docs = len(store.get("embed", embed_key, verify=False).array("embeddings.npy"))
    key = stage_key("reduce", {"embed": embed_key, "guide": guide_key}, reduce_mod.key_settings(config, n_docs))

    def fill(writer: EntryWriter) -> dict:
        guided = store.get("guide", guide_key, verify=False)
        nudged = np.asarray(guided.array("embeddings.npy"))
        writer.array("reduced.npy", reduce_mod.reduce(nudged, config, y=np.asarray(guided.array("seed_y.npy"))))
        return {}

    return _cached(store, "reduce", key, fill, refresh, started)


def cluster_rest(store: ArtifactStore, reduce_key: str, guide_key: str, config: ClusterConfig, refresh: bool = False) -> StageResult:
    """HDBSCAN on the documents no listed topic took (BERTopic clusters only those), combined
    with the zero-shot assignment (see :func:`topics.guide.combine_labels`). Entry files
    ``labels.npy`` int64 (n_docs,), listed topic ``j`` as ``j`` and clusters after them, and
    ``probabilities.npy`` float32 (n_docs,), NaN for documents that joined a listed topic
    (no HDBSCAN membership: their similarity is in the guide entry)."""
    started = time.perf_counter()
    key = stage_key("cluster", {"reduce": reduce_key, "guide": guide_key}, config.model_dump(mode="json"))

    def fill(writer: EntryWriter) -> dict:
        guided = store.get("guide", guide_key, verify=False)
        zeroshot = np.asarray(guided.array("zeroshot.npy"))
        reduced = np.asarray(store.get("reduce", reduce_key, verify=False).array("reduced.npy"))
        rest = zeroshot < 0
        clustered, strength = cluster_mod.cluster(reduced[rest], config)
        n_listed = len(guided.meta["names"])
        labels = guide_mod.combine_labels(zeroshot, clustered, n_listed)
        probabilities = np.full(len(zeroshot), np.nan, dtype=np.float32)
        probabilities[rest] = strength
        writer.array("labels.npy", labels)
        writer.array("probabilities.npy", probabilities)
        return {"n_clusters": int(clustered.max() + 1) if len(clustered) else 0, "n_outliers": int((labels < 0).sum()),
                "n_zeroshot": int((~rest).sum())}

    return _cached(store, "cluster", key, fill, refresh, started)


def represent_guide(store: ArtifactStore, guide_key: str | None) -> tuple[dict, dict]:
    """What the represent stage adds for a guide: (inputs, settings) for its key, empty when
    there is no guide, so that unguided keys are unchanged."""
    meta = guide_meta(store, guide_key)
    inputs = {"guide": guide_key} if meta["zeroshot"] else {}
    settings = {"seed_words": meta["seed_words"]} if meta["seeded"] else {}
    return inputs, settings


def mark_listed(store: ArtifactStore, guide_key: str | None, representation, unmatched: bool):
    """Name the listed topics in ``representation`` (:func:`topics.guide.name_listed`) and,
    with ``unmatched``, append those no document joined (:func:`topics.guide.add_unmatched`);
    unchanged without zero-shot topics."""
    meta = guide_meta(store, guide_key)
    if not meta["zeroshot"]:
        return representation
    guided = store.get("guide", guide_key, verify=False)
    if unmatched:
        return guide_mod.add_unmatched(representation, meta["names"], np.asarray(guided.array("listed_embeddings.npy")))
    return guide_mod.name_listed(representation, np.asarray(guided.array("zeroshot.npy")), meta["names"])
