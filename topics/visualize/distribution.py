"""How documents spread over topics: over time, per known class, and the topic x label
confusion matrix of the classification report."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from topics.visualize.common import CannotDraw, display_names, escape, topic_colour
from topics.visualize.time_bins import time_bins

MAX_SERIES = 20


def topics_over_time(documents: pd.DataFrame, topics: pd.DataFrame) -> go.Figure:
    """Documents per topic per time bin (the ``MAX_SERIES`` largest topics); bins and partial
    end periods as :func:`topics.visualize.time_bins.time_bins` makes them. A partial period's
    points are hollow and the part of it without data is shaded; :func:`over_time_note` says
    which periods are partial, for the page.

    Raises
    ------
    CannotDraw
        No time column, or every dated document in one bin.
    """
    if "time" not in documents.columns or documents["time"].isna().all():
        raise CannotDraw("no time column was configured (corpus.time_column)")
    binned = time_bins(documents["time"])
    frame = pd.DataFrame({"bin": binned.bins, "topic": documents["topic"]}).dropna()
    if frame["bin"].nunique() < 2:
        raise CannotDraw("all documents fall in one time bin")
    names = display_names(topics)
    largest = frame["topic"].value_counts().drop(index=-1, errors="ignore").head(MAX_SERIES).index
    counts = frame[frame["topic"].isin(largest)].groupby(["bin", "topic"]).size().unstack(fill_value=0).sort_index()
    # A period without documents of these topics is drawn as 0, not bridged by the line.
    counts = counts.reindex(list(binned.every_bin) or sorted(frame["bin"].unique()), fill_value=0)
    partial_starts = {p.start for p in binned.partial}
    symbols = ["circle-open" if start in partial_starts else "circle" for start in counts.index]
    hover = ["partial period" if start in partial_starts else "" for start in counts.index]
    figure = go.Figure()
    for topic in counts.columns:
        figure.add_trace(go.Scatter(x=counts.index, y=counts[topic], mode="lines+markers", name=escape(names.get(int(topic), str(topic)), 40),
                                    line={"color": topic_colour(int(topic))}, marker={"symbol": symbols, "size": 8},
                                    customdata=hover, hovertemplate="%{x}: %{y} documents %{customdata}"))
    for period in binned.partial:
        gap = (period.start, period.covered_from) if period.which == "first" else (period.covered_to, period.end)
        figure.add_vrect(x0=gap[0], x1=gap[1], fillcolor="#9E9E9E", opacity=0.15, line_width=0, layer="below",
                         annotation_text="no data", annotation_position="top left")
    figure.update_layout(title=f"Topics over time (documents per {binned.period})", template="plotly_white", height=600,
                         xaxis={"title": "time"}, yaxis={"title": "documents"})
    return figure


def over_time_note(documents: pd.DataFrame) -> str:
    """The over-time page's note: the period and any partial end period; empty without times."""
    if "time" not in documents.columns or documents["time"].isna().all():
        return ""
    return time_bins(documents["time"]).note()


def topics_per_class(documents: pd.DataFrame, topics: pd.DataFrame) -> go.Figure:
    """Share of each class's documents per topic, as stacked bars (the largest classes and topics)."""
    if "label" not in documents.columns or documents["label"].isna().all():
        raise CannotDraw("no label column was configured (corpus.label_column)")
    names = display_names(topics)
    frame = documents[["label", "topic"]].dropna()
    classes = frame["label"].value_counts().head(MAX_SERIES * 2).index
    frame = frame[frame["label"].isin(classes)]
    shares = pd.crosstab(frame["label"], frame["topic"], normalize="index")
    largest = frame["topic"].value_counts().head(MAX_SERIES).index
    figure = go.Figure()
    for topic in [t for t in shares.columns if t in largest]:
        figure.add_trace(go.Bar(x=[escape(c, 30) for c in shares.index], y=shares[topic], name=escape(names.get(int(topic), str(topic)), 40),
                                marker_color=topic_colour(int(topic))))
    figure.update_layout(barmode="stack", title="Topics per class (share of each class's documents)", template="plotly_white",
                         height=600, yaxis={"title": "share", "tickformat": ".0%"})
    return figure


def confusion_heatmap(confusion: pd.DataFrame, topics: pd.DataFrame) -> go.Figure:
    """Documents per (topic, label); ``confusion`` is long: topic, label, count."""
    if confusion.empty:
        raise CannotDraw("no labelled document")
    names = display_names(topics)
    matrix = confusion.pivot_table(index="topic", columns="label", values="count", fill_value=0).sort_index()
    matrix = matrix[matrix.sum().sort_values(ascending=False).index[:60]]
    figure = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=[escape(c, 30) for c in matrix.columns], y=[escape(names.get(int(t), str(t)), 40) for t in matrix.index],
        colorscale="Blues", hovertemplate="%{y}<br>label %{x}<br>%{z} documents<extra></extra>",
    ))
    figure.update_layout(title="Topics against labels (document counts)", template="plotly_white",
                         height=max(450, 22 * len(matrix) + 200), yaxis={"autorange": "reversed"})
    return figure
