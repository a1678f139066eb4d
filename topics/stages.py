"""The pipeline's stages, each cached in an :class:`~topics.artifacts.ArtifactStore`.

Every stage function takes the store, the keys of its upstream stages and its own settings,
and returns a :class:`StageResult` naming the entry that holds its output. Stages pass keys,
never arrays, so a Prefect task (or a notebook) can chain them cheaply.

A stage's key hashes everything that shapes its output and nothing else:

- the keys (or, for embeddings, the corpus fingerprint) of its inputs,
- its own settings, less those that cannot change the result (batch size, device,
  progress bars),
- for embeddings, the vector space: the model's identity (name plus a digest of its files),
  backend, dtype and ``max_seq_length`` (see :func:`topics.embed.vector_space`),
- the versions of the packages that compute it, and ``CODE_VERSIONS[stage]``, to be
  bumped whenever a change here alters that stage's output.

So changing HDBSCAN settings reuses embed, reduce and project; changing outlier or topic
reduction reuses everything up to cluster; changing the representation chain reuses every
assignment; changing only the LLM settings reuses everything but the labels.

Stage names, keys, the stage graph (``INPUTS``) and the cache's reuse-or-compute live in
:mod:`topics.stage_cache`; the embed stage (per-document vector reuse) in
:mod:`topics.embed_stage`, the guide stage in :mod:`topics.guide_stage`, the reference stages
in :mod:`topics.reference_stages`, LLM labels in :mod:`topics.label_stage`, keywords in
:mod:`topics.keyword_stage`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from topics import cluster as cluster_mod
from topics import embed as embed_mod
from topics import evaluate as quality
from topics import guide as guide_mod
from topics import guide_stage
from topics import reduce as reduce_mod
from topics import reduce_chunks
from topics import refine as refine_mod
from topics import reference as reference_mod
from topics import render as render_mod
from topics import report
from topics.artifacts import ENTRY_FILE, ArtifactStore, EntryWriter, copy_file, file_sha256, write_text
from topics.config import (
    ClusterConfig, CorpusConfig, EmbedConfig, ProjectConfig, ReduceConfig, RefineConfig, RenderConfig, RepresentConfig,
)
from topics.corpus import load_corpus
from topics.embed_stage import embed
from topics.guide_stage import guide
from topics.keyword_stage import keywords
from topics.label_stage import label
from topics.reference_stages import MODEL_PREFIX, assign, drift, reference_fingerprint, save_reference_model
from topics.represent import build_vectorizer
from topics.represent import represent as represent_topics
from topics.represent.chain import needs_embedding_model
from topics.stage_cache import (
    ALL_STAGES, CODE_VERSIONS, INPUTS, PAUSE_AFTER_CHUNK_ENV, PAUSE_ENV, PAUSE_SIGNAL_ENV, REFERENCE_STAGES, STAGES,
    StageResult, _cached, stage_key, with_downstream,
)

__all__ = [
    "ALL_STAGES", "CODE_VERSIONS", "INPUTS", "PAUSE_AFTER_CHUNK_ENV", "PAUSE_ENV", "PAUSE_SIGNAL_ENV", "REFERENCE_STAGES", "STAGES", "StageResult", "assign",
    "cluster", "drift", "embed", "evaluate", "guide", "keywords", "label", "load", "project", "publish", "reduce", "reference_fingerprint",
    "refine", "render", "represent", "stage_key", "with_downstream",
]

# The render entry's list of pages, read when the run's index is written; not published.
VIEWS_FILE = "views.json"

# --- stages -------------------------------------------------------------------------------

def load(store: ArtifactStore, input_path: str | Path, config: CorpusConfig, refresh: bool = False) -> StageResult:
    """Read the corpus file and store it. The key is the content of what was kept (ids, texts
    and the time/label/title columns) plus the drop log, so two files with the same usable
    content share an entry.

    Raises
    ------
    topics.corpus.CorpusError
        If the file cannot be read as configured.
    """
    started = time.perf_counter()
    corpus = load_corpus(input_path, config)
    content = hashlib.sha256(pd.util.hash_pandas_object(corpus.documents, index=False).to_numpy().tobytes())
    content.update(pd.util.hash_pandas_object(corpus.dropped.astype(str), index=False).to_numpy().tobytes())
    key = stage_key("load", {"fingerprint": corpus.fingerprint}, {"content": content.hexdigest()})

    def fill(writer: EntryWriter) -> dict:
        writer.table("documents.parquet", corpus.documents)
        writer.table("dropped.parquet", corpus.dropped)
        return {
            "fingerprint": corpus.fingerprint,
            "n_docs": len(corpus),
            "n_dropped": len(corpus.dropped),
            "dropped_by_reason": {str(k): int(v) for k, v in corpus.dropped["reason"].value_counts().items()},
            "columns": list(corpus.documents.columns),
        }

    return _cached(store, "load", key, fill, refresh, started)


def reduction_key(stage: str, store: ArtifactStore, embed_key: str, config: ReduceConfig | ProjectConfig) -> str:
    """The entry key of the ``reduce`` or ``project`` stage over ``embed_key``'s embeddings
    (its chunk entries are filed under the same key; see :mod:`topics.reduce_chunks`)."""
    n_docs = len(store.get("embed", embed_key, verify=False).array("embeddings.npy"))
    return stage_key(stage, {"embed": embed_key}, reduce_mod.key_settings(config, n_docs))


def _reduction(stage: str, store: ArtifactStore, embed_key: str, config, compute, file: str, refresh: bool,
               processes: int = 1) -> StageResult:
    started = time.perf_counter()
    key = reduction_key(stage, store, embed_key, config)
    n_docs = len(store.get("embed", embed_key, verify=False).array("embeddings.npy"))
    sampled = reduce_mod.fit_sample_rows(n_docs, config.fit_sample, config.random_state) is not None

    def fill(writer: EntryWriter) -> dict:
        if sampled:  # fit on the sample, place the rest chunk by chunk (jobs a Dask run may have done)
            placed = reduce_chunks.reduce_in_chunks(stage, store, embed_key, config, key, writer.path / file, refresh, processes)
            return {"fit_sample": config.fit_sample, **placed}
        embeddings = store.get("embed", embed_key, verify=False).array("embeddings.npy")
        writer.array(file, compute(np.asarray(embeddings), config))
        return {}

    return _cached(store, stage, key, fill, refresh, started)


def reduce(store: ArtifactStore, embed_key: str, config: ReduceConfig, refresh: bool = False, guide_key: str | None = None,
           processes: int = 1) -> StageResult:
    """UMAP into the clustering space; entry file ``reduced.npy`` float32 (n_docs, n_components).
    With seed topics in ``guide_key``'s entry, of the nudged embeddings (see :mod:`topics.guide_stage`).
    Above ``fit_sample``, the ``transform`` chunks run in up to ``processes`` worker processes."""
    if guide_stage.guide_meta(store, guide_key)["seeded"]:
        return guide_stage.reduce_seeded(store, embed_key, guide_key, config, refresh)
    return _reduction("reduce", store, embed_key, config, reduce_mod.reduce, "reduced.npy", refresh, processes)


def project(store: ArtifactStore, embed_key: str, config: ProjectConfig, refresh: bool = False, processes: int = 1) -> StageResult:
    """UMAP into the 2-D map; entry file ``coordinates.npy`` float32 (n_docs, 2). Above
    ``fit_sample``, the ``transform`` chunks run in up to ``processes`` worker processes."""
    return _reduction("project", store, embed_key, config, reduce_mod.project, "coordinates.npy", refresh, processes)


def cluster(store: ArtifactStore, reduce_key: str, config: ClusterConfig, refresh: bool = False, guide_key: str | None = None) -> StageResult:
    """HDBSCAN; entry files ``labels.npy`` int64 (n_docs,) and ``probabilities.npy`` float32 (n_docs,).
    With zero-shot topics in ``guide_key``'s entry, of the documents none took (see :mod:`topics.guide_stage`)."""
    if guide_stage.guide_meta(store, guide_key)["zeroshot"]:
        return guide_stage.cluster_rest(store, reduce_key, guide_key, config, refresh)
    started = time.perf_counter()
    key = stage_key("cluster", {"reduce": reduce_key}, config.model_dump(mode="json"))

    def fill(writer: EntryWriter) -> dict:
        reduced = store.get("reduce", reduce_key, verify=False).array("reduced.npy")
        labels, probabilities = cluster_mod.cluster(np.asarray(reduced), config)
        writer.array("labels.npy", labels)
        writer.array("probabilities.npy", probabilities)
        return {"n_clusters": int(labels.max() + 1), "n_outliers": int((labels < 0).sum())}

    return _cached(store, "cluster", key, fill, refresh, started)


