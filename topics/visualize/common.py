"""Helpers shared by the figures. Document text is untrusted: every string that reaches a
figure passes through :func:`escape`, so markup in a document shows as text and never runs."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd


class CannotDraw(ValueError):
    """Raised by a view that has nothing meaningful to show; the message says why, for the page."""


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


def display_names(topics: pd.DataFrame) -> dict[int, str]:
    """LLM label when present, else the c-TF-IDF name."""
    result = {}
    for row in topics.itertuples(index=False):
        label = getattr(row, "label", None)
        result[int(row.topic)] = label if isinstance(label, str) and label.strip() else row.name
    return result
