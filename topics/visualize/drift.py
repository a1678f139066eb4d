"""Run-to-run drift: share of the corpus per topic, reference run against this run."""

from __future__ import annotations

import plotly.graph_objects as go

from topics.visualize.common import CannotDraw, escape


def drift_bars(drift: dict) -> go.Figure:
    """Grouped horizontal bars, one pair per reference topic (share then, share now) and one
    bar per new topic (share now), from a ``drift.json`` dict (see :mod:`topics.drift`).

    Raises
    ------
    CannotDraw
        If the reference has no topics and the run no new topics.
    """
    rows = drift["topics"]
    new = drift["new_topics"]
    if not rows and not new:
        raise CannotDraw("neither the reference nor this run has topics")
    names = [escape(f"ref {r['reference_topic']}: {r['name']}", 70) for r in rows]
    new_names = [escape(f"new {t['current_topic']}: {t['name']}", 70) for t in new]
    figure = go.Figure()
    figure.add_bar(y=names, x=[r["share_then"] for r in rows], orientation="h", name="reference (then)",
                   marker_color="#9aa5b1", hovertemplate="%{y}<br>then: %{x:.1%}<extra></extra>")
    figure.add_bar(y=names + new_names, x=[r["share_now"] for r in rows] + [t["share"] for t in new], orientation="h",
                   name="this run (now)", marker_color="#1f77b4", hovertemplate="%{y}<br>now: %{x:.1%}<extra></extra>")
    figure.update_layout(
        barmode="group", xaxis_tickformat=".0%", xaxis_title="share of the corpus",
        yaxis={"autorange": "reversed"}, height=max(400, 26 * (len(rows) + len(new)) + 150),
        margin={"l": 20, "r": 20, "t": 40, "b": 40}, legend={"orientation": "h", "y": 1.05},
    )
    return figure
