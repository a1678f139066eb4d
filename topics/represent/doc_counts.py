"""c-TF-IDF's class term counts summed from each document's counts, so that each document is
tokenised once per representation.

BERTopic's c-TF-IDF (Grootendorst, 2022) joins each topic's documents into one text and
counts its terms with the vectorizer (``vectorizer_model.fit_transform`` of the joined
texts); the terms of each document on its own are then counted once more for the terms'
occurrence filter and the representative documents (:class:`topics.represent.chain.TopicOccurrence`).
With a Python tokenizer in every script (:mod:`topics.represent.tokenize`) each pass costs
about 5 s per 63,000 abstracts.

:class:`DocumentCountVectorizer` is a ``CountVectorizer`` that, told the documents behind
BERTopic's joined texts (:meth:`~DocumentCountVectorizer.expect_topics`), counts each document
once and sums the rows per topic. The result is the joined texts' counts (``min_df`` and
``max_df`` still count topics, as BERTopic's fit does), except n-grams that would span two
documents, which no document holds and the occurrence filter dropped anyway. Anything it
cannot match to the expected documents is counted as ``CountVectorizer`` counts it.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from topics.represent.tokenize import EMPTY_DOC


class DocumentCountVectorizer(CountVectorizer):
    """``CountVectorizer`` whose fit on BERTopic's joined topic texts sums per-document counts.

    Same parameters as ``CountVectorizer``; the per-document counts are not pickled.
    """

    _expected: pd.DataFrame | None = None
    _doc_ids: np.ndarray | None = None
    _doc_counts: sparse.csr_matrix | None = None
    _kept: np.ndarray | None = None
    _all_terms: np.ndarray | None = None

    def expect_topics(self, documents: pd.DataFrame) -> None:
        """Announce the documents behind the next ``fit_transform``: BERTopic's frame
        (``Document`` str, ``ID`` int, ``Topic`` int; one row per document), whose texts it
        joins per topic, in ascending topic order, with single spaces."""
        self._expected = documents[["Document", "ID", "Topic"]]

    def fit_transform(self, raw_documents, y=None):
        """Fit the vocabulary on ``raw_documents`` and return their term counts: int64 CSR,
        shape (n_texts, n_terms). From the announced documents' counts when ``raw_documents``
        are their per-topic joins; otherwise ``CountVectorizer.fit_transform``."""
        expected, self._expected = self._expected, None
        self._kept = None
        if expected is None or self.binary or self.max_features is not None or not _are_joins(raw_documents, expected):
            return super().fit_transform(raw_documents, y)
        order = np.argsort(expected["ID"].to_numpy(), kind="stable")
        counts = self._counts_per_document(expected["ID"].to_numpy()[order], expected["Document"].to_numpy()[order])
        _, membership = topic_membership(expected["Topic"].to_numpy()[order])
        topic_counts = sparse.csr_matrix(membership @ counts)
        # min_df and max_df count topics (the joined texts), as CountVectorizer would.
        n_topics = topic_counts.shape[0]
        most = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_topics
        least = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_topics
        if most < least:
            raise ValueError("max_df corresponds to < documents than min_df")
        in_topics = np.bincount(topic_counts.indices, minlength=topic_counts.shape[1])
        kept = np.flatnonzero((in_topics >= least) & (in_topics <= most))
        if len(kept) == 0:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        terms = self._all_terms[kept]
        self.vocabulary_ = {str(term): i for i, term in enumerate(terms)}
        self.fixed_vocabulary_ = False
        self._kept = None if len(kept) == counts.shape[1] else kept
        return topic_counts if self._kept is None else topic_counts[:, kept]

    def document_terms(self, n_docs: int) -> sparse.csr_matrix | None:
        """Term counts of each announced document under the fitted vocabulary (what
        ``transform`` of the documents gives): int64 CSR, shape (n_docs, n_terms), rows in
        ``ID`` order; None when the last fit did not count documents, or counted another number."""
        if self._doc_counts is None or self._doc_counts.shape[0] != n_docs or len(self.vocabulary_) == 0:
            return None
        if self._kept is None:
            return self._doc_counts if self._doc_counts.shape[1] == len(self.vocabulary_) else None
        return self._doc_counts[:, self._kept]

    def forget_documents(self) -> None:
        """Drop the per-document counts (they take memory of the order of the corpus's tokens)."""
        self._expected = self._doc_ids = self._doc_counts = self._kept = self._all_terms = None

    def __getstate__(self):
        state = dict(self.__dict__)
        for name in ("_expected", "_doc_ids", "_doc_counts", "_kept", "_all_terms"):
            state.pop(name, None)
        return state

    def _counts_per_document(self, ids: np.ndarray, texts: np.ndarray) -> sparse.csr_matrix:
        # Topic reduction extracts topics again over the same documents: counted once.
        if self._doc_ids is not None and np.array_equal(self._doc_ids, ids):
            return self._doc_counts
        whole = CountVectorizer(**{**self.get_params(), "min_df": 1, "max_df": 1.0, "max_features": None})
        self._doc_counts = sparse.csr_matrix(whole.fit_transform(texts))
        self._doc_ids = ids
        self._all_terms = whole.get_feature_names_out()
        return self._doc_counts


def topic_membership(doc_topics: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    """``(topics, membership)``: the distinct topic ids, ascending, and an int64 CSR matrix of
    shape (n_topics, n_docs) with a 1 where a document belongs to a topic (so that
    ``membership @ doc_terms`` sums the documents' rows per topic)."""
    topics, rows = np.unique(np.asarray(doc_topics, dtype=np.int64), return_inverse=True)
    membership = sparse.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, np.arange(len(rows)))), shape=(len(topics), len(rows)))
    return topics, membership


def _are_joins(raw_documents, expected: pd.DataFrame) -> bool:
    """Whether ``raw_documents`` are, by length, the expected documents joined per topic with
    single spaces in ascending topic order (BERTopic's cleaning keeps lengths: it turns tabs
    and line breaks into spaces, and an empty joined text into "emptydoc")."""
    if isinstance(raw_documents, str):
        return False
    raw = list(raw_documents)
    grouped = expected.groupby("Topic", sort=True)["Document"].agg(["size", lambda texts: sum(map(len, texts))])
    lengths = np.array(grouped.iloc[:, 1] + grouped["size"] - 1)
    lengths[lengths == 0] = len(EMPTY_DOC)  # BERTopic's stand-in for an emptied text
    return len(raw) == len(lengths) and all(isinstance(text, str) and len(text) == n for text, n in zip(raw, lengths))
