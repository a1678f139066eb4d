import math

import numpy as np
import pandas as pd
import pytest

from topics.evaluate import label_agreement, majority_labels, npmi_coherence, preprocess_like_bertopic, silhouette, topic_diversity


def test_npmi_of_a_known_cooccurrence_table():
    # Four short documents (each within one 10-token window): P(a)=3/4, P(b)=1/2, P(a,b)=1/2,
    # so NPMI(a,b) = log(P(ab)/(P(a)P(b))) / -log P(ab) = log(4/3) / log(2).
    docs = [["a", "b"], ["a", "b"], ["c", "d"], ["a", "c"]]
    (score,) = npmi_coherence([["a", "b"]], docs, top_n=2)
    assert score == pytest.approx(math.log(4 / 3) / math.log(2), abs=1e-6)
    # Words that never co-occur tend to -1: gensim adds epsilon=1e-12 to the joint probability,
    # giving (log 1e-12 - log(1/2 * 1/4)) / -log 1e-12. Unknown terms are left out; fewer than
    # 2 known terms give None.
    never = (math.log(1e-12) - math.log(1 / 8)) / -math.log(1e-12)
    assert npmi_coherence([["b", "d"]], docs, 2)[0] == pytest.approx(never, abs=1e-6)
    assert npmi_coherence([["a", "zzz"]], docs, 2) == [None]


def test_topic_diversity():
    assert topic_diversity([["a", "b"], ["c", "d"]], 2) == 1.0
    assert topic_diversity([["a", "b"], ["a", "b"]], 2) == 0.5
    assert topic_diversity([], 10) is None


def test_topics_equal_to_labels_score_perfectly():
    labels = pd.Series(["x", "x", "y", "y", "z", "z"])
    result = label_agreement(np.array([0, 0, 1, 1, 2, 2]), labels)
    for scope in ("all", "non_outliers"):
        scores = result["scores"][scope]
        assert scores["nmi"] == pytest.approx(1.0) and scores["ari"] == pytest.approx(1.0)
        assert scores["accuracy"] == 1.0 and scores["macro_f1"] == 1.0
    assert result["mapping"] == {0: "x", 1: "y", 2: "z"}


def test_outliers_are_misses_over_all_documents_only():
    labels = pd.Series(["x", "x", "y", "y", None])
    result = label_agreement(np.array([0, -1, 1, 1, 0]), labels)  # the unlabelled document is left out
    assert result["scores"]["all"]["n_docs"] == 4 and result["scores"]["all"]["accuracy"] == 0.75
    assert result["scores"]["non_outliers"]["n_docs"] == 3 and result["scores"]["non_outliers"]["accuracy"] == 1.0
    per_label = result["per_label"].set_index("label")
    assert per_label.loc["x", "recall"] == 0.5 and per_label.loc["x", "recall_non_outliers"] == 1.0
    assert result["confusion"].loc[-1, "x"] == 1


def test_majority_label_ties_are_deterministic():
    assert majority_labels(np.array([0, 0]), pd.Series(["b", "a"])) == {0: "a"}


def test_silhouette_needs_two_topics():
    points = np.array([[0, 0], [0, 0.1], [5, 5], [5, 5.1]], dtype=np.float32)
    assert silhouette(points, np.array([0, 0, 1, 1])) > 0.9
    assert silhouette(points, np.array([0, 0, -1, -1])) is None


def test_preprocessing_matches_bertopic_terms():
    # BERTopic's English cleaning is off: only tabs and line breaks change; the tokenizer
    # keeps "scale-free" whole.
    assert preprocess_like_bertopic(["scale-free\tnetworks!", "   "]) == ["scale-free networks!", "   "]
    assert preprocess_like_bertopic(["", "café\nau lait"]) == ["emptydoc", "café au lait"]


def test_npmi_with_stop_words_kept_scores_a_stop_word_term(arxiv_table):
    """With stop words removed from the corpus, "the" cannot be counted and drops out of the
    score; with them kept it is scored, and as it co-occurs with everything it lowers it."""
    from topics.config import RepresentConfig
    from topics.evaluate import npmi_stopwords_kept, tokenize_corpus
    from topics.represent import build_vectorizer

    texts = arxiv_table["text"].head(300).tolist()
    polluted = [["galaxies", "the", "stars", "of", "galaxy"]]
    config = RepresentConfig()
    hidden = npmi_coherence(polluted, tokenize_corpus(texts, build_vectorizer(config, texts).build_analyzer()))[0]
    kept = npmi_stopwords_kept(polluted, texts, config)
    assert kept < hidden
    assert npmi_stopwords_kept([["galaxies"]], texts, config) is None  # one term: nothing to score
