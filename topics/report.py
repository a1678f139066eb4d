"""Figures and tables into HTML pages and a Markdown summary; returned as strings, written by
the caller.

Every page loads one shared ``plotly.min.js`` beside it (never a CDN), so a run directory
works offline and carries plotly.js once. Every string from the corpus or the topics is
HTML-escaped here or in :mod:`topics.visualize`.
"""

from __future__ import annotations

import html
import json
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

PLOTLY_JS = "plotly.min.js"

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}nav a{margin-right:1rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#666;font-size:.9rem}
.missing{color:#8a6d3b;background:#fcf8e3;padding:.75rem;border-radius:4px}
.find{margin:.75rem 0}.find input{width:24rem;max-width:70%;padding:.3rem .5rem;font:inherit}.find output{margin-left:.75rem;color:#444}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def plotly_js() -> str:
    """The plotly.js bundle that pages load from ``PLOTLY_JS`` beside them."""
    return plotly.offline.get_plotlyjs()


def page(title: str, body: str, figures: list[tuple[str, go.Figure]] = (), home: bool = True, tail: str = "") -> str:
    """A full HTML page: ``body`` (trusted HTML built here), each (div id, figure), then ``tail``
    (trusted HTML, e.g. a script that works on the figures)."""
    parts = [fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config={"responsive": True, "displaylogo": False})
             for div_id, fig in figures]
    nav = '<nav><a href="index.html">&larr; run overview</a></nav>' if home else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><style>{_STYLE}</style>"
        f'<script src="{PLOTLY_JS}"></script></head><body>{nav}<h1>{esc(title)}</h1>{body}{"".join(parts)}{tail}</body></html>\n'
    )


def figure_page(title: str, figure: go.Figure, div_id: str = "figure", note: str = "") -> str:
    body = f'<p class="note">{esc(note)}</p>' if note else ""
    return page(title, body, [(div_id, figure)])


def message_page(title: str, reason: str) -> str:
    """The page of a view that could not be drawn, saying why."""
    return page(title, f'<p class="missing">This view could not be drawn: {esc(reason)}.</p>')


def table_html(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """An escaped HTML table; ``formats`` maps columns to format specs (e.g. ``".3f"``)."""
    formats = formats or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            # Only real fractions take the format: counts stay integers.
            if column in formats and isinstance(value, float) and not pd.isna(value):
                cells.append(f'<td class="num">{format(value, formats[column])}</td>')
            elif value is None or (isinstance(value, float) and pd.isna(value)):
                cells.append('<td class="note">n/a</td>')  # a metric with nothing to score, not a number
            else:
                cells.append(f"<td>{esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def classification_page(metrics: dict, per_label: pd.DataFrame, confusion_figure: go.Figure | None, confusion_reason: str = "") -> str:
    """Topic-to-label mapping scores: summary table, per-label precision/recall/F1, confusion heatmap."""
    labels = metrics["labels"]
    rows = []
    for name in ("nmi", "ari", "homogeneity", "completeness", "accuracy", "macro_f1", "n_docs"):
        rows.append({"score": name, "all documents (outliers are misses)": labels["all"].get(name), "non-outliers only": labels["non_outliers"].get(name)})
    body = (
        '<p class="note">Each topic is mapped to its most frequent label; a document is counted right when its topic maps to '
        "its own label. Outliers (topic -1) predict no label: they count as misses over all documents and are left out of "
        "the non-outlier scores.</p>"
        + table_html(pd.DataFrame(rows), {"all documents (outliers are misses)": ".3f", "non-outliers only": ".3f"})
        + "<h2>Per label</h2>"
        + table_html(per_label, {c: ".3f" for c in per_label.columns if c.startswith(("precision", "recall", "f1"))})
        + "<h2>Topic to label mapping</h2>"
        + table_html(pd.DataFrame(sorted(labels["mapping"].items(), key=lambda kv: int(kv[0])), columns=["topic", "majority label"]))
        + _zeroshot_section(labels.get("zeroshot"))
        + "<h2>Topics against labels</h2>"
    )
    if confusion_figure is None:
        body += f'<p class="missing">This view could not be drawn: {esc(confusion_reason)}.</p>'
        return page("Classification report", body)
    return page("Classification report", body, [("confusion", confusion_figure)])


def _zeroshot_section(rows: list[dict] | None) -> str:
    """The classification report's table of the listed zero-shot topics (see
    :func:`topics.guide.zeroshot_scores`); empty without listed topics."""
    if not rows:
        return ""
    return (
        "<h2>Listed (zero-shot) topics</h2>"
        '<p class="note">Per topic named in guide.zeroshot_topics: its size, its most frequent label, the share of its '
        "labelled documents carrying that label (precision) and the share of that label's documents it collected "
        "(recall). A listed topic no document joined has size 0.</p>"
        + table_html(pd.DataFrame(rows), {"precision": ".3f", "recall": ".3f"})
    )


def drift_page(drift: dict, figure: go.Figure | None, reason: str = "") -> str:
    """What changed against the reference run: volumes per reference topic, new and vanished
    topics, and (after assignment) how the documents were placed."""
    ref = drift["reference"]
    if drift["mode"] == "assign":
        how = ("this run's documents were assigned to the reference's topics; those that fit none were "
               "clustered into new topics.")
    else:
        how = (f"this run was fitted anew; each of its topics is matched to the reference topic with the most similar "
               f"topic embedding when the cosine similarity is at least {drift['match_threshold']}. A reference topic "
               "whose documents merged into a larger topic of this run may show as vanished: check the nearest "
               "reference topic of the new topics.")
    intro = (f'<p>Reference run <code>{esc(ref["run_id"])}</code> ({esc(ref["n_docs"])} documents) against this run '
             f'({esc(drift["n_docs"])} documents): {esc(how)} Shares are of each run\'s whole corpus, outliers included; '
             "topic ids are each run's own. Similarity is the cosine similarity of topic embeddings (1 = same "
             "direction).</p>")
    counts = drift.get("status_counts")
    placed = ("<h2>Documents</h2>" + table_html(pd.DataFrame(sorted(counts.items()), columns=["status", "documents"]))
              + '<p class="note">seen: in the reference (same id and text), kept its topic; assigned: joined a '
              "reference topic; new: in a new topic; outlier: in no topic.</p>") if counts else ""
    topics = pd.DataFrame(
        {
            "reference topic": [f'{r["reference_topic"]}: {r["name"]}' for r in drift["topics"]],
            "documents then": [r["size_then"] for r in drift["topics"]],
            "share then": [r["share_then"] for r in drift["topics"]],
            "documents now": [r["size_now"] for r in drift["topics"]],
            "share now": [r["share_now"] for r in drift["topics"]],
            "change (points)": [f'{100 * r["change"]:+.1f}' for r in drift["topics"]],
            "topic(s) in this run": [", ".join(str(t) for t in r["current_topics"]) or "none (vanished)" for r in drift["topics"]],
            "similarity": [r["similarity"] if r["similarity"] is not None else "" for r in drift["topics"]],
        }
    )
    new = pd.DataFrame(
        {
            "topic in this run": [f'{t["current_topic"]}: {t["name"]}' for t in drift["new_topics"]],
            "documents": [t["size"] for t in drift["new_topics"]],
            "share": [t["share"] for t in drift["new_topics"]],
            "top terms": [" ".join(t["terms"]) for t in drift["new_topics"]],
            "nearest reference topic": [t["nearest_reference_topic"] for t in drift["new_topics"]],
            "similarity": [t["similarity"] for t in drift["new_topics"]],
        }
    )
    by_id = {r["reference_topic"]: r["name"] for r in drift["topics"]}
    vanished = "".join(f"<li>{esc(t)}: {esc(by_id.get(t, ''))}</li>" for t in drift["vanished"])
    chart = "" if figure is not None else f'<p class="missing">No chart: {esc(reason)}.</p>'
    body = (
        intro + placed + chart
        + "<h2>Reference topics: then and now</h2>"
        + table_html(topics, {"share then": ".1%", "share now": ".1%", "similarity": ".2f"})
        + f"<h2>New topics ({len(new)})</h2>" + (table_html(new, {"share": ".1%", "similarity": ".2f"}) if len(new) else "<p>None.</p>")
        + f"<h2>Vanished reference topics ({len(drift['vanished'])})</h2>" + (f"<ul>{vanished}</ul>" if vanished else "<p>None.</p>")
        + '<p class="note">The same figures are in drift.json.</p>'
    )
    return page("Drift against the reference run", body, [("drift", figure)] if figure is not None else [])


def _llm_rows(llm: dict | None, n_topics: int) -> list[tuple[str, str]]:
    """The index's line on LLM labelling, from the manifest's ``llm`` record."""
    if not llm:
        return []
    failures = llm.get("failures") or {}
    text = (f"{llm.get('n_labelled', 0)} of {n_topics} topics by {llm.get('client', {}).get('model')}; "
            f"{llm.get('n_calls', 0)} calls, {llm.get('n_cached', 0)} cached replies, {llm.get('seconds', 0):.1f} s")
    if failures:
        text += f"; failed for topics {', '.join(failures)} (they keep their c-TF-IDF names; reasons in manifest.json)"
    return [("LLM labels", text)]


def _drift_rows(drift: dict | None) -> list[tuple[str, str]]:
    """The index's line on drift against a reference run (details in drift.html)."""
    if not drift:
        return []
    grown = sum(1 for r in drift["topics"] if r["change"] > 0)
    text = (f"against run {drift['reference']['run_id']} ({drift['mode']}): {len(drift['new_topics'])} new topic(s), "
            f"{len(drift['vanished'])} vanished, {grown} of {len(drift['topics'])} reference topics grew in share; see drift.html")
    return [("drift", text)]


def index_page(run: dict, topics: pd.DataFrame, metrics: dict, views: list[dict], drift: dict | None = None) -> str:
    """The run's hub: summary, settings, timings, quality metrics, topic table and view links.

    ``run`` holds manifest fields (run_id, input, n_docs, n_dropped, dropped_by_reason,
    stages, config, llm); ``views`` entries have file, title, drawn (bool) and reason;
    ``drift`` is the run's drift.json when it has a reference.
    """
    total = max(int(topics["size"].sum()), 1)
    n_topics = int((topics["topic"] >= 0).sum())
    summary = pd.DataFrame(
        [
            ("run", run.get("run_id")),
            ("input", run.get("input")),
            ("documents", run.get("n_docs")),
            ("dropped rows", f"{run.get('n_dropped', 0)} {json.dumps(run['dropped_by_reason'])}" if run.get("dropped_by_reason") else run.get("n_dropped", 0)),
            ("topics", n_topics if n_topics else f"0: {no_topic_reason(run)}"),
            ("outliers", f"{metrics.get('outlier_share', 0):.1%}"),
            *_llm_rows(run.get("llm"), n_topics),
            *_drift_rows(drift),
        ],
        columns=["", "value"],
    )
    quality = pd.DataFrame(
        [
            ("coherence (NPMI, top 10 terms)", metrics.get("coherence_npmi")),
            ("topic diversity", metrics.get("topic_diversity")),
            ("silhouette (reduced space)", metrics.get("silhouette")),
            ("outlier share", metrics.get("outlier_share")),
        ]
        + ([("NMI vs labels", metrics["labels"]["all"].get("nmi")), ("ARI vs labels", metrics["labels"]["all"].get("ari"))] if metrics.get("labels") else []),
        columns=["metric", "value"],
    )
    links = "".join(
        f'<li><a href="{esc(v["file"])}">{esc(v["title"])}</a>' + ("" if v["drawn"] else f' <span class="note">(not drawn: {esc(v["reason"])})</span>') + "</li>"
        for v in views
    )
    timings = pd.DataFrame([{"stage": s["name"], "seconds": s["seconds"], "cached": "yes" if s["hit"] else "no"} for s in run.get("stages", [])])
    table = pd.DataFrame(
        {
            "topic": topics["topic"],
            "size": topics["size"],
            "share": topics["size"] / total,
            "label": topics["label"],
            "name": topics["name"],
            "terms": [" ".join(list(t)[:10]) for t in topics["terms"]],
            "c-TF-IDF terms": [" ".join(list(t)[:10]) for t in topics.get("ctfidf_terms", [[]] * len(topics))],
            "summary": topics["summary"],
        }
    )
    # LLM columns only when some topic has one; plain c-TF-IDF terms only when the
    # representation chain changed some topic's terms (an older run has none).
    table = table.drop(columns=[c for c in ("label", "summary") if not table[c].notna().any()])
    if (table["c-TF-IDF terms"] == table["terms"]).all() or not table["c-TF-IDF terms"].str.len().any():
        table = table.drop(columns=["c-TF-IDF terms"])
    settings = esc(json.dumps(run.get("config", {}), indent=2))
    body = (
        "<h2>Run</h2>" + table_html(summary)
        + "<h2>Views</h2><ul>" + links + "</ul>"
        + "<h2>Quality</h2>" + table_html(quality, {"value": ".3f"})
        + "<h2>Topics</h2>" + table_html(table, {"share": ".1%"})
        + ("<h2>Stage timings</h2>" + table_html(timings, {"seconds": ".2f"}) if not timings.empty else "")
        + f"<h2>Settings</h2><details><summary>resolved configuration</summary><pre>{settings}</pre></details>"
        + '<p class="note">Tables: documents.parquet, topics.parquet, topics.csv, metrics.json, dropped.parquet; run record: manifest.json.</p>'
    )
    return page(f"Topics run {run.get('run_id', '')}", body, home=False)


def no_topic_reason(run: dict) -> str:
    """Why a run can find no topic, and the setting to change, for a run's pages and log."""
    size = (run.get("config") or {}).get("cluster", {}).get("min_cluster_size", "cluster.min_cluster_size")
    return (f"every document is an outlier. HDBSCAN forms a topic from at least {size} documents "
            "(cluster.min_cluster_size) that are near each other and apart from the rest; a small, "
            "uniform or duplicated corpus may have no such group. Lower cluster.min_cluster_size, "
            "or add documents.")


def markdown_summary(run: dict, topics: pd.DataFrame, metrics: dict, top: int = 15) -> str:
    """A short Markdown summary of a run (for a Prefect artifact)."""
    lines = [
        f"# Topics run {run.get('run_id')}",
        "",
        f"- input: `{run.get('input')}`",
        f"- documents: {run.get('n_docs')} (dropped {run.get('n_dropped', 0)})",
        f"- topics: {int((topics['topic'] >= 0).sum())}, outliers: {metrics.get('outlier_share', 0):.1%}",
        f"- coherence (NPMI): {_fmt(metrics.get('coherence_npmi'))}, diversity: {_fmt(metrics.get('topic_diversity'))}",
        "",
        "| topic | size | name |",
        "|---:|---:|---|",
    ]
    for row in topics.sort_values("topic").head(top).itertuples(index=False):
        name = str(row.name).replace("|", "/")
        lines.append(f"| {row.topic} | {row.size} | {name} |")
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
