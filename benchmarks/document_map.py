"""The document map on a large corpus, next to plain BERTopic's ``visualize_documents`` on the
same documents, topics and 2-D coordinates.

    .venv/bin/python benchmarks/document_map.py [--corpus PATH] [--docs 50000] [--cache DIR]

The pipeline's stages run as plain functions against an artifact store (default
``outputs/.bench-cache``), so the embeddings are computed once and reused by later runs.
Both maps are then opened from disk in headless Chromium (Debian's, network refused) and the
table gives, for each: file size (the page, and the page plus its plotly.js), points drawn,
seconds until the plot is drawn, and seconds until a hover label shows on a moved mouse.
Target: our map under 25 MB and interactive.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "health_news_tweets.parquet"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


def run_stages(corpus: Path, cache: Path) -> dict:
    """Every stage of a default run, in this process, through the pipeline's one stage graph."""
    from topics.artifacts import ArtifactStore
    from topics.config import RunConfig
    from topics.stage_graph import RunPlan, run_plan

    config = RunConfig()
    store = ArtifactStore(cache)
    timings = {}

    def record(result):
        timings[result.name] = (round(result.seconds, 1), result.hit)

    stage_keys = run_plan(RunPlan(config, str(corpus)), store, on_result=record)
    keys = {"corpus_key": stage_keys["load"], "embed_key": stage_keys["embed"], "project_key": stage_keys["project"],
            "labels_key": stage_keys["refine"], "render_key": stage_keys["render"]}
    return {"store": store, "keys": keys, "timings": timings, "config": config}


def bertopic_map(store, keys: dict, config, path: Path) -> None:
    """Plain BERTopic's document map, written as its users do (``fig.write_html``)."""
    from topics.represent.ctfidf import fit_bertopic

    documents = store.get("load", keys["corpus_key"]).table("documents.parquet")
    embeddings = np.asarray(store.get("embed", keys["embed_key"]).array("embeddings.npy"))
    labels = np.asarray(store.get("refine", keys["labels_key"]).array("labels.npy"))
    coordinates = np.asarray(store.get("project", keys["project_key"]).array("coordinates.npy"))
    model = fit_bertopic(documents["text"].tolist(), embeddings, labels, config.represent)
    figure = model.visualize_documents(documents["text"].tolist(), reduced_embeddings=coordinates, hide_annotations=False)
    figure.write_html(path)


def measure(browser, path: Path, div_selector: str) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
    page = context.new_page()
    started = time.perf_counter()
    page.goto(path.as_uri(), timeout=600_000)
    page.wait_for_function(
        f"() => {{ const gd = document.querySelector('{div_selector}'); return gd && gd._fullLayout && gd.querySelector('.main-svg'); }}",
        timeout=600_000,
    )
    drawn = time.perf_counter() - started
    points = page.evaluate(f"() => document.querySelector('{div_selector}')._fullData.reduce((n, t) => n + (t.x ? t.x.length : 0), 0)")
    box = page.evaluate(f"() => {{ const r = document.querySelector('{div_selector}').querySelector('.nsewdrag').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }}")
    hover_s = None
    for fx, fy in ((0.5, 0.5), (0.3, 0.4), (0.6, 0.6), (0.4, 0.7), (0.7, 0.3)):
        page.mouse.move(0, 0)
        started = time.perf_counter()
        page.mouse.move(box[0] + box[2] * fx, box[1] + box[3] * fy)
        try:
            page.wait_for_function("() => (document.querySelector('.hoverlayer')?.textContent || '').length > 0", timeout=20_000)
            hover_s = time.perf_counter() - started
            break
        except Exception:  # noqa: BLE001 - empty spot: try another
            continue
    context.close()
    return {"drawn_s": drawn, "points": points, "hover_s": hover_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--cache", type=Path, default=REPO / "outputs" / ".bench-cache")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    work = Path(tempfile.mkdtemp(prefix="topics-map-bench-"))
    table = pd.read_parquet(args.corpus)
    table = table[table["text"].fillna("").str.strip() != ""].head(args.docs)
    corpus = work / "corpus.parquet"
    table[["text"]].to_parquet(corpus)
    ran = run_stages(corpus, args.cache)
    store, keys = ran["store"], ran["keys"]

    ours = work / "ours"
    ours.mkdir()
    from topics import report

    for file in store.get("render", keys["render_key"]).path.iterdir():
        if file.suffix == ".html":
            (ours / file.name).write_bytes(file.read_bytes())
    (ours / report.PLOTLY_JS).write_text(report.plotly_js())
    theirs = work / "bertopic_documents.html"
    bertopic_map(store, keys, ran["config"], theirs)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        ours_m = measure(browser, ours / "topic_map.html", "#topic_map")
        theirs_m = measure(browser, theirs, ".js-plotly-plot")
        browser.close()

    plotly_mb = (ours / report.PLOTLY_JS).stat().st_size / 1e6
    rows = [
        ("ours: topic_map.html", (ours / "topic_map.html").stat().st_size / 1e6, plotly_mb, ours_m),
        ("BERTopic visualize_documents", theirs.stat().st_size / 1e6, 0.0, theirs_m),
    ]
    print(f"corpus: {args.corpus.name}, {len(table):,} documents; stage seconds (hit): {ran['timings']}")
    print(f"{'map':<30} {'page MB':>8} {'+plotly.js MB':>14} {'points':>8} {'drawn s':>8} {'hover s':>8}")
    for name, page_mb, js_mb, m in rows:
        hover = "none" if m["hover_s"] is None else f"{m['hover_s']:.2f}"
        print(f"{name:<30} {page_mb:>8.1f} {page_mb + js_mb:>14.1f} {m['points']:>8,} {m['drawn_s']:>8.1f} {hover:>8}")
    ratio_size = (rows[0][1] + plotly_mb) / rows[1][1]
    print(f"ratios ours/BERTopic: size {ratio_size:.3f}, drawn {ours_m['drawn_s'] / theirs_m['drawn_s']:.3f}")
    print(f"target: ours under 25 MB: {rows[0][1] + plotly_mb < 25}; interactive (hover shown): {ours_m['hover_s'] is not None}")
    print(f"files kept in {work}")


if __name__ == "__main__":
    main()
