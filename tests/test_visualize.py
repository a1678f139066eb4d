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


def test_short_names_in_legend_and_labels_largest_topic_first():
    from topics.visualize.document_map import SHORT_NAME_CHARS

    documents, topics = _tables()
    documents = pd.concat([documents, documents.assign(doc_id=lambda d: d["doc_id"] + "2", topic=[1, 1, 1, -1])], ignore_index=True)
    topics.loc[1, "name"] = "0_" + "_".join(["verylongterm"] * 5)
    figure = document_map(documents, topics)
    legend = {trace.meta: trace.name for trace in figure.data}
    assert legend[topics.loc[1, "name"]] == topics.loc[1, "name"][: SHORT_NAME_CHARS - 1] + "…"  # full name kept in meta
    assert [a.text for a in figure.layout.annotations] == ["Plain talk", legend[topics.loc[1, "name"]]]  # 4 documents before 2
    assert figure.layout.annotations[1].hovertext == topics.loc[1, "name"]
    # An LLM label is followed by the c-TF-IDF name, so both can be found.
    assert all(h.startswith("<b>Plain talk</b> · 1_plain<br>") for h in figure.data[2].hovertext)
    assert all(h.startswith("<b>0_verylongterm") and "·" not in h for h in figure.data[1].hovertext)


def test_escape_truncates_and_flattens_whitespace():
    assert escape("a\n\n b", 10) == "a b"
    assert escape("abcdefghijkl", 5) == "abcd…"
    assert escape(None) == ""


def _many(n_topics=4, per_topic=300):
    import numpy as np

    rng = np.random.default_rng(1)
    rows = []
    for topic in range(-1, n_topics):
        for i in range(per_topic if topic >= 0 else 30):
            rows.append({"doc_id": f"{topic}-{i}", "text": "t", "topic": topic, "x": rng.normal(topic), "y": rng.normal()})
    return pd.DataFrame(rows)


def test_display_sample_keeps_every_topic_and_pinned_documents():
    from topics.visualize import display_sample

    documents = _many()
    sample = display_sample(documents, max_points=400, keep_ids={"3-299", "-1-5"})
    assert len(sample) < len(documents)
    assert set(sample["topic"]) == set(documents["topic"])
    assert (sample.groupby("topic").size() >= 30).all()
    assert {"3-299", "-1-5"} <= set(sample["doc_id"])
    assert sample.index.is_monotonic_increasing  # corpus order
    pd.testing.assert_frame_equal(sample, display_sample(documents, 400, keep_ids={"3-299", "-1-5"}))  # repeatable
    assert display_sample(documents, 10_000) is documents


def test_views_that_cannot_be_drawn_say_why():
    import numpy as np
    import pytest

    from topics.visualize import CannotDraw, hierarchy, intertopic_map, similarity_heatmap, term_bars, topics_over_time, topics_per_class

    one = pd.DataFrame({"topic": [-1, 0], "size": [3, 5], "name": ["-1_a", "0_b"], "label": [None, None],
                        "terms": [["a"], ["b"]], "weights": [[1.0], [1.0]]})
    vectors = np.eye(2, dtype=np.float32)
    for view in (intertopic_map, hierarchy, similarity_heatmap):
        with pytest.raises(CannotDraw, match="at least"):
            view(one, vectors)
    with pytest.raises(CannotDraw, match="every document is an outlier"):
        term_bars(one[one["topic"] < 0])
    documents = pd.DataFrame({"topic": [0, 0], "doc_id": ["a", "b"]})
    with pytest.raises(CannotDraw, match="time_column"):
        topics_over_time(documents, one)
    with pytest.raises(CannotDraw, match="label_column"):
        topics_per_class(documents, one)


def test_topic_views_draw_from_tables():
    import numpy as np

    from topics.visualize import confusion_heatmap, hierarchy, intertopic_map, similarity_heatmap, term_bars, topics_over_time, topics_per_class

    rng = np.random.default_rng(0)
    topics = pd.DataFrame({"topic": [-1, 0, 1, 2], "size": [5, 30, 20, 10], "name": ["-1_x", "0_a", "1_<i>b</i>", "2_c"],
                           "label": [None] * 4, "terms": [["x", "y"], ["a", "b"], ["c", "d"], ["e", "f"]],
                           "weights": [[0.2, 0.1]] * 4})
    vectors = rng.normal(size=(4, 8)).astype(np.float32)
    assert len(intertopic_map(topics, vectors).data[0].x) == 3
    assert len(term_bars(topics).data) == 3
    assert hierarchy(topics, vectors).data
    heat = similarity_heatmap(topics, vectors).data[0]
    assert np.allclose(np.diag(np.asarray(heat.z)), 1.0) and "1_&lt;i&gt;b&lt;/i&gt;" in heat.x
    documents = pd.DataFrame({"topic": [0, 0, 1, 2, -1], "time": [2001, 2002, 2002, 2003, 2003], "label": list("aabbc")})
    assert len(topics_over_time(documents, topics).data) == 3  # outliers are not a series
    assert topics_per_class(documents, topics).data
    confusion = pd.DataFrame({"topic": [0, 1], "label": ["a", "b"], "count": [2, 1]})
    assert confusion_heatmap(confusion, topics).data[0].z.tolist() == [[2, 0], [0, 1]]


def test_keywords_in_hover_are_escaped():
    documents, topics = _tables()
    documents["keywords"] = [["<script>alert(3)</script>", "hello"], [], ["plain"], None]
    hover = " ".join(" ".join(trace.hovertext) for trace in document_map(documents, topics).data)
    assert "<script>" not in hover and "keywords: &lt;script&gt;alert(3)&lt;/script&gt;, hello" in hover
    assert "keywords: plain" in hover and hover.count("keywords:") == 2


def test_pairwise_views_show_the_largest_topics_and_say_so():
    """Hierarchy and similarity heatmap grow with topics squared: past MAX_PAIRWISE_TOPICS
    they keep the largest topics, and the title says how many of how many."""
    import numpy as np

    from topics.visualize import hierarchy, similarity_heatmap
    from topics.visualize.topic_views import MAX_PAIRWISE_TOPICS

    n = MAX_PAIRWISE_TOPICS + 20
    sizes = np.arange(n, 0, -1) + 10  # topic 0 is the largest
    topics = pd.DataFrame({"topic": np.arange(n), "size": sizes, "name": [f"{t}_t{t}" for t in range(n)], "label": [None] * n})
    vectors = np.random.default_rng(1).normal(size=(n, 8)).astype(np.float32)
    heat = similarity_heatmap(topics, vectors)
    assert np.asarray(heat.data[0].z).shape == (MAX_PAIRWISE_TOPICS, MAX_PAIRWISE_TOPICS)
    assert f"the {MAX_PAIRWISE_TOPICS} largest of {n} topics" in heat.layout.title.text
    assert "t0" in " ".join(heat.data[0].x) and f"t{n - 1}" not in " ".join(heat.data[0].x)
    tree = hierarchy(topics, vectors)
    assert f"the {MAX_PAIRWISE_TOPICS} largest of {n} topics" in tree.layout.title.text
    few = similarity_heatmap(topics.head(5), vectors[:5])
    assert "largest" not in few.layout.title.text
