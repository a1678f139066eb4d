"""The document map: a WebGL scatter of the 2-D projection, one trace per topic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from topics.topic_groups import members_by_topic
from topics.visualize.common import display_names, escape, topic_colour


def display_sample(documents: pd.DataFrame, max_points: int, keep_ids: set[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """At most about ``max_points`` documents for drawing, in corpus order.

    Every topic keeps at least ``min(size, 50)`` documents (fewer when there are so many topics
    that this would pass half the budget), the rest of the budget is shared in proportion to
    topic size, documents in ``keep_ids`` (e.g. representative documents) are
    always kept, and the draw is seeded, so the same inputs give the same sample.
    """
    if len(documents) <= max_points:
        return documents
    rng = np.random.default_rng(seed)
    groups = members_by_topic(documents["topic"].to_numpy())
    is_pinned = documents["doc_id"].isin(list(keep_ids or ())).to_numpy()  # once, not per topic
    chosen = []
    # Each topic's floor shrinks when there are many topics, so the total stays near max_points.
    floor = max(1, min(50, max_points // (2 * len(groups))))
    for members in groups.values():
        size = len(members)
        quota = max(min(size, floor), int(round(max_points * size / len(documents))))
        pinned = members[is_pinned[members]]
        rest = np.setdiff1d(members, pinned)
        extra = rng.choice(rest, size=max(0, min(len(rest), quota - len(pinned))), replace=False)
        chosen.append(np.concatenate([pinned, extra]))
    return documents.iloc[np.sort(np.concatenate(chosen))]


# Legend entries (and centre labels) for the largest topics; past that a legend is unreadable
# and each extra Plotly trace costs build time, so smaller topics share one trace.
MAX_LEGEND_TOPICS = 60
# Legend entries and map labels are cut to this many characters (the full name is in the hover
# text, and the map page adds it as a tooltip), so the legend stays narrow.
SHORT_NAME_CHARS = 26
# A document's keywords in its hover text are cut to this many characters.
KEYWORD_CHARS = 120
# How points look while some are picked out (the map page's find box selects them).
PICKED = {"marker": {"opacity": 1.0, "size": 9}}
NOT_PICKED = {"marker": {"opacity": 0.06}}


def keyword_line(words) -> str:
    """The hover text's keywords line (escaped; empty for a document with none)."""
    words = [] if words is None or (isinstance(words, float) and np.isnan(words)) else [str(w) for w in words]
    return f"<br>keywords: {escape(', '.join(words), KEYWORD_CHARS)}" if words else ""


def document_map(documents: pd.DataFrame, topics: pd.DataFrame, snippet_chars: int = 200, title: str = "Documents by topic") -> go.Figure:
    """Interactive 2-D map of documents coloured by topic (WebGL scatter).

    Parameters
    ----------
    documents : DataFrame with ``doc_id``, ``text``, ``topic`` (int), ``x``, ``y`` (float) and
        optionally ``title`` and ``keywords`` (list of str); one row per document.
    topics : DataFrame with ``topic``, ``name`` and optionally ``label``.
    snippet_chars : hover text length per document, in characters.

    Returns
    -------
    plotly Figure: the ``MAX_LEGEND_TOPICS`` largest topics and the outliers each have a trace
    (legend entries toggle them; names cut to ``SHORT_NAME_CHARS``, the full one in the trace's
    ``meta``) and a name at their median point (annotations ordered largest topic first, the
    full name on hover); smaller topics share one trace, each point still in its topic's colour
    and named in its hover text. A point's hover text is its topic's name (with the c-TF-IDF
    name after an LLM label), its id, its title or the start of its text, and its keywords when
    the table has them (up to ``KEYWORD_CHARS`` characters); selected points
    (``selectedpoints``) stand out and the others fade.
    """
    names = display_names(topics)
    ctfidf_names = dict(zip(topics["topic"].astype(int), topics["name"]))
    hover_source = documents["title"] if "title" in documents.columns else documents["text"]
    topic_names = {t: escape(names.get(int(t), str(t)), 80) for t in documents["topic"].unique()}
    headers = {}
    for t, name in topic_names.items():
        # After an LLM label, the c-TF-IDF name too: both can be found on the map page.
        ctfidf = ctfidf_names.get(int(t), names.get(int(t)))
        headers[t] = f"<b>{name}</b>" + (f" · {escape(ctfidf, 80)}" if ctfidf != names.get(int(t)) else "")
    hover = pd.Series(
        [
            f"{headers[t]}<br>{escape(doc_id, 60)}: {escape(snippet, snippet_chars)}"
            for t, doc_id, snippet in zip(documents["topic"], documents["doc_id"], hover_source)
        ],
        index=documents.index,
    )
    if "keywords" in documents.columns:
        hover += pd.Series([keyword_line(words) for words in documents["keywords"]], index=documents.index)
    sizes = documents.loc[documents["topic"] >= 0, "topic"].value_counts()
    own = set(sizes.index[:MAX_LEGEND_TOPICS])
    groups = [(int(t), documents.index[documents["topic"] == t]) for t in sorted(own | ({-1} & set(documents["topic"])))]
    shared = documents.index[(documents["topic"] >= 0) & ~documents["topic"].isin(own)]
    traces = []
    for topic, index in groups:
        traces.append(go.Scattergl(
            x=documents.loc[index, "x"].to_numpy(), y=documents.loc[index, "y"].to_numpy(), mode="markers",
            name=escape(names.get(topic, str(topic)), SHORT_NAME_CHARS), meta=topic_names[topic],
            marker={"size": 5 if topic >= 0 else 4, "color": topic_colour(topic), "opacity": 0.75 if topic >= 0 else 0.4},
            hovertext=hover.loc[index].tolist(), hoverinfo="text", selected=PICKED, unselected=NOT_PICKED,
        ))
    if len(shared):
        rest = documents.loc[shared]
        label = f"{rest['topic'].nunique()} smaller topics"
        traces.append(go.Scattergl(
            x=rest["x"].to_numpy(), y=rest["y"].to_numpy(), mode="markers", name=label, meta=label,
            marker={"size": 5, "color": [topic_colour(int(t)) for t in rest["topic"]], "opacity": 0.75},
            hovertext=hover.loc[shared].tolist(), hoverinfo="text", selected=PICKED, unselected=NOT_PICKED,
        ))
    centres = documents[documents["topic"].isin(own)].groupby("topic")[["x", "y"]].median()
    largest_first = sorted(centres.index, key=lambda t: (-sizes[t], t))
    annotations = [
        {"x": float(centres.at[topic, "x"]), "y": float(centres.at[topic, "y"]), "showarrow": False,
         "text": escape(names.get(int(topic), str(topic)), SHORT_NAME_CHARS), "hovertext": topic_names[topic],
         "font": {"size": 11, "color": "#222"}, "bgcolor": "rgba(255,255,255,0.7)"}
        for topic in largest_first
    ]
    figure = go.Figure(data=traces)
    figure.update_layout(
        title=escape(title),
        template="plotly_white",
        legend={"title": "Topic", "itemsizing": "constant", "font": {"size": 11}},
        xaxis={"visible": False},
        yaxis={"visible": False},
        height=750,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        annotations=annotations,
    )
    return figure