def refine(
    store: ArtifactStore, corpus_key: str, embed_key: str, cluster_key: str, config: RefineConfig,
    represent_config: RepresentConfig, refresh: bool = False,
) -> StageResult:
    """Outlier and topic reduction (see :func:`topics.refine.refine`); entry files ``labels.npy``
    int64 (n_docs,) and ``reassigned.npy`` bool (n_docs,), true for an outlier that outlier
    reduction moved into a topic. Tokenisation settings join the key only when the refinement
    reads c-TF-IDF."""
    started = time.perf_counter()
    inputs = {"corpus": corpus_key, "embed": embed_key, "cluster": cluster_key}
    settings = {"refine": config.model_dump(mode="json")}
    if refine_mod.uses_vocabulary(config):
        settings["vectorizer"] = represent_config.vectorizer_settings()
    key = stage_key("refine", inputs, settings)

    def fill(writer: EntryWriter) -> dict:
        texts = store.get("load", corpus_key, verify=False).table("documents.parquet")["text"].tolist()
        embeddings = np.asarray(store.get("embed", embed_key, verify=False).array("embeddings.npy"))
        labels = np.asarray(store.get("cluster", cluster_key, verify=False).array("labels.npy"))
        result = refine_mod.refine(texts, embeddings, labels, config, represent_config)
        writer.array("labels.npy", result.labels)
        writer.array("reassigned.npy", (labels == -1) & (result.labels != -1))
        return {
            "n_topics": len(set(result.labels.tolist()) - {-1}),
            "n_outliers": int((result.labels < 0).sum()),
            "n_merged": result.n_merged,
            "n_reassigned": result.n_reassigned,
        }

    result = _cached(store, "refine", key, fill, refresh, started)
    meta = store.get("refine", key, verify=False).meta
    adjustment = refine_mod.nr_topics_adjustment(config, meta["n_topics"] + meta["n_merged"])
    return dataclasses.replace(result, details={"adjustments": [adjustment]}) if adjustment else result


