"""Plotly figures built from tables and arrays; no file is written here.

Document text is untrusted: every string that reaches a figure passes through
:func:`escape`, so markup in a document shows as text and never runs.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

OUTLIER_COLOUR = "#BDBDBD"
# Plotly's qualitative palettes joined: enough distinct colours before any repeat.
_PALETTE = (
    "#1F77B4 #FF7F0E #2CA02C #D62728 #9467BD #8C564B #E377C2 #7F7F7F #BCBD22 #17BECF "
    "#AEC7E8 #FFBB78 #98DF8A #FF9896 #C5B0D5 #C49C94 #F7B6D2 #DBDB8D #9EDAE5 #393B79 "
    "#637939 #8C6D31 #843C39 #7B4173 #3182BD #E6550D #31A354 #756BB1 #636363 #6BAED6"
).split()


def escape(text: object, limit: int | None = None) -> str:
    """HTML-escape ``text`` (after truncating to ``limit`` characters, with an ellipsis)."""
    value = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    value = " ".join(value.split())
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return html.escape(value, quote=True)


def topic_colour(topic: int) -> str:
    return OUTLIER_COLOUR if topic < 0 else _PALETTE[topic % len(_PALETTE)]


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
    names = _display_names(topics)
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


def _display_names(topics: pd.DataFrame) -> dict[int, str]:
    """LLM label when present, else the c-TF-IDF name."""
    result = {}
    for row in topics.itertuples(index=False):
        label = getattr(row, "label", None)
        result[int(row.topic)] = label if isinstance(label, str) and label.strip() else row.name
    return result
