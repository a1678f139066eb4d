"""Per-document keywords with KeyBERT (Grootendorst, 2020, "KeyBERT: Minimal keyword
extraction with BERT", doi:10.5281/zenodo.4461265).

A document's candidate words (or phrases) are the n-grams of its text, tokenised like the
c-TF-IDF (:func:`topics.represent.build_vectorizer`: the same term language, segmenter,
stop words, token pattern and markup stripping); each candidate is embedded with the run's
own encoder and ranked by cosine similarity to the document's stored embedding. With
``use_mmr`` the ranking is diversified by Maximal Marginal Relevance (Carbonell & Goldstein,
1998), as KeyBERT's own ``use_mmr``/``diversity``.

Documents are never embedded here: their vectors come from the embed stage. KeyBERT is
called once for the whole list of documents and the corpus's candidate words are embedded
once, in one pass (or given, e.g. from the vector store), so the cost is the vocabulary's
size, not the corpus's.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from topics.config import RepresentConfig
from topics.embed import Encoder, encode_in_batches


def encoder_backend(encoder: Encoder | None):
    """A KeyBERT backend (``keybert.backend.BaseEmbedder``) that embeds with ``encoder``.

    Every ``embed.backend`` (``torch``, ``onnx``, ``onnx-int8``, ``static``) goes through the
    same :class:`topics.embed.Encoder`, so candidate words land in exactly the vector space of
    the stored document embeddings (same model, backend, dtype, ``max_seq_length`` and L2
    normalisation), whatever KeyBERT's own backends support. With ``encoder`` None the backend
    refuses to embed (every vector is then given to KeyBERT).
    """
    from keybert.backend import BaseEmbedder

    class EncoderBackend(BaseEmbedder):
        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            if self.embedding_model is None:
                raise RuntimeError("KeyBERT asked to embed texts whose vectors were to be given")
            return encode_in_batches(self.embedding_model, [str(d) for d in documents])

    return EncoderBackend(embedding_model=encoder)


def candidate_vectorizer(texts: Sequence[str], keyphrase_ngram_range: tuple[int, int] = (1, 1),
                         represent_config: RepresentConfig | None = None):
    """scikit-learn ``CountVectorizer`` that yields each document's candidate keywords: n-grams
    of ``keyphrase_ngram_range`` words, tokenised as c-TF-IDF tokenises ``texts`` under
    ``represent_config`` (default settings when None), counted from one document on."""
    from topics.represent import build_vectorizer

    config = (represent_config or RepresentConfig()).model_copy(
        update={"ngram_range": tuple(keyphrase_ngram_range), "min_df": 1})
    return build_vectorizer(config, [str(t) for t in texts])


def candidate_words(texts: Sequence[str], keyphrase_ngram_range: tuple[int, int] = (1, 1),
                    represent_config: RepresentConfig | None = None) -> list[str]:
    """Every candidate keyword of the corpus, in the order KeyBERT indexes them (the sorted
    vocabulary of :func:`candidate_vectorizer`); ``word_embeddings`` of
    :func:`extract_keywords` have one row per word, in this order. Empty when no document
    has a candidate."""
    return _vocabulary(texts, candidate_vectorizer(texts, keyphrase_ngram_range, represent_config))


def _vocabulary(texts: Sequence[str], vectorizer) -> list[str]:
    try:
        return vectorizer.fit([str(t) for t in texts]).get_feature_names_out().tolist()
    except ValueError:  # empty vocabulary: only stop words, or no token at all
        return []


def extract_keywords(
    texts: Sequence[str],
    embeddings: np.ndarray,
    encoder: Encoder | None = None,
    top_n: int = 5,
    keyphrase_ngram_range: tuple[int, int] = (1, 1),
    represent_config: RepresentConfig | None = None,
    use_mmr: bool = False,
    diversity: float = 0.5,
    word_embeddings: np.ndarray | None = None,
) -> tuple[list[list[str]], list[list[float]]]:
    """The ``top_n`` keywords of each document, by KeyBERT (Grootendorst, 2020).

    Parameters
    ----------
    texts : list of str, length n_docs
    embeddings : float32, shape (n_docs, dim)
        The documents' stored embeddings (row i = texts[i]), in ``encoder``'s vector space;
        passed to KeyBERT as ``doc_embeddings``, so no document is embedded again.
    encoder : :class:`topics.embed.Encoder`, optional
        The run's encoder; it embeds the candidate words only, all of them in one pass.
        Needed unless ``word_embeddings`` is given.
    top_n : keywords per document (fewer when a document has fewer candidates)
    keyphrase_ngram_range : (low, high) words per keyword, as KeyBERT's argument
    represent_config : how texts are split into candidates (the pipeline passes the run's
        ``represent`` settings, so candidates are cut like the topic terms)
    use_mmr, diversity : Maximal Marginal Relevance, as KeyBERT's arguments; ``diversity``
        in [0, 1], used only with ``use_mmr``
    word_embeddings : float32, shape (n_words, dim), optional
        Vectors of :func:`candidate_words` (same texts and settings), row i = word i, e.g.
        reused from a vector store; ``encoder`` is then not used.

    Returns
    -------
    keywords : list (length n_docs) of lists of str, best first; an empty list for a document
        with no candidate (e.g. only stop words)
    scores : list (length n_docs) of lists of float, each keyword's cosine similarity to its
        document (KeyBERT rounds to 4 decimals)

    Raises
    ------
    ValueError
        If ``embeddings`` does not have one row per text, ``word_embeddings`` one row per
        candidate word, their widths differ, or neither ``encoder`` nor ``word_embeddings``
        is given.
    """
    texts = [str(t) for t in texts]
    if len(embeddings) != len(texts):
        raise ValueError(f"embeddings has {len(embeddings)} rows for {len(texts)} documents")
    # One vectorizer (the term language resolved once) for the candidate words and KeyBERT.
    vectorizer = candidate_vectorizer(texts, keyphrase_ngram_range, represent_config)
    words = _vocabulary(texts, vectorizer)
    if not words:
        return [[] for _ in texts], [[] for _ in texts]
    if word_embeddings is None:
        if encoder is None:
            raise ValueError("give the encoder or the candidate words' embeddings")
        word_embeddings = encode_in_batches(encoder, words)
    if len(word_embeddings) != len(words):
        raise ValueError(f"word_embeddings has {len(word_embeddings)} rows for {len(words)} candidate words")
    if word_embeddings.shape[1] != embeddings.shape[1]:
        raise ValueError(f"document vectors have dimension {embeddings.shape[1]}, word vectors {word_embeddings.shape[1]}")
    from keybert import KeyBERT

    found = KeyBERT(model=encoder_backend(encoder)).extract_keywords(
        texts, vectorizer=vectorizer, top_n=top_n,
        use_mmr=use_mmr, diversity=diversity, doc_embeddings=np.asarray(embeddings, dtype=np.float32),
        word_embeddings=np.asarray(word_embeddings, dtype=np.float32),
    )
    if len(texts) == 1:  # KeyBERT returns one document's list unnested
        found = [found]
    return [[word for word, _ in pairs] for pairs in found], [[float(score) for _, score in pairs] for pairs in found]