def represent(
    store: ArtifactStore, corpus_key: str, embed_key: str, labels_key: str, config: RepresentConfig,
    embed_config: EmbedConfig, refresh: bool = False, labels_stage: str = "refine", guide_key: str | None = None,
) -> StageResult:
    """Topic representation (see :func:`topics.represent.represent`): c-TF-IDF refined by the
    chain, without LLM labels, for the assignments in ``labels_stage``'s entry (``refine``, or
    ``assign`` against a reference). Entry files: ``topics.parquet``, ``doc_topics.npy`` int64
    (n_docs,), ``ctfidf.npz`` (scipy CSR), ``vocabulary.json``, ``topic_embeddings.npy``
    float32 (n_topics, dim), and the reference model's files, prefixed ``model__`` (see
    :mod:`topics.reference`). ``embed_config`` names the model the chain embeds words with
    (the embed key already pins its identity). With a guide (``guide_key``), seed words are
    boosted in c-TF-IDF and listed topics named, those no document joined added with size 0
    (see :mod:`topics.guide_stage`); the topic table then has a ``zeroshot`` column."""
    started = time.perf_counter()
    guide_inputs, guide_settings = guide_stage.represent_guide(store, guide_key)
    inputs = {"corpus": corpus_key, "embed": embed_key, labels_stage: labels_key, **guide_inputs}
    key = stage_key("represent", inputs, {**config.term_settings(), **guide_settings})

    def fill(writer: EntryWriter) -> dict:
        documents = store.get("load", corpus_key, verify=False).table("documents.parquet")
        embedded = store.get("embed", embed_key, verify=False)
        embeddings = np.asarray(embedded.array("embeddings.npy"))
        labelled = store.get(labels_stage, labels_key, verify=False)
        labels = np.asarray(labelled.array("labels.npy"))
        # Outliers moved in by outlier reduction do not set the reference thresholds.
        reassigned = np.asarray(labelled.array("reassigned.npy")) if labels_stage == "refine" else None
        model = None
        if needs_embedding_model(config):
            model = embed_mod.load_model(embed_config.model, embed_mod.resolve_device(embed_config.device), embed_config.max_seq_length)
        result = represent_topics(documents["text"].tolist(), documents["doc_id"].tolist(), embeddings, labels, config, model,
                                  guide_settings.get("seed_words"))
        result = guide_stage.mark_listed(store, guide_key, result, unmatched=False)
        save_reference_model(writer, result, embeddings, embedded.meta, embed_mod.resolve_model(embed_config.model), config,
                             reassigned)
        result = guide_stage.mark_listed(store, guide_key, result, unmatched=True)
        writer.table("topics.parquet", result.topics)
        writer.array("doc_topics.npy", result.doc_topics)
        writer.array("topic_embeddings.npy", result.topic_embeddings)
        writer.json("vocabulary.json", result.vocabulary)
        with open(writer.path / "ctfidf.npz", "wb") as handle:
            sparse.save_npz(handle, result.ctfidf)
        return {"n_topics": int((result.topics["topic"] >= 0).sum()), "language": result.language.as_dict()}

    result = _cached(store, "represent", key, fill, refresh, started)
    # The term language (detected or set) goes into the run's record, also on a cache hit.
    language = store.get("represent", key, verify=False).meta.get("language")
    return dataclasses.replace(result, details={"language": language}) if language else result


