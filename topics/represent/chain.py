"""The representation chain: BERTopic's refiners applied, in order, to the c-TF-IDF terms.

``keybert`` is BERTopic's ``KeyBERTInspired`` (re-rank candidate words by the similarity of
their embeddings to the topic's representative documents); ``mmr`` is its
``MaximalMarginalRelevance`` (Carbonell & Goldstein, 1998; drop near-duplicate words). The
Hands-On LLMs recipe chains the two, in that order. The plain c-TF-IDF terms are kept as a
second BERTopic aspect, so the table can show both.

Every list of terms, the chain's and the plain one, also goes through :class:`ShownTerms`:
a term that no document of its topic contains is dropped, and so is a later plural or
possessive form of a term already kept (:func:`topics.represent.term_forms.fold_forms`).
``KeyBERTInspired`` is asked for :data:`SPARE_FACTOR` times its ``top_n_words``, so that the
terms it ranks next fill the freed places; MMR chooses among terms already filtered, so its
choice never holds two forms of a word.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from topics.config import RepresentConfig
from topics.represent.doc_counts import topic_membership
from topics.represent.term_forms import fold_forms

# Aspect name under which BERTopic keeps the unrefined c-TF-IDF terms.
CTFIDF_ASPECT = "c-TF-IDF"
SEED = 42
SPARE_FACTOR = 2
# BERTopic's entry for "no word" in a topic's list; never shown as a term.
NO_TERM = ("", 1e-05)


def needs_embedding_model(config: RepresentConfig) -> bool:
    """Whether the chain embeds words (both refiners do; BERTopic's MMR silently does nothing
    without a model)."""
    return bool(config.chain)


class TopicOccurrence:
    """Which vocabulary terms occur in at least one document of each topic, as the fitted
    vectorizer tokenises each document on its own. (c-TF-IDF counts the terms of a topic's
    documents joined into one text, where an n-gram, or a Han run a segmenter cuts
    differently, can span two documents.) The document-term counts come from the vectorizer
    when it counted them for c-TF-IDF (:class:`topics.represent.doc_counts.DocumentCountVectorizer`),
    else from one ``transform``, and are kept in :attr:`doc_terms` for reuse.

    Attributes
    ----------
    doc_terms : scipy CSR int64, shape (n_docs, n_terms), or None until first used
        Term counts per document, rows in the order of BERTopic's ``documents["ID"]``.
    """

    def __init__(self):
        self.doc_terms = None

    def present(self, topic_model, documents) -> tuple[dict[int, int], dict[str, int], sparse.csr_matrix]:
        """``(row per topic, column per term, presence)``: ``presence[row, column]`` is
        nonzero when the term occurs in a document of the topic. ``documents`` is
        BERTopic's frame (``Document``, ``ID``, ``Topic``, one row per document)."""
        vectorizer = topic_model.vectorizer_model
        order = np.argsort(documents["ID"].to_numpy(), kind="stable")
        counted = vectorizer.document_terms(len(documents)) if hasattr(vectorizer, "document_terms") else None
        if counted is not None:
            self.doc_terms = counted  # counted once already, for c-TF-IDF
        elif self.doc_terms is None or self.doc_terms.shape[0] != len(documents):
            self.doc_terms = sparse.csr_matrix(vectorizer.transform(documents["Document"].to_numpy()[order]))
        topics, membership = topic_membership(documents["Topic"].to_numpy()[order])
        presence = sparse.csr_matrix(membership @ self.doc_terms)
        return {int(t): r for r, t in enumerate(topics)}, vectorizer.vocabulary_, presence


def _shown_terms(occurrence: TopicOccurrence, fold: bool, top_n: int | None):
    from bertopic.representation import BaseRepresentation

    class ShownTerms(BaseRepresentation):
        """Per topic: drop terms no document of the topic contains, then later forms of a
        word already kept (when ``fold``), then keep the first ``top_n`` (as many as were
        given when None), padded with :data:`NO_TERM` to that length."""

        def extract_topics(self, topic_model, documents, c_tf_idf, topics):
            row_of, column_of, presence = occurrence.present(topic_model, documents)
            result = {}
            for topic, pairs in topics.items():
                row = row_of.get(int(topic))
                occurring = [(term, value) for term, value in pairs if term and row is not None
                             and column_of.get(term) is not None and presence[row, column_of[term]] > 0]
                kept = [occurring[i] for i in fold_forms([term for term, _ in occurring], fold)]
                # Padded with BERTopic's stand-in for "no word", as BERTopic pads its own
                # lists: MMR fails on a list shorter than the number of terms it picks.
                size = top_n if top_n is not None else len(pairs)
                result[topic] = kept[:size] + [NO_TERM] * (size - len(kept[:size]))
            return result

    return ShownTerms()


def representation_models(config: RepresentConfig, occurrence: TopicOccurrence | None = None, fold: bool = True):
    """BERTopic's ``representation_model`` for ``config``:
    ``{"Main": [refiners and filters...]}``, plus ``"c-TF-IDF": [filter]`` when the chain is
    not empty (with an empty chain, ``Main`` is the plain c-TF-IDF terms, filtered).

    Parameters
    ----------
    config : the chain, its refiners' settings and ``top_n_terms``
    occurrence : shared by every filter of one fit (a new one when None)
    fold : whether plural and possessive forms are folded
        (:func:`topics.represent.term_forms.folds_forms` of the term language)
    """
    occurrence = occurrence or TopicOccurrence()
    if not config.chain:
        return {"Main": [_shown_terms(occurrence, fold, config.top_n_terms)]}
    from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance

    steps = []
    for name in config.chain:
        if name == "keybert":
            k = config.keybert
            steps.append(KeyBERTInspired(
                top_n_words=SPARE_FACTOR * k.top_n_words, nr_repr_docs=k.nr_repr_docs, nr_samples=k.nr_samples,
                nr_candidate_words=k.nr_candidate_words, random_state=SEED,
            ))
            steps.append(_shown_terms(occurrence, fold, k.top_n_words))
        elif name == "mmr":
            if not steps:
                steps.append(_shown_terms(occurrence, fold, None))
            steps.append(MaximalMarginalRelevance(diversity=config.mmr.diversity, top_n_words=config.mmr.top_n_words))
    return {"Main": steps, CTFIDF_ASPECT: [_shown_terms(occurrence, fold, None)]}
