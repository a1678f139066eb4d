"""The run's output tables and pages, built from stage results (pure: nothing is written here).

``documents``: one row per kept document with its topic, HDBSCAN probability and map
coordinates (and its keywords, when the keywords stage ran). ``topics``: the topic table with list columns (Parquet), and a flat version
for spreadsheets (CSV): terms space-separated, representative ids joined by ``;``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from topics import map_page, report, visualize
from topics.config import RenderConfig

FLAT_TERMS = 10


def documents_table(
    corpus: pd.DataFrame, doc_topics: np.ndarray, probabilities: np.ndarray, coordinates: np.ndarray,
    status: pd.DataFrame | None = None, topics: pd.DataFrame | None = None, keywords: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Columns: doc_id, text, topic (int64), probability (float32), x, y (float32), then
    time, label, title where the corpus has them, and after assignment to a reference
    ``status`` (seen, assigned, new, outlier) and ``reference_similarity`` (float32).
    When ``topics`` has listed zero-shot topics (a ``zeroshot`` column), ``zeroshot_topic``:
    the listed topic's name for documents in one, else None; their ``probability`` is NaN.
    With ``keywords`` (the keywords stage's table: ``doc_id``, ``keywords``) a ``keywords``
    column (list of str per document, best first).

    Raises
    ------
    ValueError
        If the arrays do not have one row per document, or ``keywords`` holds other documents.
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
            table[column] = corpus[column].array  # keeps nullable years and UTC timestamps as they are
    if status is not None:
        table["status"] = status["status"].to_numpy()
        table["reference_similarity"] = status["similarity"].to_numpy(dtype=np.float32)
    if topics is not None and "zeroshot" in topics.columns:
        listed = topics[topics["zeroshot"]]
        names = dict(zip(listed["topic"].astype(int), listed["label"]))
        table["zeroshot_topic"] = pd.Series([names.get(int(t)) for t in table["topic"]], dtype=object)
    if keywords is not None:
        if not np.array_equal(keywords["doc_id"].to_numpy(), table["doc_id"].to_numpy()):
            raise ValueError("the keywords are not those of these documents (doc_id differs)")
        table["keywords"] = pd.Series([[str(word) for word in words] for words in keywords["keywords"]], dtype=object)
    return table


def flat_topics_table(topics: pd.DataFrame) -> pd.DataFrame:
    """The topic table with list columns flattened to strings, for CSV: the chain's terms
    and the plain c-TF-IDF terms (top 10 each, space-separated), representative ids joined
    by ``;``, and ``zeroshot`` when the run listed topics."""
    flat = pd.DataFrame(
        {
            "topic": topics["topic"].to_numpy(),
            "size": topics["size"].to_numpy(),
            "name": topics["name"].to_numpy(),
            "label": topics["label"].to_numpy(),
            "terms": [" ".join(terms[:FLAT_TERMS]) for terms in topics["terms"]],
            # A reference run made before the column existed has none.
            "ctfidf_terms": [" ".join(terms[:FLAT_TERMS]) for terms in topics.get("ctfidf_terms", [[]] * len(topics))],
            "representative_doc_ids": [";".join(ids) for ids in topics["representative_doc_ids"]],
            "summary": topics["summary"].to_numpy(),
        }
    )
    if "zeroshot" in topics.columns:
        flat["zeroshot"] = topics["zeroshot"].to_numpy()
    return flat


@dataclass(frozen=True)
class View:
    """One page of the run folder: its file, title, HTML, and why it was not drawn (if so)."""

    file: str
    title: str
    html: str
    drawn: bool
    reason: str = ""


def _view(file: str, title: str, draw, note: str = "", page=report.figure_page) -> View:
    try:
        figure = draw()
    except visualize.CannotDraw as exc:
        return View(file, title, report.message_page(title, str(exc)), False, str(exc))
    return View(file, title, page(title, figure, div_id=file.removesuffix(".html"), note=note), True)


def views(
    documents: pd.DataFrame, topics: pd.DataFrame, topic_embeddings: np.ndarray, metrics: dict,
    per_label: pd.DataFrame | None, confusion: pd.DataFrame | None, config: RenderConfig, drift: dict | None = None,
) -> list[View]:
    """Every page of the run folder but the index (see :func:`topics.report.index_page`).
    Listed zero-shot topics that no document joined (size 0) are in the tables, not in the figures."""
    drawn = (topics["size"] > 0).to_numpy() | (topics["topic"] < 0).to_numpy()
    if not drawn.all():
        topics, topic_embeddings = topics[drawn].reset_index(drop=True), np.asarray(topic_embeddings)[drawn]
    representative = {d for ids in topics["representative_doc_ids"] for d in ids}
    shown = visualize.display_sample(documents, config.map_max_points, keep_ids=representative, seed=0)
    note = "" if len(shown) == len(documents) else (
        f"Showing {len(shown):,} of {len(documents):,} documents: a fixed sample that keeps every topic "
        "and every representative document; documents.parquet has them all."
    )
    pages = [
        _view("topic_map.html", "Document map", lambda: visualize.document_map(shown, topics, config.snippet_chars), note,
              map_page.map_page),
        _view("intertopic.html", "Intertopic distance map", lambda: visualize.intertopic_map(topics, topic_embeddings)),
        _view("terms.html", "Top terms per topic", lambda: visualize.term_bars(topics)),
        _view("hierarchy.html", "Topic hierarchy", lambda: visualize.hierarchy(topics, topic_embeddings)),
        _view("similarity.html", "Topic similarity", lambda: visualize.similarity_heatmap(topics, topic_embeddings)),
        _view("over_time.html", "Topics over time", lambda: visualize.topics_over_time(documents, topics),
              visualize.over_time_note(documents)),
        _view("per_class.html", "Topics per class", lambda: visualize.topics_per_class(documents, topics)),
    ]
    title = "Classification report"
    if metrics.get("labels") and per_label is not None and confusion is not None:
        try:
            figure, reason = visualize.confusion_heatmap(confusion, topics), ""
        except visualize.CannotDraw as exc:
            figure, reason = None, str(exc)
        pages.append(View("classification.html", title, report.classification_page(metrics, per_label, figure, reason), True))
    else:
        reason = "no label column was configured (corpus.label_column)"
        pages.append(View("classification.html", title, report.message_page(title, reason), False, reason))
    if drift is not None:
        try:
            figure, reason = visualize.drift_bars(drift), ""
        except visualize.CannotDraw as exc:
            figure, reason = None, str(exc)
        pages.append(View("drift.html", "Drift against the reference run", report.drift_page(drift, figure, reason), True))
    return pages
