"""The representation chain: BERTopic's refiners applied, in order, to the c-TF-IDF terms.

``keybert`` is BERTopic's ``KeyBERTInspired`` (re-rank candidate words by the similarity of
their embeddings to the topic's representative documents); ``mmr`` is its
``MaximalMarginalRelevance`` (Carbonell & Goldstein, 1998; drop near-duplicate words). The
Hands-On LLMs recipe chains the two, in that order. The plain c-TF-IDF terms are kept as a
second BERTopic aspect, so the table can show both.
"""

from __future__ import annotations

from topics.config import RepresentConfig

# Aspect name under which BERTopic keeps the unrefined c-TF-IDF terms.
CTFIDF_ASPECT = "c-TF-IDF"
SEED = 42


def needs_embedding_model(config: RepresentConfig) -> bool:
    """Whether the chain embeds words (both refiners do; BERTopic's MMR silently does nothing
    without a model)."""
    return bool(config.chain)


def representation_models(config: RepresentConfig):
    """BERTopic's ``representation_model`` for ``config.chain``: None for plain c-TF-IDF,
    else ``{"Main": [refiners...], "c-TF-IDF": BaseRepresentation()}``."""
    if not config.chain:
        return None
    from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance

    refiners = []
    for name in config.chain:
        if name == "keybert":
            k = config.keybert
            refiners.append(KeyBERTInspired(
                top_n_words=k.top_n_words, nr_repr_docs=k.nr_repr_docs, nr_samples=k.nr_samples,
                nr_candidate_words=k.nr_candidate_words, random_state=SEED,
            ))
        elif name == "mmr":
            refiners.append(MaximalMarginalRelevance(diversity=config.mmr.diversity, top_n_words=config.mmr.top_n_words))
    return {"Main": refiners, CTFIDF_ASPECT: _plain_ctfidf()}


def _plain_ctfidf():
    """A representation that returns the c-TF-IDF terms it is given. (BERTopic's own
    ``BaseRepresentation`` returns the model's current representation, which is not yet set
    while an aspect is computed during ``fit``.)"""
    from bertopic.representation import BaseRepresentation

    class PlainCTFIDF(BaseRepresentation):
        def extract_topics(self, topic_model, documents, c_tf_idf, topics):
            return topics

    return PlainCTFIDF()
