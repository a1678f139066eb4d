"""The ``label`` stage: LLM-written topic labels and summaries (see
:mod:`topics.represent.llm`), or the representation passed through when they are off."""

from __future__ import annotations

import time

import pandas as pd

from topics.artifacts import ArtifactStore, EntryWriter
from topics.config import LLMConfig
from topics.stage_cache import StageResult, _cached, stage_key

# LLM replies are cached here, inside the store, by (client, settings, prompt).
LLM_RESPONSES_DIR = ".llm-responses"


def label(store: ArtifactStore, corpus_key: str, represent_key: str, config: LLMConfig, refresh: bool = False) -> StageResult:
    """LLM labels and summaries (see :func:`topics.represent.llm.label_topics`); entry file
    ``topics.parquet`` (the representation's table with ``label`` and ``summary`` filled).

    With ``config.enabled`` false the table passes through unchanged. A topic whose call fails
    keeps no label (so its c-TF-IDF name is shown) and is listed in the entry's ``failures``;
    such an entry is not reused, so the next run retries those topics (replies that succeeded
    come from the reply cache). Never raises because of the LLM. Listed zero-shot topics
    (``zeroshot`` true) keep the analyst's name as label: they are not sent to the LLM.
    """
    started = time.perf_counter()
    if not config.enabled:
        key = stage_key("label", {"represent": represent_key}, {"enabled": False})

        def passthrough(writer: EntryWriter) -> dict:
            writer.table("topics.parquet", store.get("represent", represent_key, verify=False).table("topics.parquet"))
            return {"enabled": False}

        return _cached(store, "label", key, passthrough, refresh, started)

    from topics.represent import llm, llm_clients

    client = llm_clients.build_client(config)
    # Settings that change the replies; not the key's variable name, timeouts or concurrency.
    settings = config.model_dump(mode="json", exclude={"api_key_env", "timeout_s", "max_retries", "concurrency"})
    settings.update(client=client.identity, prompt_version=llm.PROMPT_VERSION)
    key = stage_key("label", {"corpus": corpus_key, "represent": represent_key}, settings)

    def fill(writer: EntryWriter) -> dict:
        topics = store.get("represent", represent_key, verify=False).table("topics.parquet")
        documents = store.get("load", corpus_key, verify=False).table("documents.parquet")
        text_by_id = dict(zip(documents["doc_id"], documents["text"]))
        prompts = [
            llm.TopicPrompt(int(row.topic), list(row.terms), [text_by_id[d] for d in list(row.representative_doc_ids) if d in text_by_id])
            for row in topics.itertuples(index=False) if row.topic >= 0 and not getattr(row, "zeroshot", False)
        ]
        result = llm.label_topics(prompts, client, config, llm.ResponseCache(store.root / LLM_RESPONSES_DIR))
        listed = dict(zip(topics["topic"], topics["label"])) if "zeroshot" in topics.columns else {}
        labels = topics["topic"].map(lambda t: result.labels.get(int(t), (listed.get(t), None))[0])
        summaries = topics["topic"].map(lambda t: result.labels.get(int(t), (None, None))[1])
        topics["label"] = pd.Series(labels.tolist(), dtype=object)
        topics["summary"] = pd.Series(summaries.tolist(), dtype=object)
        writer.table("topics.parquet", topics)
        return {
            "enabled": True,
            "client": client.identity,
            "n_labelled": len(result.labels),
            "failures": {str(topic): reason for topic, reason in sorted(result.failures.items())},
            "n_calls": result.n_calls,
            "n_cached": result.n_cached,
            "seconds": round(result.seconds, 3),
        }

    return _cached(store, "label", key, fill, refresh, started, reusable=lambda meta: not meta.get("failures"))
