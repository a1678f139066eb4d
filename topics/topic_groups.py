"""Documents grouped by topic in one pass, for loops over topics at a million documents."""

from __future__ import annotations

import numpy as np


def members_by_topic(doc_topics: np.ndarray) -> dict[int, np.ndarray]:
    """Each topic id found in ``doc_topics`` (shape (n_docs,), int), ascending, mapped to the
    row indices (int64) of its documents in corpus order.

    One stable sort instead of one comparison over the corpus per topic: at a million
    documents and 1,665 topics the per-topic passes took minutes.
    """
    doc_topics = np.asarray(doc_topics)
    order = np.argsort(doc_topics, kind="stable")  # stable: corpus order within a topic
    topics, starts = np.unique(doc_topics[order], return_index=True)
    return {int(topic): members for topic, members in zip(topics, np.split(order, starts[1:]))}
