"""Figures and tables into HTML pages; pages are returned as strings, written by the caller.

Pages reference one shared ``plotly.min.js`` next to them (never a CDN), so a run
directory works offline and carries plotly.js once however many pages it has.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.offline

PLOTLY_JS = "plotly.min.js"


def plotly_js() -> str:
    """The plotly.js bundle that pages load from ``PLOTLY_JS`` beside them."""
    return plotly.offline.get_plotlyjs()


def figure_page(figure: go.Figure, div_id: str = "figure") -> str:
    """A full HTML page holding ``figure``; it loads plotly.js from ``PLOTLY_JS`` in its folder."""
    return figure.to_html(
        include_plotlyjs="directory",
        full_html=True,
        div_id=div_id,
        config={"responsive": True, "displaylogo": False},
    )