def evaluate(
    store: ArtifactStore, corpus_key: str, reduce_key: str, represent_key: str, config: RepresentConfig, refresh: bool = False
) -> StageResult:
    """Quality metrics and, when the corpus has labels, agreement with them (see
    :mod:`topics.evaluate`). Entry files: ``metrics.json``, and with labels
    ``per_label.parquet`` and ``confusion.parquet`` (topic, label, count); with labels and
    listed zero-shot topics, ``metrics["labels"]["zeroshot"]`` scores each listed topic.

    ``config`` is the representation's, so the corpus is tokenised as c-TF-IDF saw it.
    """
    started = time.perf_counter()
    inputs = {"corpus": corpus_key, "reduce": reduce_key, "represent": represent_key}
    key = stage_key("evaluate", inputs, config.vectorizer_settings())

    def fill(writer: EntryWriter) -> dict:
        documents = store.get("load", corpus_key, verify=False).table("documents.parquet")
        represented = store.get("represent", represent_key, verify=False)
        topics = represented.table("topics.parquet")
        doc_topics = np.asarray(represented.array("doc_topics.npy"))
        reduced = np.asarray(store.get("reduce", reduce_key, verify=False).array("reduced.npy"))
        analyzer = build_vectorizer(config, documents["text"].tolist()).build_analyzer()
        metrics = quality.summarize(documents, topics, doc_topics, reduced, analyzer)
        if "label" in documents.columns:
            agreement = quality.label_agreement(doc_topics, documents["label"])
            metrics["labels"] = {"mapping": {str(k): v for k, v in agreement["mapping"].items()}, **agreement["scores"]}
            if "zeroshot" in topics.columns:  # listed topics scored against the labels (see topics.guide)
                metrics["labels"]["zeroshot"] = guide_mod.zeroshot_scores(topics, doc_topics, documents["label"])
            writer.table("per_label.parquet", agreement["per_label"])
            confusion = agreement["confusion"].stack().rename("count").reset_index()
            writer.table("confusion.parquet", confusion[confusion["count"] > 0].astype({"label": str}))
        writer.json("metrics.json", metrics)
        return {"coherence_npmi": metrics["coherence_npmi"], "topic_diversity": metrics["topic_diversity"]}

    return _cached(store, "evaluate", key, fill, refresh, started)


