"""The document map page in headless Chromium: the find box picks out the documents whose shown
text holds the typed word, and topic names are placed so that none overlaps another, on a real
run and on a map with many topics."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import test_browser
from conftest import corpus_file
from test_browser import PICKED_IDS, _find, _open, shown_text

chromium = test_browser.browser  # its `browser` fixture, here named `chromium`

OVERLAPPING_PAIRS = """() => {
  const boxes = Array.from(document.querySelectorAll('#topic_map .annotation')).map((e) => e.getBoundingClientRect());
  let pairs = 0;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) pairs++;
  }
  return [boxes.length, pairs];
}"""
def _labels_placed(page, before: int = 0) -> int:
    page.wait_for_function(f"() => Number(document.getElementById('topic_map').dataset.labelsPlaced || 0) > {before}", timeout=15000)
    return page.evaluate("() => Number(document.getElementById('topic_map').dataset.labelsPlaced)")


def test_find_picks_out_exactly_the_documents_that_show_the_word(chromium, arxiv_run):
    documents = pd.read_parquet(arxiv_run / "documents.parquet")
    topics = pd.read_parquet(arxiv_run / "topics.parquet")
    # Titles are cut at 200 characters on the map: count on the first 150, and only words
    # that occur nowhere past them, so the cut cannot change the answer.
    shown, full = shown_text(documents, topics, 150), shown_text(documents, topics)
    words = sorted({w for t in documents["title"] for w in re.findall(r"[a-z]{6,}", t.lower())})
    word = next(w for w in words if shown.str.contains(w, regex=False).sum() == 3 and full.str.count(w).sum() == shown.str.count(w).sum())
    expected = set(documents.loc[shown.str.contains(word, regex=False), "doc_id"])

    page, errors, refused, _ = _open(chromium, arxiv_run / "topic_map.html")
    _labels_placed(page)
    assert page.evaluate(PICKED_IDS) == []
    assert _find(page, word.upper()) == f"3 of {len(documents)} documents match"  # not case-sensitive
    assert set(page.evaluate(PICKED_IDS)) == expected and len(page.evaluate(PICKED_IDS)) == 3
    # The others fade: Plotly styles every point off the selection as unselected.
    assert page.evaluate("() => document.getElementById('topic_map')._fullData[0].unselected.marker.opacity") < 0.2

    assert _find(page, "zzzqqq") == f"0 of {len(documents)} documents match"
    page.locator("#map-find").fill("")
    page.wait_for_function("() => document.getElementById('topic_map').dataset.found === ''", timeout=15000)
    assert page.inner_text("#map-find-count") == ""
    assert page.evaluate("() => document.getElementById('topic_map').data.every((t) => t.selectedpoints == null)")
    assert errors == [] and refused == []
    page.context.close()


@pytest.fixture(scope="module")
def many_topics_map(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A map of 3,000 Debian package descriptions with the 50-odd Debian sections as topics,
    named by the real c-TF-IDF stage, at synthetic, crowded coordinates; (page, topic table)."""
    from topics import map_page, report, visualize
    from topics.config import RepresentConfig
    from topics.represent.ctfidf import represent

    table = pd.read_parquet(corpus_file("debian_bookworm_package_descriptions.parquet"))
    table = table.drop_duplicates("text").sample(3000, random_state=0).reset_index(drop=True)
    sections = table["label"].value_counts()
    labels = table["label"].map({s: i for i, s in enumerate(sections.index)}).to_numpy(np.int64)
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(len(table), 8)).astype(np.float32)  # only the terms matter here
    topics = represent(table["text"].tolist(), table["package"].tolist(), embeddings, labels, RepresentConfig(chain=[])).topics
    xy = rng.uniform(0, 10, size=(len(sections), 2))[labels] + rng.normal(scale=0.35, size=(len(table), 2))
    documents = pd.DataFrame({"doc_id": table["package"], "text": table["text"], "topic": labels, "x": xy[:, 0], "y": xy[:, 1],
                              "title": table["summary"]})
    folder = tmp_path_factory.mktemp("many_topics")
    (folder / report.PLOTLY_JS).write_text(report.plotly_js())
    (folder / "topic_map.html").write_text(map_page.map_page("Document map", visualize.document_map(documents, topics)))
    return folder / "topic_map.html", topics


def test_topic_names_never_overlap_and_the_legend_stays_narrow(chromium, many_topics_map, tmp_path):
    path, topics = many_topics_map
    assert len(topics) >= 50
    page, errors, refused, _ = _open(chromium, path)
    placed = _labels_placed(page)
    shown, overlapping = page.evaluate(OVERLAPPING_PAIRS)
    assert overlapping == 0 and shown >= 15
    layout = page.evaluate("() => document.getElementById('topic_map').layout.annotations.map((a) => a.visible !== false)")
    assert layout[0] and sum(layout) == shown  # the largest topic is always named
    legend = page.evaluate("() => document.querySelector('#topic_map .legend').getBoundingClientRect().width")
    assert legend < 0.2 * page.viewport_size["width"]
    # Cut legend entries carry the full name as a tooltip.
    longest = max(topics["name"], key=len)
    tooltips = page.evaluate("() => Array.from(document.querySelectorAll('#topic_map .legend .traces > title')).map((t) => t.textContent)")
    assert longest in tooltips
    page.screenshot(path=str(tmp_path / "many_topics_map.png"), full_page=True)

    # Zoomed in on the middle, more names fit there, still without overlap.
    def named_inside(window):
        return page.evaluate(
            """([x0, x1, y0, y1]) => document.getElementById('topic_map').layout.annotations
                 .filter((a) => a.visible !== false && a.x >= x0 && a.x <= x1 && a.y >= y0 && a.y <= y1).length""", window)

    window = page.evaluate("""() => { const L = document.getElementById('topic_map')._fullLayout;
        const [x0, x1] = L.xaxis.range, [y0, y1] = L.yaxis.range;
        return [x0 + (x1 - x0) / 4, x1 - (x1 - x0) / 4, y0 + (y1 - y0) / 4, y1 - (y1 - y0) / 4]; }""")
    before = named_inside(window)
    page.evaluate("(w) => Plotly.relayout('topic_map', {'xaxis.range': [w[0], w[1]], 'yaxis.range': [w[2], w[3]]})", window)
    _labels_placed(page, placed)
    assert named_inside(window) > before
    assert page.evaluate(OVERLAPPING_PAIRS)[1] == 0

    # The check can fail: back at full view, with every name shown at its centre, names overlap.
    placed = _labels_placed(page)
    page.evaluate("() => Plotly.relayout('topic_map', {'xaxis.autorange': true, 'yaxis.autorange': true})")
    _labels_placed(page, placed)
    assert page.evaluate(OVERLAPPING_PAIRS) == [shown, 0]
    page.evaluate("""() => { const gd = document.getElementById('topic_map'); const update = {};
        gd.layout.annotations.forEach((a, i) => Object.assign(update, {[`annotations[${i}].visible`]: true,
          [`annotations[${i}].xshift`]: 0, [`annotations[${i}].yshift`]: 0}));
        return Plotly.relayout(gd, update); }""")
    assert page.evaluate(OVERLAPPING_PAIRS)[1] > 10
    assert errors == [] and refused == []
    page.context.close()
