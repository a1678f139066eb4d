"""Every page of a run folder in headless Chromium (Debian's, driven by Playwright), opened from
disk with all network access refused: no console error, figures drawn, hover text shown,
and document text carrying script payloads shows as text and runs nothing."""

import json
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss='img'\">",
    "<a href=\"javascript:window.__xss='link'\">click me</a>",
    "&lt;b&gt;entity&lt;/b&gt; &amp; <svg onload=\"window.__xss='svg'\"></svg>",
]
# Runs before any page script: records any dialog or payload execution.
WATCH = "window.__xss = null; window.alert = window.confirm = window.prompt = (m) => { window.__xss = 'dialog:' + m; };"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required for the browser tests: apt-get install chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


def _open(browser, path: Path):
    """Open ``path`` offline; returns (page, console errors, refused requests, dialogs)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused, errors, dialogs = [], [], []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else (refused.append(route.request.url), route.abort()))
    context.add_init_script(WATCH)
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, refused, dialogs


def _figures_drawn(page) -> int:
    """Number of Plotly graphs with a non-empty plot area."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd => {
              const box = gd.querySelector('.main-svg')?.getBoundingClientRect();
              return gd.data && gd.data.length > 0 && box && box.width > 100 && box.height > 100; }).length"""
    )


def _hover_text(page, div_id: str, doc_id: str) -> str:
    """Move the mouse onto ``doc_id``'s point in the map and read Plotly's hover label."""
    position = page.evaluate(
        """([divId, docId]) => {
              const gd = document.getElementById(divId);
              const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
              const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
              for (const trace of gd._fullData) {
                const texts = trace.hovertext || [];
                for (let p = 0; p < texts.length; p++) {
                  if (texts[p].includes('<br>' + docId + ':')) {
                    return [box.left + xa.l2p(trace.x[p]), box.top + ya.l2p(trace.y[p])];
                  }
                }
              }
              return null;
            }""",
        [div_id, doc_id],
    )
    assert position is not None, f"{doc_id} is not in the map"
    page.mouse.move(0, 0)
    page.mouse.move(*position)
    page.wait_for_function("() => (document.querySelector('.hoverlayer')?.textContent || '').length > 0", timeout=10000)
    return page.evaluate("() => document.querySelector('.hoverlayer').textContent")


# Doc ids of the points picked out now (read back from each point's hover text).
PICKED_IDS = """() => {
  const gd = document.getElementById('topic_map');
  const ids = [];
  gd.data.forEach((trace) => (trace.selectedpoints || []).forEach((p) => ids.push(trace.hovertext[p].split('<br>')[1].split(':')[0])));
  return ids;
}"""


def shown_text(documents: pd.DataFrame, topics: pd.DataFrame, limit: int | None = None) -> pd.Series:
    """What the map shows of each document, lower-cased: topic label and name, id, title."""
    names = topics.set_index("topic")
    label = names["label"].where(names["label"].notna(), "")
    parts = [documents["topic"].map(label), documents["topic"].map(names["name"]), documents["doc_id"],
             documents["title"].map(lambda t: " ".join(str(t).split())[:limit])]
    return pd.Series([" ".join(p).lower() for p in zip(*parts)], index=documents.index)


def _find(page, text: str) -> str:
    box = page.locator("#map-find")
    box.fill("")
    box.press_sequentially(text, delay=20)
    page.wait_for_function("(q) => document.getElementById('topic_map').dataset.found === q", arg=text.lower(), timeout=15000)
    return page.inner_text("#map-find-count")


def test_every_page_renders_offline(browser, arxiv_run):
    pages = sorted(arxiv_run.glob("*.html"))
    assert len(pages) >= 9
    for path in pages:
        page, errors, refused, dialogs = _open(browser, path)
        if path.name == "index.html":
            assert "Quality" in page.inner_text("body")
        else:
            assert _figures_drawn(page) >= 1, path.name
        assert errors == [] and refused == [] and dialogs == [], (path.name, errors, refused)
        page.context.close()


def test_hover_shows_a_known_document(browser, arxiv_run):
    documents = pd.read_parquet(arxiv_run / "documents.parquet")
    known = documents[documents["topic"] >= 0].iloc[0]
    page, errors, _, _ = _open(browser, arxiv_run / "topic_map.html")
    text = _hover_text(page, "topic_map", known["doc_id"])
    assert known["doc_id"] in text and " ".join(known["title"].split())[:30] in text
    assert errors == []
    page.context.close()


def test_index_links_every_view(browser, arxiv_run):
    page, _, _, _ = _open(browser, arxiv_run / "index.html")
    links = page.evaluate("() => Array.from(document.querySelectorAll('nav a, li a')).map(a => a.getAttribute('href'))")
    assert {p.name for p in arxiv_run.glob("*.html")} - {"index.html"} <= set(links)
    assert "Classification report" in page.inner_text("body")
    page.context.close()


@pytest.fixture(scope="module")
def xss_run(flow_runner, arxiv_table, tmp_path_factory) -> Path:
    """A run whose texts and titles carry script payloads."""
    table = arxiv_table.iloc[7::40].head(48).reset_index(drop=True).copy()
    for index, payload in enumerate(PAYLOADS * 3):
        table.loc[index, "title"] = f"{payload} {table.loc[index, 'title']}"
        table.loc[index, "text"] = f"{payload} {table.loc[index, 'text']}"
    # Labels are untrusted too: they reach the per-class view and the classification report.
    table.loc[20:23, "label"] = PAYLOADS
    path = tmp_path_factory.mktemp("xss") / "xss.parquet"
    table.to_parquet(path)
    return flow_runner("cluster.min_cluster_size=4", input_path=path)


def test_script_payloads_show_as_text_and_never_run(browser, xss_run):
    documents = pd.read_parquet(xss_run / "documents.parquet")
    for path in sorted(xss_run.glob("*.html")):
        page, errors, refused, dialogs = _open(browser, path)
        if path.name == "topic_map.html":
            for doc_id in documents["doc_id"].head(len(PAYLOADS)):
                text = _hover_text(page, "topic_map", doc_id)
                assert doc_id in text
            assert "<script>" in _hover_text(page, "topic_map", documents["doc_id"].iloc[0])  # shown, as text
            assert "<img src=x" in _hover_text(page, "topic_map", documents["doc_id"].iloc[1])
        assert page.evaluate("() => window.__xss") is None, path.name
        assert dialogs == [] and refused == [], (path.name, dialogs, refused)
        assert not [e for e in errors if "xss" in e.lower()], errors
        page.context.close()
    metrics = json.loads((xss_run / "metrics.json").read_text())
    assert metrics["n_docs"] == 48


def test_find_box_on_payloads_shows_them_as_text_and_runs_nothing(browser, xss_run):
    documents = pd.read_parquet(xss_run / "documents.parquet")
    shown = shown_text(documents, pd.read_parquet(xss_run / "topics.parquet"))
    with_img = set(documents.loc[documents["title"].str.contains("<img src=x", regex=False), "doc_id"])
    assert len(with_img) == 3
    page, errors, refused, dialogs = _open(browser, xss_run / "topic_map.html")
    # Typed text is markup too: it is only ever compared, never inserted.
    for query in ("onerror", "<img src=x onerror=", "<script>", "<b>x</b><img src=y onerror=\"window.__xss='typed'\">"):
        matching = shown.str.contains(query.lower(), regex=False)
        assert _find(page, query) == f"{int(matching.sum())} of {len(documents)} documents match", query
        assert sorted(page.evaluate(PICKED_IDS)) == sorted(documents.loc[matching, "doc_id"]), query
        if query.startswith(("onerror", "<img")):
            assert with_img <= set(page.evaluate(PICKED_IDS))
    assert page.evaluate("() => window.__xss") is None and dialogs == [] and refused == []
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    assert "<img src=x" in _hover_text(page, "topic_map", sorted(with_img)[0])  # a match still shows as text
    assert page.evaluate("() => window.__xss") is None
    assert not [e for e in errors if "xss" in e.lower()], errors
    page.context.close()
