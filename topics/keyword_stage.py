"""The ``keywords`` stage: each document's KeyBERT keywords (see :mod:`topics.keywords`).

It reads the corpus (load) and its stored embeddings (embed) and nothing else, so turning it
on or off, or changing its settings, reuses every other stage. Only the candidate words are
embedded, with the run's encoder (``embed.model``, ``embed.backend``, ``max_seq_length``),
through the vector store of the embed stage: a word embedded once is reused by every later
run in the same vector space, so changing ``keywords.top_n`` or MMR embeds nothing again.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from topics import embed as embed_mod
from topics import keywords as keywords_mod
from topics.artifacts import ArtifactStore, EntryWriter
from topics.config import EmbedConfig, KeywordsConfig, RepresentConfig
from topics.embed_stage import config_space, embed_documents
from topics.stage_cache import StageResult, _cached, stage_key

# Candidate words are short: a large batch costs little memory and saves many forward passes.
WORD_BATCH_SIZE = 256


def keywords(
    store: ArtifactStore, corpus_key: str, embed_key: str, config: KeywordsConfig, embed_config: EmbedConfig,
    represent_config: RepresentConfig, refresh: bool = False,
) -> StageResult:
    """Per-document keywords; entry file ``keywords.parquet`` with ``doc_id``, ``keywords``
    (list of str, best first, at most ``config.top_n``) and ``scores`` (list of float32,
    cosine similarity to the document), one row per document in corpus order.

    The key is the corpus and embed keys, ``config`` (less ``enabled``), the tokenisation
    (``represent.language``, ``stop_words``, ``token_pattern``), ``CODE_VERSIONS["keywords"]``
    and the versions of keybert, scikit-learn and numpy. ``embed_config`` must be the run's
    (the embed key pins its vector space). The manifest's record adds ``n_words`` (distinct
    candidate words) and ``words_encoded`` (those not found in the vector store).

    Raises
    ------
    topics.embed.EmbeddingError
        If ``embed_config`` names another vector space than the embed entry's, or the model
        cannot be loaded.
    """
    started = time.perf_counter()
    settings = config.model_dump(mode="json", exclude={"enabled"})
    settings["tokenizer"] = represent_config.model_dump(mode="json", include={"language", "stop_words", "token_pattern"})
    key = stage_key("keywords", {"corpus": corpus_key, "embed": embed_key}, settings)

    def fill(writer: EntryWriter) -> dict:
        documents = store.get("load", corpus_key, verify=False).table("documents.parquet")
        embedded = store.get("embed", embed_key, verify=False)
        space = config_space(embed_config)
        stored = {k: embedded.meta.get(k) for k in ("model", "backend", "dtype")}
        if stored != {k: space[k] for k in stored}:
            raise embed_mod.EmbeddingError(f"keywords: embed settings give {space['model']} {embed_mod.space_label(space)}, "
                                           f"the embed entry holds {stored['model']} {embed_mod.space_label(stored)}")
        texts = documents["text"].tolist()
        words = keywords_mod.candidate_words(texts, config.keyphrase_ngram_range, represent_config)
        counts = {"reused": 0, "encoded": 0}
        with tempfile.TemporaryDirectory(dir=writer.path.parent) as folder:
            word_embeddings = None
            if words:
                out = Path(folder) / "words.npy"
                word_config = embed_config.model_copy(update={"batch_size": max(embed_config.batch_size, WORD_BATCH_SIZE)})
                counts = embed_documents(store, words, word_config, out)
                word_embeddings = np.load(out, mmap_mode="r")
            found, scores = keywords_mod.extract_keywords(
                texts, np.asarray(embedded.array("embeddings.npy")), top_n=config.top_n,
                keyphrase_ngram_range=config.keyphrase_ngram_range, use_mmr=config.use_mmr, diversity=config.diversity,
                word_embeddings=word_embeddings, represent_config=represent_config,
            )
            del word_embeddings
        writer.table("keywords.parquet", pd.DataFrame({
            "doc_id": documents["doc_id"].to_numpy(),
            "keywords": pd.Series(found, dtype=object),
            "scores": pd.Series([np.asarray(s, dtype=np.float32) for s in scores], dtype=object),
        }))
        return {"n_docs": len(texts), "n_words": len(words), "words_reused": int(counts["reused"]),
                "words_encoded": int(counts["encoded"])}

    result = _cached(store, "keywords", key, fill, refresh, started)
    meta = store.get("keywords", result.key, verify=False).meta
    details = {"n_words": int(meta["n_words"]), "words_encoded": 0 if result.hit else int(meta["words_encoded"])}
    return dataclasses.replace(result, details=details)
