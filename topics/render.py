"""The run's output tables, built from stage results (pure: nothing is written here).

``documents``: one row per kept document with its topic, HDBSCAN probability and map
coordinates. ``topics``: the topic table with list columns (Parquet), and a flat version
for spreadsheets (CSV): terms space-separated, representative ids joined by ``;``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLAT_TERMS = 10


def documents_table(corpus: pd.DataFrame, doc_topics: np.ndarray, probabilities: np.ndarray, coordinates: np.ndarray) -> pd.DataFrame:
    """Columns: doc_id, text, topic (int64), probability (float32), x, y (float32), then
    time, label, title where the corpus has them.

    Raises
    ------
    ValueError
        If the arrays do not have one row per document.
    """
    n_docs = len(corpus)
    for name, array in (("doc_topics", doc_topics), ("probabilities", probabilities), ("coordinates", coordinates)):
        if len(array) != n_docs:
            raise ValueError(f"{name} has {len(array)} rows for {n_docs} documents")
    table = pd.DataFrame(
        {
            "doc_id": corpus["doc_id"].to_numpy(),
            "text": corpus["text"].to_numpy(),
            "topic": np.asarray(doc_topics, dtype=np.int64),
            "probability": np.asarray(probabilities, dtype=np.float32),
            "x": np.asarray(coordinates[:, 0], dtype=np.float32),
            "y": np.asarray(coordinates[:, 1], dtype=np.float32),
        }
    )
    for column in ("time", "label", "title"):
        if column in corpus.columns:
            table[column] = corpus[column].to_numpy()
    return table


def flat_topics_table(topics: pd.DataFrame) -> pd.DataFrame:
    """The topic table with list columns flattened to strings, for CSV."""
    return pd.DataFrame(
        {
            "topic": topics["topic"].to_numpy(),
            "size": topics["size"].to_numpy(),
            "name": topics["name"].to_numpy(),
            "label": topics["label"].to_numpy(),
            "terms": [" ".join(terms[:FLAT_TERMS]) for terms in topics["terms"]],
            "representative_doc_ids": [";".join(ids) for ids in topics["representative_doc_ids"]],
            "summary": topics["summary"].to_numpy(),
        }
    )
