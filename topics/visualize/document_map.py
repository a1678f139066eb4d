"""The document map: a WebGL scatter of the 2-D projection, one trace per topic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from topics.visualize.common import display_names, escape, topic_colour


def display_sample(documents: pd.DataFrame, max_points: int, keep_ids: set[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """At most about ``max_points`` documents for drawing, in corpus order.

    Every topic keeps at least ``min(size, 50)`` documents, the rest of the budget is shared in
    proportion to topic size, documents in ``keep_ids`` (e.g. representative documents) are
    always kept, and the draw is seeded, so the same inputs give the same sample.
    """
    if len(documents) <= max_points:
        return documents
    keep_ids = keep_ids or set()
    rng = np.random.default_rng(seed)
    sizes = documents["topic"].value_counts()
    chosen = []
    for topic, size in sizes.sort_index().items():
        members = np.flatnonzero((documents["topic"] == topic).to_numpy())
        quota = max(min(size, 50), int(round(max_points * size / len(documents))))
        pinned = members[documents["doc_id"].iloc[members].isin(keep_ids).to_numpy()]
        rest = np.setdiff1d(members, pinned)
        extra = rng.choice(rest, size=max(0, min(len(rest), quota - len(pinned))), replace=False)
        chosen.append(np.concatenate([pinned, extra]))
    return documents.iloc[np.sort(np.concatenate(chosen))]


def document_map(documents: pd.DataFrame, topics: pd.DataFrame, snippet_chars: int = 200, title: str = "Documents by topic") -> go.Figure:
    """Interactive 2-D map of documents coloured by topic (WebGL scatter, one trace per topic).

    Parameters
    ----------
    documents : DataFrame with ``doc_id``, ``text``, ``topic`` (int), ``x``, ``y`` (float) and
        optionally ``title``; one row per document.
    topics : DataFrame with ``topic``, ``name`` and optionally ``label``.
    snippet_chars : hover text length per document, in characters.

    Returns
    -------
    plotly Figure: legend entries toggle topics; topic names sit at each topic's median point.
    """
    names = display_names(topics)
    figure = go.Figure()
    hover_source = documents["title"] if "title" in documents.columns else documents["text"]
    for topic in sorted(documents["topic"].unique()):
        members = documents[documents["topic"] == topic]
        topic_name = escape(names.get(int(topic), str(topic)), 80)
        hover = [
            f"<b>{topic_name}</b><br>{escape(doc_id, 60)}: {escape(snippet, snippet_chars)}"
            for doc_id, snippet in zip(members["doc_id"], hover_source.loc[members.index])
        ]
        figure.add_trace(
            go.Scattergl(
                x=members["x"].to_numpy(),
                y=members["y"].to_numpy(),
                mode="markers",
                name=topic_name,
                marker={"size": 5 if topic >= 0 else 4, "color": topic_colour(int(topic)), "opacity": 0.75 if topic >= 0 else 0.4},
                hovertext=hover,
                hoverinfo="text",
            )
        )
    for topic, members in documents[documents["topic"] >= 0].groupby("topic"):
        figure.add_annotation(
            x=float(np.median(members["x"])),
            y=float(np.median(members["y"])),
            text=escape(names.get(int(topic), str(topic)), 40),
            showarrow=False,
            font={"size": 11, "color": "#222"},
            bgcolor="rgba(255,255,255,0.7)",
        )
    figure.update_layout(
        title=escape(title),
        template="plotly_white",
        legend={"title": "Topic", "itemsizing": "constant"},
        xaxis={"visible": False},
        yaxis={"visible": False},
        height=750,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return figure


