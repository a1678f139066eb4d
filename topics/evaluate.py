"""Topic quality and agreement with known labels.

- NPMI coherence of each topic's top terms (Bouma, 2009; Röder et al., 2015), computed by
  gensim's ``CoherenceModel(coherence="c_npmi")`` over the corpus tokenised exactly as the
  c-TF-IDF vectorizer saw it; in [-1, 1], higher is better.
- Topic diversity: the share of unique terms among all topics' top terms (Dieng et al.,
  2020); in [0, 1], 1 means no term is shared.
- Outlier share and the silhouette of the non-outlier documents in the reduced space
  (scikit-learn), in [-1, 1].
- With labels: each topic is mapped to its majority label; scikit-learn's precision, recall
  and F1 per label, NMI, ARI, homogeneity and completeness, both over all labelled documents
  (outliers count as misses, and as one more cluster) and over the non-outliers only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

OUTLIER_LABEL = "(outlier)"


def preprocess_like_bertopic(texts: list[str]) -> list[str]:
    """The cleaning BERTopic applies before its vectorizer (``BERTopic._preprocess_text`` with
    its English cleaning off, as :func:`topics.represent.ctfidf.fit_bertopic` runs it): tabs
    and line breaks become spaces, an empty text becomes ``"emptydoc"``. The vectorizer's
    tokenizer does the rest, so tokens here match the topic terms (e.g. "scale-free")."""
    cleaned = []
    for text in texts:
        text = text.replace("\n", " ").replace("\t", " ")
        cleaned.append(text or "emptydoc")
    return cleaned


def tokenize_corpus(texts: list[str], analyzer) -> list[list[str]]:
    """Each text as the c-TF-IDF vectorizer's ``analyzer`` tokenises it after BERTopic's
    cleaning: the token lists that coherence is counted over."""
    return [analyzer(text) for text in preprocess_like_bertopic(texts)]


def npmi_stopwords_kept(terms_per_topic: list[list[str]], texts: list[str], config, top_n: int = 10) -> float | None:
    """Mean NPMI (gensim ``c_npmi``) of each topic's top ``top_n`` terms over ``texts``
    tokenised like ``config`` (a :class:`~topics.config.RepresentConfig`) but with stop words
    kept and unigrams only.

    Unlike ``coherence_npmi`` (counted on the corpus as c-TF-IDF saw it, where a stop word
    cannot occur and so drops out of the score), a stop word among the terms is scored here,
    and it co-occurs with everything, so it lowers the score. This makes representations that
    keep stop words (plain BERTopic's default vectorizer) comparable with ours. None when no
    topic has 2 scorable terms.
    """
    from topics.represent import build_vectorizer

    kept = config.model_copy(update={"stop_words": None, "ngram_range": (1, 1)})
    tokenized = tokenize_corpus(list(texts), build_vectorizer(kept, list(texts)).build_analyzer())
    scores = [s for s in npmi_coherence(terms_per_topic, tokenized, top_n) if s is not None]
    return float(np.mean(scores)) if scores else None


def topic_diversity(terms_per_topic: list[list[str]], top_n: int = 10) -> float | None:
    """Unique share of the ``top_n`` terms over all topics; None when there is no topic."""
    tops = [list(terms)[:top_n] for terms in terms_per_topic if len(terms)]
    total = sum(len(t) for t in tops)
    if total == 0:
        return None
    return len({term for terms in tops for term in terms}) / total


def npmi_coherence(terms_per_topic: list[list[str]], tokenized_docs: list[list[str]], top_n: int = 10) -> list[float | None]:
    """NPMI coherence per topic (gensim ``c_npmi``, its default 10-token sliding window).

    Terms absent from the tokenised corpus are left out; a topic with fewer than 2 known terms
    gets None.
    """
    from gensim.corpora import Dictionary
    from gensim.models.coherencemodel import CoherenceModel

    dictionary = Dictionary(tokenized_docs)
    known = [[t for t in list(terms)[:top_n] if t in dictionary.token2id] for terms in terms_per_topic]
    scorable = [i for i, terms in enumerate(known) if len(terms) >= 2]
    scores: list[float | None] = [None] * len(known)
    if not scorable:
        return scores
    model = CoherenceModel(
        topics=[known[i] for i in scorable], texts=tokenized_docs, dictionary=dictionary, coherence="c_npmi", processes=1
    )
    for index, value in zip(scorable, model.get_coherence_per_topic()):
        scores[index] = None if not math.isfinite(value) else float(value)
    return scores


def silhouette(reduced: np.ndarray, doc_topics: np.ndarray, sample_size: int = 5000, seed: int = 0) -> float | None:
    """Silhouette (euclidean) of the non-outlier documents in the reduced space; None with
    fewer than 2 topics. Above ``sample_size`` documents a seeded sample is scored."""
    from sklearn.metrics import silhouette_score

    keep = np.asarray(doc_topics) >= 0
    labels = np.asarray(doc_topics)[keep]
    if len(np.unique(labels)) < 2 or keep.sum() < 3:
        return None
    size = min(sample_size, int(keep.sum()))
    return float(silhouette_score(np.asarray(reduced)[keep], labels, sample_size=size, random_state=seed))


def majority_labels(doc_topics: np.ndarray, labels: pd.Series) -> dict[int, str]:
    """Topic -> its most frequent label (ties go to the alphabetically first label)."""
    frame = pd.DataFrame({"topic": doc_topics, "label": labels.to_numpy()}).dropna()
    frame = frame[frame["topic"] >= 0]
    counts = frame.groupby(["topic", "label"]).size().reset_index(name="n")
    counts = counts.sort_values(["topic", "n", "label"], ascending=[True, False, True])
    return {int(t): str(l) for t, l in counts.drop_duplicates("topic")[["topic", "label"]].itertuples(index=False)}


def label_agreement(doc_topics: np.ndarray, labels: pd.Series) -> dict:
    """Scores of the topics against known labels (documents without a label are left out).

    Returns
    -------
    dict with ``mapping`` (topic -> label), ``scores`` (``all`` and ``non_outliers``, each
    with nmi, ari, homogeneity, completeness, accuracy, macro_f1, n_docs), ``per_label``
    (DataFrame: label, precision, recall, f1, support, each for all documents and, suffixed
    ``_non_outliers``, for the non-outliers) and ``confusion`` (DataFrame: topic x label counts).
    """
    from sklearn import metrics

    topics = np.asarray(doc_topics)
    labelled = labels.notna().to_numpy()
    topics, truth = topics[labelled], labels[labelled].astype(str).to_numpy()
    mapping = majority_labels(topics, pd.Series(truth))
    predicted = np.array([mapping.get(int(t), OUTLIER_LABEL) if t >= 0 else OUTLIER_LABEL for t in topics], dtype=object)
    names = sorted(set(truth))

    def scores(mask: np.ndarray) -> tuple[dict, pd.DataFrame]:
        if mask.sum() == 0:
            return {"n_docs": 0}, pd.DataFrame({"label": names})
        y, p, t = truth[mask], predicted[mask], topics[mask]
        report = metrics.classification_report(y, p, labels=names, output_dict=True, zero_division=0)
        table = pd.DataFrame(
            {
                "label": names,
                "precision": [report[n]["precision"] for n in names],
                "recall": [report[n]["recall"] for n in names],
                "f1": [report[n]["f1-score"] for n in names],
                "support": [int(report[n]["support"]) for n in names],
            }
        )
        summary = {
            "n_docs": int(mask.sum()),
            "nmi": float(metrics.normalized_mutual_info_score(y, t)),
            "ari": float(metrics.adjusted_rand_score(y, t)),
            "homogeneity": float(metrics.homogeneity_score(y, t)),
            "completeness": float(metrics.completeness_score(y, t)),
            "accuracy": float(np.mean(y == p)),
            "macro_f1": float(table["f1"].mean()),
        }
        return summary, table

    all_scores, all_table = scores(np.ones(len(truth), dtype=bool))
    inner_scores, inner_table = scores(topics >= 0)
    per_label = all_table.merge(inner_table, on="label", how="left", suffixes=("", "_non_outliers"))
    confusion = pd.crosstab(pd.Series(topics, name="topic"), pd.Series(truth, name="label"))
    return {
        "mapping": mapping,
        "scores": {"all": all_scores, "non_outliers": inner_scores},
        "per_label": per_label,
        "confusion": confusion,
    }


def summarize(documents: pd.DataFrame, topics: pd.DataFrame, doc_topics: np.ndarray, reduced: np.ndarray, analyzer, top_n: int = 10) -> dict:
    """The run's quality metrics as a JSON-ready dict.

    Parameters
    ----------
    documents : corpus table (``text``)
    topics : topic table (``topic``, ``size``, ``terms``)
    doc_topics : int64, shape (n_docs,)
    reduced : float32, shape (n_docs, n_components)
    analyzer : the c-TF-IDF vectorizer's ``build_analyzer()``, to tokenise as it did
        (``build_vectorizer(config, documents["text"])``: the same term language)
    """
    real = topics[topics["topic"] >= 0]
    terms = [list(t) for t in real["terms"]]
    tokenized = tokenize_corpus(documents["text"].tolist(), analyzer)
    coherence = npmi_coherence(terms, tokenized, top_n) if terms else []
    known = [c for c in coherence if c is not None]
    return {
        "n_docs": int(len(doc_topics)),
        "n_topics": int(len(real)),
        "outlier_share": float(np.mean(np.asarray(doc_topics) < 0)) if len(doc_topics) else 0.0,
        "coherence_npmi": float(np.mean(known)) if known else None,
        "topic_diversity": topic_diversity(terms, top_n),
        "silhouette": silhouette(reduced, doc_topics),
        "top_n_terms_scored": top_n,
        "per_topic": [
            {"topic": int(t), "size": int(n), "coherence_npmi": c}
            for t, n, c in zip(real["topic"], real["size"], coherence)
        ],
        "labels": None,
    }
