import pandas as pd

from topics.visualize import document_map, escape


def _tables():
    documents = pd.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d"],
            "text": ["<script>alert(1)</script> hello", "<img src=x onerror=alert(2)>", "plain", "x" * 500],
            "topic": [0, 0, 1, -1],
            "x": [0.0, 0.1, 1.0, 2.0],
            "y": [0.0, 0.1, 1.0, 2.0],
        }
    )
    topics = pd.DataFrame({"topic": [-1, 0, 1], "name": ["-1_misc", "0_<b>bold</b>", "1_plain"], "label": [None, None, "Plain talk"]})
    return documents, topics


def test_one_trace_per_topic_with_escaped_hover():
    figure = document_map(*_tables(), snippet_chars=50)
    assert [trace.name for trace in figure.data] == ["-1_misc", "0_&lt;b&gt;bold&lt;/b&gt;", "Plain talk"]
    hover = " ".join(" ".join(trace.hovertext) for trace in figure.data)
    assert "<script>" not in hover and "&lt;script&gt;" in hover
    assert "<img" not in hover
    assert max(len(t) for t in figure.data[0].hovertext) < 200  # 500-char text truncated


def test_topic_names_annotated_at_centres():
    figure = document_map(*_tables())
    assert sorted(a.text for a in figure.layout.annotations) == ["0_&lt;b&gt;bold&lt;/b&gt;", "Plain talk"]


def test_escape_truncates_and_flattens_whitespace():
    assert escape("a\n\n b", 10) == "a b"
    assert escape("abcdefghijkl", 5) == "abcd…"
    assert escape(None) == ""
