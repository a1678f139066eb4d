"""Topic representations (Grootendorst, 2022, BERTopic), built from our own stages.

BERTopic is given the precomputed embeddings and the HDBSCAN labels, with its reduction and
clustering steps replaced by pass-throughs (``BaseDimensionalityReduction``,
``BaseCluster``), so nothing is refitted: it only computes the class-based TF-IDF, topic
terms and topic embeddings, then refines the terms with the configured representation chain
(see :mod:`topics.represent.chain`). BERTopic renumbers topics by size (0 is the largest; -1 stays
the outliers), and those ids are the run's topic ids.

Terms come from :class:`topics.represent.tokenize.Tokenizer`, chosen for the corpus's term
language (:mod:`topics.represent.languages`): BERTopic's own English cleaning, which deletes
every character outside ``[A-Za-z0-9 ]``, is switched off, so accents, hyphens and words in
other scripts survive. Each topic's term counts are the sums of its documents' counts
(:mod:`topics.represent.doc_counts`), not the counts of its documents joined into one text:
each document is tokenised once, and neither an n-gram nor markup stripping spans two
documents.

The terms shown, the chain's and the plain c-TF-IDF ones, each occur in at least one document
of their topic, and hold one form of a word, not its plural or possessive beside it (see
:mod:`topics.represent.chain` and :mod:`topics.represent.term_forms`); no two topics share a
name (:mod:`topics.represent.names`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.metrics.pairwise import cosine_similarity

from topics.config import RepresentConfig
from topics.represent.chain import CTFIDF_ASPECT, TopicOccurrence, needs_embedding_model, representation_models
from topics.represent.doc_counts import DocumentCountVectorizer
from topics.represent.languages import TermLanguage, resolve_language, tokenizer_for
from topics.represent.names import distinct_names, fallback_name, term_name, term_name_alternatives
from topics.represent.term_forms import folds_forms
from topics.topic_groups import members_by_topic

# BERTopic's IDF multiplier for the words of guided topic modeling's seed topics.
SEED_MULTIPLIER = 1.2


class RepresentationError(ValueError):
    """Raised when no topic representation can be computed (e.g. an empty vocabulary)."""


@dataclass(frozen=True)
class TopicRepresentation:
    """Topics of one run.

    Attributes
    ----------
    topics : DataFrame, one row per topic (outliers ``-1`` included when present), by topic id
        ``topic`` int64, ``size`` int64, ``name`` str (BERTopic style ``"0_term_term_term_term"``,
        unique after the ``"<topic>_"`` prefix, see :func:`topics.represent.names.distinct_names`),
        ``terms`` list[str] and ``weights`` list[float] (after the representation chain, in its
        order), ``ctfidf_terms`` and ``ctfidf_weights`` (plain c-TF-IDF, descending); each
        term occurs in a document of the topic, and no term is a plural or possessive form of
        another (:mod:`topics.represent.term_forms`),
        ``representative_doc_ids`` list[str], ``label`` and ``summary`` (str or None; set by an
        LLM representation when enabled).
    doc_topics : int64, shape (n_docs,)
        Topic id per document, in corpus order.
    ctfidf : scipy CSR float64, shape (n_topics, n_terms)
        Rows aligned with ``topics``.
    vocabulary : list[str], length n_terms
    topic_embeddings : float32, shape (n_topics, dim)
        Mean document embedding per topic, rows aligned with ``topics``.
    model : the fitted ``BERTopic`` (its topic ids are ``topics["topic"]``), for saving
    language : the corpus's term language (:class:`topics.represent.languages.TermLanguage`)
    """

    topics: pd.DataFrame
    doc_topics: np.ndarray
    ctfidf: sparse.csr_matrix
    vocabulary: list[str]
    topic_embeddings: np.ndarray
    model: Any = field(default=None, compare=False, repr=False)
    language: TermLanguage | None = None


def build_vectorizer(config: RepresentConfig, texts: list[str] | None = None, language: TermLanguage | None = None):
    """The CountVectorizer shared by c-TF-IDF and anything that must tokenise the same way.

    Its tokenizer is :func:`topics.represent.languages.tokenizer_for` the corpus's term
    language: ``language`` when given, else resolved from ``texts`` for
    ``config.language``. Stop words are dropped by the tokenizer (per the language), so the
    vectorizer's own ``stop_words`` is None; it lower-cases nothing itself either (the
    tokenizer normalises).

    Raises
    ------
    ValueError
        If ``config.language`` is ``auto`` or ``multilingual`` and neither ``texts`` nor
        ``language`` is given.
    """
    if language is None:
        if texts is None and config.language in ("auto", "multilingual"):
            raise ValueError(f"build_vectorizer: represent.language={config.language} needs the corpus texts (or a resolved language)")
        language = resolve_language(list(texts or []), config.language)
    return DocumentCountVectorizer(
        tokenizer=tokenizer_for(config.token_pattern, config.stop_words, language),
        token_pattern=None,
        lowercase=False,
        ngram_range=tuple(config.ngram_range),
        min_df=config.min_df,
    )


def _no_representative_docs(documents: pd.DataFrame) -> None:
    """Stands in for ``BERTopic._save_representative_docs`` (see :func:`fit_bertopic`); a
    module-level function, so a fitted model still pickles."""


def fit_bertopic(
    texts: list[str], embeddings: np.ndarray, labels: np.ndarray, config: RepresentConfig,
    nr_topics: int | str | None = None, representation_model=None, embedding_model=None, seed_words: list[str] | None = None,
    language: TermLanguage | None = None, vectorizer_model=None,
):
    """A fitted ``BERTopic`` whose clusters are ``labels`` and whose embeddings are ``embeddings``.

    ``nr_topics`` is BERTopic's topic reduction; ``representation_model`` its fine-tuning of
    the c-TF-IDF terms (which may need ``embedding_model``, e.g. ``KeyBERTInspired``);
    ``language`` the term language (resolved from ``texts`` when None); ``vectorizer_model``
    replaces :func:`build_vectorizer`'s (for a fit whose terms nothing reads).
    ``seed_words`` (lower-case) get their IDF multiplied by 1.2, as BERTopic does for the words
    of its ``seed_topic_list`` (see :mod:`topics.guide`).

    Raises
    ------
    RepresentationError
        If the vectorizer finds no term (all stop words, or ``min_df`` too high), or
        ``min_df`` is above the number of topics (it counts topics, as BERTopic's joined
        topic texts are the vectorizer's documents).
    """
    n_groups = len(np.unique(np.asarray(labels)))
    if vectorizer_model is None and config.min_df > n_groups:
        raise RepresentationError(_min_df_above_topics(config.min_df, f"the {n_groups} topics (the outliers, if any, count as one)"))
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.vectorizers import ClassTfidfTransformer

    model = BERTopic(
        umap_model=BaseDimensionalityReduction(),
        hdbscan_model=BaseCluster(),
        vectorizer_model=vectorizer_model if vectorizer_model is not None else build_vectorizer(config, texts, language),
        ctfidf_model=ClassTfidfTransformer(seed_words=seed_words, seed_multiplier=SEED_MULTIPLIER) if seed_words else ClassTfidfTransformer(),
        top_n_words=config.top_n_terms,
        nr_topics=nr_topics,
        representation_model=representation_model,
        calculate_probabilities=False,
        verbose=False,
    )
    model.embedding_model = embedding_model
    # Representative documents are ours (representative_doc_ids: every member scored, in
    # corpus order on ties). BERTopic's own pick would tokenise up to 500 documents per topic
    # once more to keep 3 that nothing reads: a third of represent's time on 20,000 documents.
    model._save_representative_docs = _no_representative_docs
    model.representative_docs_ = {}
    # BERTopic's cleaning for language "english" deletes every character outside
    # [A-Za-z0-9 ] ("café" -> "caf", "scale-free" -> "scalefree", Korean -> nothing). Off:
    # its _preprocess_text then only turns tabs and line breaks into spaces, and the
    # tokenizer does the rest.
    model.language = None
    counting = model.vectorizer_model if isinstance(model.vectorizer_model, DocumentCountVectorizer) else None
    if counting is not None:
        # BERTopic hands the vectorizer each topic's documents joined into one text; told
        # which documents those are, it tokenises each document once (see doc_counts).
        extract_topics = model._extract_topics

        def _extract_topics(documents, *args, **kwargs):
            counting.expect_topics(documents)
            return extract_topics(documents, *args, **kwargs)

        model._extract_topics = _extract_topics
    try:
        model.fit(list(texts), embeddings=np.asarray(embeddings), y=np.asarray(labels))
    except ValueError as exc:
        if "max_df corresponds to < documents than min_df" in str(exc):
            raise RepresentationError(_min_df_above_topics(config.min_df, f"the topics left by nr_topics={nr_topics!r}")) from None
        if "vocabulary" in str(exc) or "min_df" in str(exc):
            raise RepresentationError(
                f"represent: no terms left after tokenising ({exc}); check represent.stop_words, "
                "represent.language, represent.min_df and represent.token_pattern"
            ) from None
        raise
    finally:
        if counting is not None:
            del model._extract_topics  # the instance's wrapper; the class's method stays
            counting.forget_documents()
    return model


def _min_df_above_topics(min_df: int, topics: str) -> str:
    return (
        f"represent.min_df={min_df} is more than {topics} that c-TF-IDF counts terms over; "
        "min_df is the number of topics a term must occur in (not documents): lower it"
    )


def representative_doc_ids(
    texts: list[str], doc_ids: list[str], doc_topics: np.ndarray, topic_ids: list[int], ctfidf, vectorizer, ctfidf_model, n_docs: int,
    doc_terms: sparse.spmatrix | None = None,
) -> list[list[str]]:
    """Per topic, the ``n_docs`` documents whose c-TF-IDF vector is most cosine-similar to the
    topic's (BERTopic's criterion, computed over every document of the topic, not a sample).
    ``doc_terms`` (shape (n_docs, n_terms)) are ``vectorizer.transform(texts)`` when already
    computed.
    """
    doc_vectors = ctfidf_model.transform(vectorizer.transform(texts) if doc_terms is None else doc_terms)
    groups = members_by_topic(doc_topics)
    result = []
    for row, topic in enumerate(topic_ids):
        members = groups.get(int(topic), np.empty(0, dtype=np.int64))
        similarity = cosine_similarity(doc_vectors[members], ctfidf[row]).ravel()
        # Stable sort: equal scores keep corpus order, so the choice is repeatable.
        best = np.argsort(-similarity, kind="stable")[:n_docs]
        result.append([doc_ids[i] for i in members[best]])
    return result


def represent(
    texts: list[str],
    doc_ids: list[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    config: RepresentConfig | None = None,
    embedding_model=None,
    seed_words: list[str] | None = None,
) -> TopicRepresentation:
    """Describe each cluster by its c-TF-IDF terms, refined by ``config.chain``.

    Parameters
    ----------
    texts, doc_ids : list of str, length n_docs
    embeddings : float32, shape (n_docs, dim)
    labels : int64, shape (n_docs,), HDBSCAN clusters with -1 for outliers
    config : vectorizer, representation chain and output sizes
    embedding_model : a loaded SentenceTransformer, needed when the chain is not empty
        (see :func:`topics.embed.load_model`)
    seed_words : words whose c-TF-IDF weight is boosted (guided topic modeling's seed words)

    Returns
    -------
    TopicRepresentation

    Raises
    ------
    RepresentationError
        If no term survives tokenisation.
    ValueError
        If the chain needs an embedding model and none is given.
    """
    config = config or RepresentConfig()
    if needs_embedding_model(config) and embedding_model is None:
        raise ValueError(f"represent.chain {config.chain} embeds words: pass embedding_model (a loaded SentenceTransformer)")
    language = resolve_language(list(texts), config.language)
    occurrence = TopicOccurrence()
    model = fit_bertopic(
        texts, embeddings, labels, config,
        representation_model=representation_models(config, occurrence, folds_forms(language)), embedding_model=embedding_model,
        seed_words=seed_words, language=language,
    )
    doc_topics = np.asarray(model.topics_, dtype=np.int64)
    topic_ids = sorted(model.get_topics())
    sizes = pd.Series(doc_topics).value_counts()

    plain = model.topic_aspects_.get(CTFIDF_ASPECT, {})
    rows = []
    for topic in topic_ids:
        # The chain's last refiner decides how many terms it yields; top_n_terms caps them
        # (a larger top_n_terms is reported as clamped, see topics.preflight).
        pairs = [(term, float(weight)) for term, weight in (model.get_topic(topic) or []) if term][: config.top_n_terms]
        base = [(term, float(weight)) for term, weight in plain.get(topic, pairs) if term][: config.top_n_terms]
        terms = [term for term, _ in pairs]
        rows.append(
            {
                "topic": topic,
                "size": int(sizes.get(topic, 0)),
                "name": term_name(topic, terms),
                "terms": terms,
                "weights": [weight for _, weight in pairs],
                "ctfidf_terms": [term for term, _ in base],
                "ctfidf_weights": [weight for _, weight in base],
            }
        )
    table = pd.DataFrame(rows).astype({"topic": "int64", "size": "int64"})
    ctfidf = sparse.csr_matrix(model.c_tf_idf_)
    table["representative_doc_ids"] = representative_doc_ids(
        list(texts), list(doc_ids), doc_topics, topic_ids, ctfidf, model.vectorizer_model, model.ctfidf_model,
        config.n_representative_docs, occurrence.doc_terms,
    )
    occurrence.doc_terms = None  # the fitted model keeps its representation steps; not this matrix
    by_id = dict(zip(doc_ids, texts))
    # BERTopic's attribute, from our pick, for whoever reads the fitted model (3, as BERTopic keeps).
    model.representative_docs_ = {int(t): [by_id[d] for d in ids[:3]] for t, ids in zip(table["topic"], table["representative_doc_ids"])}
    for row in np.flatnonzero(table["terms"].map(len).to_numpy() == 0):
        # No term of its own (emoji, numbers, symbols): named after its representative
        # document rather than a bare number.
        first = table.at[row, "representative_doc_ids"][0]
        table.at[row, "name"] = fallback_name(int(table.at[row, "topic"]), by_id[first])
    table["name"] = distinct_names(
        table["topic"].tolist(), table["name"].tolist(), table["size"].tolist(),
        [term_name_alternatives(row.topic, row.terms, row.ctfidf_terms) if len(row.terms)
         else [fallback_name(row.topic, by_id[d]) for d in row.representative_doc_ids[1:]]
         for row in table.itertuples()],
    )
    table["label"] = pd.Series([None] * len(table), dtype=object)
    table["summary"] = pd.Series([None] * len(table), dtype=object)
    return TopicRepresentation(
        topics=table,
        doc_topics=doc_topics,
        ctfidf=ctfidf,
        vocabulary=[str(t) for t in model.vectorizer_model.get_feature_names_out()],
        topic_embeddings=np.asarray(model.topic_embeddings_, dtype=np.float32),
        model=model,
        language=language,
    )
