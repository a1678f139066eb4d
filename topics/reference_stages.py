"""The stages that compare a run with a reference run: ``assign`` (new documents into the
reference's topics, see :func:`topics.reference_assign.assign`) and ``drift`` (see
:func:`topics.drift.drift_report`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from topics import drift as drift_mod
from topics import reference as reference_mod
from topics import reference_assign
from topics.artifacts import ArtifactStore, EntryWriter, file_sha256, stable_key
from topics.config import ClusterConfig, ReferenceConfig, RepresentConfig
from topics.embed import space_label
from topics.stage_cache import StageResult, _cached, stage_key

def assign(
    store: ArtifactStore, corpus_key: str, embed_key: str, reduce_key: str, reference_dir: str | Path,
    config: ReferenceConfig, cluster_config: ClusterConfig, refresh: bool = False,
) -> StageResult:
    """Assign the corpus to a reference run's topics (see :func:`topics.reference_assign.assign`);
    entry files ``labels.npy`` int64 (n_docs,) and ``status.parquet`` (``status``,
    ``similarity``). The reference enters the key by its model files' content."""
    started = time.perf_counter()
    reference = reference_mod.load_reference(reference_dir)
    inputs = {"corpus": corpus_key, "embed": embed_key, "reduce": reduce_key, "reference": reference_fingerprint(reference_dir)}
    settings = {"threshold": config.threshold, "cluster": cluster_config.model_dump(mode="json")}
    key = stage_key("assign", inputs, settings)

    def fill(writer: EntryWriter) -> dict:
        corpus = store.get("load", corpus_key, verify=False)
        embedded = store.get("embed", embed_key, verify=False)
        reference_mod.check_vector_space(reference_dir, reference.info, embedded.meta["model"], space_label(embedded.meta))
        documents = corpus.table("documents.parquet")
        result = reference_assign.assign(
            documents["text"].tolist(), np.asarray(embedded.array("embeddings.npy")),
            np.asarray(store.get("reduce", reduce_key, verify=False).array("reduced.npy")), reference, config.threshold,
            cluster_config,
        )
        writer.array("labels.npy", result.labels)
        writer.table("status.parquet", pd.DataFrame({"status": result.status.astype(str), "similarity": result.similarity}))
        counts = pd.Series(result.status).value_counts()
        return {
            "n_topics": len(set(result.labels.tolist()) - {-1}),
            "n_outliers": int((result.labels < 0).sum()),
            "new_topics": result.new_topics,
            "status_counts": {str(k): int(v) for k, v in counts.items()},
        }

    return _cached(store, "assign", key, fill, refresh, started)


def reference_fingerprint(reference_dir: str | Path) -> str:
    """Digest of a reference run's model files and document topics (what assignment reads)."""
    run_dir = Path(reference_dir)
    files = sorted((run_dir / reference_mod.MODEL_DIR).iterdir()) + [run_dir / "documents.parquet"]
    return stable_key([(f.name, file_sha256(f)) for f in files if f.is_file()])


def drift(
    store: ArtifactStore, corpus_key: str, represent_key: str, reference_dir: str | Path, config: ReferenceConfig,
    assign_key: str | None = None, refresh: bool = False,
) -> StageResult:
    """Compare the run with a reference (see :func:`topics.drift.drift_report`); entry file
    ``drift.json``. With ``assign_key`` topics correspond through the assignment, else they
    are matched by topic-embedding similarity."""
    started = time.perf_counter()
    inputs = {"corpus": corpus_key, "represent": represent_key, "assign": assign_key, "reference": reference_fingerprint(reference_dir)}
    settings = {"match_threshold": config.match_threshold, "reference_dir": str(Path(reference_dir).resolve())}
    key = stage_key("drift", inputs, settings)

    def fill(writer: EntryWriter) -> dict:
        reference = reference_mod.load_reference(reference_dir)
        represented = store.get("represent", represent_key, verify=False)
        labels = status = None
        if assign_key is not None:
            assigned = store.get("assign", assign_key, verify=False)
            labels = np.asarray(assigned.array("labels.npy"))
            status = assigned.table("status.parquet")["status"].to_numpy()
        report = drift_mod.drift_report(
            reference, represented.table("topics.parquet"), np.asarray(represented.array("topic_embeddings.npy")),
            np.asarray(represented.array("doc_topics.npy")), config.match_threshold, labels, status,
        )
        writer.json("drift.json", report)
        return {"n_new_topics": len(report["new_topics"]), "n_vanished": len(report["vanished"])}

    return _cached(store, "drift", key, fill, refresh, started)


# Files of the reference model sit flat in the represent entry under this prefix, and in the
# run directory under model/.
MODEL_PREFIX = "model__"


def save_reference_model(
    writer: EntryWriter, result, embeddings: np.ndarray, embedded: dict, model_path: str, config: RepresentConfig,
    reassigned: np.ndarray | None = None,
) -> None:
    """Save ``result``'s reference model (see :mod:`topics.reference`) into the represent
    entry, each file prefixed ``MODEL_PREFIX``. ``reassigned`` (bool, (n_docs,)) marks the
    outliers that outlier reduction moved into a topic; they do not set its threshold."""
    import tempfile

    real = result.topics["topic"] >= 0
    topic_ids = result.topics.loc[real, "topic"].tolist()
    thresholds = reference_mod.member_thresholds(embeddings, result.doc_topics, result.topic_embeddings[real.to_numpy()], topic_ids,
                                                 reassigned)
    info = {"embedding_model": embedded["model"], "embedding_backend": space_label(embedded),
            "represent": config.term_settings()}
    with tempfile.TemporaryDirectory(dir=writer.path.parent) as folder:
        target = Path(folder) / "model"
        reference_mod.save_reference(target, result.model, model_path, info, result.topics, result.topic_embeddings, thresholds)
        for file in sorted(target.iterdir()):
            os.replace(file, writer.path / f"{MODEL_PREFIX}{file.name}")