def render(
    store: ArtifactStore, corpus_key: str, project_key: str, cluster_key: str | None, represent_key: str, label_key: str,
    evaluate_key: str, config: RenderConfig, refresh: bool = False, assign_key: str | None = None,
    drift_key: str | None = None, keywords_key: str | None = None,
) -> StageResult:
    """The run's tables (documents, topics, metrics) and pages (see :func:`topics.render.views`).
    Topics come from the label stage (with LLM labels when enabled); assignments and topic
    embeddings from the representation. Against a reference, ``assign_key`` (assign mode; it
    replaces ``cluster_key``) adds each document's status, ``drift_key`` the drift page
    and ``drift.json``, and ``keywords_key`` (None: keywords are off) a ``keywords`` column."""
    started = time.perf_counter()
    # The labels' content, not only their key: a label entry with failed LLM calls is redone
    # under the same key, and its new labels must reach the pages.
    labels_digest = file_sha256(store.get("label", label_key, verify=False).file("topics.parquet"))
    inputs = {
        "corpus": corpus_key, "project": project_key, "cluster": cluster_key, "represent": represent_key,
        "label": [label_key, labels_digest], "evaluate": evaluate_key, "assign": assign_key, "drift": drift_key,
        "keywords": keywords_key}
    key = stage_key("render", inputs, config.model_dump(mode="json"))

    def fill(writer: EntryWriter) -> dict:
        represented = store.get("represent", represent_key, verify=False)
        topics = store.get("label", label_key, verify=False).table("topics.parquet")
        doc_topics = np.asarray(represented.array("doc_topics.npy"))
        status = None
        if assign_key is not None:
            status = store.get("assign", assign_key, verify=False).table("status.parquet")
            # No HDBSCAN membership after assignment: NaN says "not computed" (the status and
            # reference_similarity columns tell how each document was placed).
            probabilities = np.full(len(doc_topics), np.nan, dtype=np.float32)
        else:
            probabilities = np.asarray(store.get("cluster", cluster_key, verify=False).array("probabilities.npy"))
        keywords_table = store.get("keywords", keywords_key, verify=False).table("keywords.parquet") if keywords_key else None
        documents = render_mod.documents_table(
            store.get("load", corpus_key, verify=False).table("documents.parquet"), doc_topics, probabilities,
            np.asarray(store.get("project", project_key, verify=False).array("coordinates.npy")), status, topics, keywords_table,
        )
        drift_report = store.get("drift", drift_key, verify=False).json("drift.json") if drift_key else None
        evaluated = store.get("evaluate", evaluate_key, verify=False)
        metrics = evaluated.json("metrics.json")
        labelled = metrics.get("labels") is not None
        writer.table("documents.parquet", documents)
        writer.table("topics.parquet", topics)
        writer.bytes("topics.csv", render_mod.flat_topics_table(topics).to_csv(index=False).encode("utf-8"))
        writer.json("metrics.json", metrics)
        pages = render_mod.views(
            documents, topics, np.asarray(represented.array("topic_embeddings.npy")), metrics,
            evaluated.table("per_label.parquet") if labelled else None,
            evaluated.table("confusion.parquet") if labelled else None, config, drift_report,
        )
        if drift_report is not None:
            writer.json("drift.json", drift_report)
        for view in pages:
            writer.text(view.file, view.html)
        writer.json(VIEWS_FILE, [{"file": v.file, "title": v.title, "drawn": v.drawn, "reason": v.reason} for v in pages])
        return {"n_docs": len(documents), "n_topics": int((topics["topic"] >= 0).sum())}

    return _cached(store, "render", key, fill, refresh, started)


def publish(
    store: ArtifactStore, run_dir: str | Path, corpus_key: str, labels_key: str, represent_key: str, render_key: str,
    run: dict[str, Any], labels_stage: str = "refine",
) -> dict[str, Any]:
    """Copy the rendered outputs and the drop log into ``run_dir`` (each file atomically), and
    write the run's ``index.html`` from ``run`` (the manifest so far) and the rendered tables.

    Returns the run's summary for the manifest: output file names, the corpus fingerprint
    (ids and texts used) and document, drop, topic and outlier counts.
    """
    run_dir = Path(run_dir)
    corpus = store.get("load", corpus_key, verify=False)
    rendered = store.get("render", render_key, verify=False)
    outputs = []
    for file in sorted(rendered.path.iterdir()):
        if file.name not in (ENTRY_FILE, VIEWS_FILE):
            copy_file(file, run_dir / file.name)
            outputs.append(file.name)
    copy_file(corpus.file("dropped.parquet"), run_dir / "dropped.parquet")
    # The reference model (model/), so that this run can serve as a later run's reference.
    represented = store.get("represent", represent_key, verify=False)
    for file in sorted(represented.path.glob(f"{MODEL_PREFIX}*")):
        copy_file(file, run_dir / reference_mod.MODEL_DIR / file.name.removeprefix(MODEL_PREFIX))
    outputs.append(f"{reference_mod.MODEL_DIR}/")
    # One plotly.js per run folder, shared by its pages; taken from the installed plotly.
    write_text(run_dir / report.PLOTLY_JS, report.plotly_js())
    refined = store.get(labels_stage, labels_key, verify=False).meta
    summary = {
        "corpus_fingerprint": corpus.meta["fingerprint"],
        "n_docs": corpus.meta["n_docs"],
        "n_dropped": corpus.meta["n_dropped"],
        "dropped_by_reason": corpus.meta["dropped_by_reason"],
        "n_topics": rendered.meta["n_topics"],
        "n_outliers": refined["n_outliers"],
    }
    topics, metrics = rendered.table("topics.parquet"), rendered.json("metrics.json")
    drift_report = rendered.json("drift.json") if rendered.file("drift.json").is_file() else None
    write_text(run_dir / "index.html", report.index_page({**run, **summary}, topics, metrics, rendered.json(VIEWS_FILE), drift_report))
    summary["outputs"] = sorted([*outputs, "dropped.parquet", report.PLOTLY_JS, "index.html"])
    return summary
