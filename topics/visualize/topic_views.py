"""Views of the topics themselves, from the topic table and topic embeddings.

- intertopic distance map: topic embeddings projected to 2-D by PCA (scikit-learn), bubble
  area proportional to topic size (BERTopic draws the same view from c-TF-IDF with UMAP;
  PCA is steadier for a handful of points);
- term bar charts: top c-TF-IDF terms and weights per topic;
- hierarchy: average-linkage dendrogram of cosine distances between topic embeddings (SciPy,
  drawn by plotly's figure factory);
- similarity heatmap: cosine similarity between topic embeddings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from topics.visualize.common import CannotDraw, display_names, escape, topic_colour

MAX_BAR_TOPICS = 30
# Views whose size grows with topics squared (hierarchy, similarity heatmap) show the largest
# this many topics: a million-document run can have thousands, and a 2,000 x 2,000 heatmap
# is 4 million cells the browser must draw.
MAX_PAIRWISE_TOPICS = 100


def _largest(real: pd.DataFrame, vectors: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, str]:
    """The :data:`MAX_PAIRWISE_TOPICS` largest topics (in topic order) and their vectors, and
    a title note saying so when some were left out."""
    if len(real) <= MAX_PAIRWISE_TOPICS:
        return real, vectors, ""
    keep = np.sort(np.argsort(-real["size"].to_numpy(), kind="stable")[:MAX_PAIRWISE_TOPICS])
    return real.iloc[keep].reset_index(drop=True), vectors[keep], f" (the {MAX_PAIRWISE_TOPICS} largest of {len(real)} topics)"


def _real_topics(topics: pd.DataFrame, topic_embeddings: np.ndarray | None = None):
    mask = (topics["topic"] >= 0).to_numpy()
    real = topics[mask].reset_index(drop=True)
    vectors = None if topic_embeddings is None else np.asarray(topic_embeddings)[mask]
    return real, vectors


def _labels(real: pd.DataFrame, limit: int = 40) -> list[str]:
    names = display_names(real)
    return [escape(names[int(t)], limit) for t in real["topic"]]


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def intertopic_map(topics: pd.DataFrame, topic_embeddings: np.ndarray) -> go.Figure:
    """Bubble chart of topics; raises :class:`CannotDraw` with fewer than 2 topics."""
    real, vectors = _real_topics(topics, topic_embeddings)
    if len(real) < 2:
        raise CannotDraw(f"the intertopic map needs at least 2 topics; this run has {len(real)}")
    from sklearn.decomposition import PCA

    points = PCA(n_components=2, random_state=0).fit_transform(_unit(vectors))
    labels = _labels(real)
    terms = [escape(", ".join(list(t)[:5]), 80) for t in real["terms"]]
    figure = go.Figure(
        go.Scatter(
            x=points[:, 0], y=points[:, 1], mode="markers+text", text=[str(t) for t in real["topic"]],
            marker={"size": np.sqrt(real["size"].to_numpy()) * 4 + 6, "color": [topic_colour(int(t)) for t in real["topic"]],
                    "opacity": 0.6, "line": {"width": 1, "color": "#333"}},
            hovertext=[f"<b>{l}</b><br>{n} documents<br>{t}" for l, n, t in zip(labels, real["size"], terms)],
            hoverinfo="text",
        )
    )
    figure.update_layout(title="Intertopic distance map (PCA of topic embeddings; area = size)", template="plotly_white",
                         xaxis={"title": "PC 1", "zeroline": False}, yaxis={"title": "PC 2", "zeroline": False}, height=650)
    return figure


def term_bars(topics: pd.DataFrame, n_terms: int = 8) -> go.Figure:
    """Bar charts of each topic's top terms (the largest ``MAX_BAR_TOPICS`` topics)."""
    real, _ = _real_topics(topics)
    if real.empty:
        raise CannotDraw("no topic was found: every document is an outlier")
    shown = real.sort_values("size", ascending=False).head(MAX_BAR_TOPICS)
    columns = 4
    rows = int(np.ceil(len(shown) / columns))
    labels = _labels(shown, 35)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=labels, horizontal_spacing=0.12, vertical_spacing=0.3 / max(rows, 1))
    for index, row in enumerate(shown.itertuples(index=False)):
        terms = [escape(t, 30) for t in list(row.terms)[:n_terms]][::-1]
        weights = list(row.weights)[:n_terms][::-1]
        figure.add_trace(
            go.Bar(x=weights, y=terms, orientation="h", marker_color=topic_colour(int(row.topic)), showlegend=False,
                   hovertemplate="%{y}: %{x:.4f}<extra></extra>"),
            row=index // columns + 1, col=index % columns + 1,
        )
    note = f" (the {MAX_BAR_TOPICS} largest of {len(real)})" if len(real) > MAX_BAR_TOPICS else ""
    figure.update_layout(title=f"Top terms per topic, c-TF-IDF weight{note}", template="plotly_white", height=max(300, 260 * rows))
    return figure


def hierarchy(topics: pd.DataFrame, topic_embeddings: np.ndarray) -> go.Figure:
    """Dendrogram of topics; raises :class:`CannotDraw` with fewer than 3 topics."""
    real, vectors = _real_topics(topics, topic_embeddings)
    if len(real) < 3:
        raise CannotDraw(f"a topic hierarchy needs at least 3 topics; this run has {len(real)}")
    real, vectors, note = _largest(real, vectors)
    import plotly.figure_factory as ff
    from scipy.cluster.hierarchy import linkage

    unit = _unit(vectors)
    figure = ff.create_dendrogram(
        unit, orientation="left", labels=_labels(real),
        linkagefun=lambda x: linkage(x, method="average", metric="cosine"),
    )
    figure.update_layout(title=f"Topic hierarchy (average linkage, cosine distance of topic embeddings){note}",
                         template="plotly_white", height=max(400, 22 * len(real) + 150), margin={"l": 280})
    return figure


def similarity_heatmap(topics: pd.DataFrame, topic_embeddings: np.ndarray) -> go.Figure:
    """Cosine similarity between topics; raises :class:`CannotDraw` with fewer than 2 topics."""
    real, vectors = _real_topics(topics, topic_embeddings)
    if len(real) < 2:
        raise CannotDraw(f"a similarity matrix needs at least 2 topics; this run has {len(real)}")
    real, vectors, note = _largest(real, vectors)
    unit = _unit(vectors)
    labels = _labels(real, 30)
    figure = go.Figure(go.Heatmap(z=unit @ unit.T, x=labels, y=labels, colorscale="Blues", zmin=0, zmax=1,
                                  hovertemplate="%{y}<br>%{x}<br>cosine %{z:.2f}<extra></extra>"))
    figure.update_layout(title=f"Topic similarity (cosine of topic embeddings){note}", template="plotly_white",
                         height=max(450, 20 * len(real) + 200), yaxis={"autorange": "reversed"})
    return figure
