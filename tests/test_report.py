import pandas as pd

from topics import report


def _topics():
    return pd.DataFrame({"topic": [-1, 0], "size": [2, 8], "name": ["-1_x", "0_<script>alert(1)</script>"],
                         "label": [None, None], "terms": [["x"], ["<script>", "y"]], "summary": [None, "<img src=x onerror=alert(2)>"]})


def test_index_page_escapes_everything_from_the_corpus():
    run = {"run_id": "r1", "input": "<b>in</b>.csv", "n_docs": 10, "n_dropped": 1, "dropped_by_reason": {"empty_text": 1},
           "stages": [{"name": "embed", "seconds": 1.5, "hit": False}], "config": {"corpus": {"text_column": "</pre><script>"}}}
    views = [{"file": "topic_map.html", "title": "Document map", "drawn": True, "reason": ""},
             {"file": "hierarchy.html", "title": "Topic hierarchy", "drawn": False, "reason": "needs 3 topics"}]
    page = report.index_page(run, _topics(), {"outlier_share": 0.2, "coherence_npmi": 0.1}, views)
    assert "<script>" not in page and "<img" not in page and "<b>in" not in page
    assert "&lt;script&gt;" in page and 'href="topic_map.html"' in page and "needs 3 topics" in page
    assert 'src="plotly.min.js"' in page


def test_message_page_and_number_formats():
    assert "could not be drawn: no &lt;topics&gt;" in report.message_page("T", "no <topics>")
    table = report.table_html(pd.DataFrame({"n": [1998], "share": [0.25]}), {"n": ".3f", "share": ".1%"})
    assert "<td>1998</td>" in table and "25.0%" in table


def test_markdown_summary():
    text = report.markdown_summary({"run_id": "r1", "input": "x.csv", "n_docs": 10}, _topics(), {"outlier_share": 0.2})
    assert text.startswith("# Topics run r1") and "| 0 | 8 |" in text


def test_index_page_of_a_run_with_no_topic_says_why_and_shows_no_nan():
    """Every document an outlier (a small or duplicated corpus): the page names the setting to
    change, and metrics with nothing to score read n/a, not nan."""
    run = {"run_id": "r2", "input": "same.csv", "n_docs": 40, "config": {"cluster": {"min_cluster_size": 10}}}
    topics = pd.DataFrame({"topic": [-1], "size": [40], "name": ["-1_x"], "label": [None], "terms": [["x"]], "summary": [None]})
    metrics = {"outlier_share": 1.0, "coherence_npmi": None, "topic_diversity": None, "silhouette": None}
    page = report.index_page(run, topics, metrics, [])
    assert "every document is an outlier" in page and "at least 10 documents" in page
    assert "nan" not in page.lower().replace("nan-", "") and page.count(">n/a<") == 3


def test_index_page_shows_plain_ctfidf_terms_only_where_the_chain_changed_terms():
    run = {"run_id": "r3", "input": "x.csv", "n_docs": 10}
    changed = _topics().assign(ctfidf_terms=[["x"], ["y", "the"]])
    page = report.index_page(run, changed, {}, [])
    assert "<th>c-TF-IDF terms</th>" in page and "<td>y the</td>" in page
    same = _topics().assign(ctfidf_terms=[["x"], ["<script>", "y"]])
    assert "c-TF-IDF terms" not in report.index_page(run, same, {}, [])
    assert "c-TF-IDF terms" not in report.index_page(run, _topics(), {}, [])  # an older run's table
