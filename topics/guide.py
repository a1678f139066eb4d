"""Topics named in advance: zero-shot topics and seed topics (BERTopic's methods).

- Zero-shot topic modeling (``BERTopic._zeroshot_topic_modeling`` and
  ``_combine_zeroshot_topics`` in bertopic 0.17): each listed topic's text is embedded with
  the run's model; a document joins the listed topic it is most cosine-similar to when that
  similarity is at least ``guide.zeroshot_min_similarity``. The other documents are clustered
  as usual, and the two sets of topics are combined. Listed topics keep the analyst's name as
  their label (BERTopic's ``topic_labels_`` for zero-shot topics). Unlike BERTopic, a listed
  topic that no document joins is kept, with size 0, and topic ids stay ordered by size.
- Guided topic modeling (``BERTopic._guided_topic_modeling``): each seed topic's words,
  joined by spaces, are embedded; each document is compared with the seed topics and with
  the mean document embedding. A document closer to a seed topic than to the mean gets that
  seed topic as its UMAP target ``y`` and its embedding becomes ``0.75 * document + 0.25 *
  seed topic`` (weights 3:1); the others get ``y = -1`` (unlabelled for UMAP) and keep their
  embedding. The seed words' c-TF-IDF IDF is multiplied by 1.2 (``BERTopic._extract_topics``
  with a ``seed_topic_list``; here through ``ClassTfidfTransformer(seed_words=...,
  seed_multiplier=1.2)``).

The nudged embeddings feed only UMAP's clustering space; the map, outlier reduction, topic
embeddings and zero-shot similarity use the documents' own embeddings.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from topics.config import GuideConfig
from topics.guide_file import read_guide_file

# BERTopic's guided topic modeling: a nudged embedding is 3 parts document, 1 part seed topic.
DOCUMENT_WEIGHT, SEED_WEIGHT = 0.75, 0.25


@dataclass(frozen=True)
class Guide:
    """The guide settings with ``guide.file`` read.

    Attributes
    ----------
    names : tuple of str, the listed zero-shot topics' names (their labels)
    texts : tuple of str, what is embedded per listed topic (its description, else its name)
    min_similarity : float, cosine similarity a document needs to join a listed topic
    seed_topics : tuple of tuples of str, the seed words per seed topic
    """

    names: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    min_similarity: float = 0.35
    seed_topics: tuple[tuple[str, ...], ...] = ()

    @property
    def zeroshot(self) -> bool:
        return bool(self.names)

    @property
    def seeded(self) -> bool:
        return bool(self.seed_topics)

    def seed_words(self) -> list[str]:
        """Every seed word once, lower-cased as the c-TF-IDF vocabulary is, in order."""
        return list(dict.fromkeys(word.lower() for words in self.seed_topics for word in words))

    def settings(self) -> dict:
        """What shapes the guide stage's output: the lists' content, never the file's path."""
        settings: dict = {}
        if self.zeroshot:
            settings["zeroshot"] = {"names": list(self.names), "texts": list(self.texts), "min_similarity": self.min_similarity}
        if self.seeded:
            settings["seed_topics"] = [list(words) for words in self.seed_topics]
        return settings


def resolve(config: GuideConfig) -> Guide:
    """The :class:`Guide` of ``config``, reading ``config.file`` when set.

    Raises
    ------
    topics.config.ConfigError
        If the file cannot serve (see :func:`read_guide_file`).
    """
    if config.file is not None:
        listed, seeds = read_guide_file(config.file)
    else:
        listed, seeds = [(name, name) for name in config.zeroshot_topics], config.seed_topics
    return Guide(
        names=tuple(name for name, _ in listed), texts=tuple(text for _, text in listed),
        min_similarity=config.zeroshot_min_similarity, seed_topics=tuple(tuple(words) for words in seeds),
    )


def guide_digest(guide: Guide) -> str:
    """A short digest of the guide's content, for logs and the stage's record."""
    return hashlib.sha256(repr(guide.settings()).encode("utf-8")).hexdigest()[:12]


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def zeroshot_assign(
    embeddings: np.ndarray, topic_embeddings: np.ndarray, min_similarity: float, chunk: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """Which listed topic each document joins (``BERTopic._zeroshot_topic_modeling``).

    Parameters
    ----------
    embeddings : float32, shape (n_docs, dim), document embeddings
    topic_embeddings : float32, shape (n_listed, dim), the listed topics' embeddings
    min_similarity : cosine similarity a document needs to join its most similar listed topic
    chunk : documents compared at a time (bounds memory)

    Returns
    -------
    assignment : int64, shape (n_docs,)
        Index of the listed topic joined, ``-1`` for none.
    similarity : float32, shape (n_docs,)
        Cosine similarity to the most similar listed topic.

    Raises
    ------
    ValueError
        If no topic is listed or the dimensions differ.
    """
    topic_embeddings = np.asarray(topic_embeddings)
    if topic_embeddings.ndim != 2 or len(topic_embeddings) == 0:
        raise ValueError("zeroshot_assign needs at least one listed topic embedding")
    if topic_embeddings.shape[1] != np.shape(embeddings)[1]:
        raise ValueError(f"listed topics have dimension {topic_embeddings.shape[1]}, documents {np.shape(embeddings)[1]}")
    topics = _unit_rows(topic_embeddings)
    n_docs = len(embeddings)
    assignment = np.full(n_docs, -1, dtype=np.int64)
    similarity = np.zeros(n_docs, dtype=np.float32)
    for start in range(0, n_docs, chunk):
        scores = _unit_rows(embeddings[start:start + chunk]) @ topics.T
        best = scores.argmax(axis=1)
        value = scores[np.arange(len(best)), best]
        assignment[start:start + chunk] = np.where(value >= min_similarity, best, -1)
        similarity[start:start + chunk] = value
    return assignment, similarity


def nudge(embeddings: np.ndarray, seed_embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Guided topic modeling's nudge (``BERTopic._guided_topic_modeling``).

    Parameters
    ----------
    embeddings : float32, shape (n_docs, dim), document embeddings; not modified
    seed_embeddings : float32, shape (n_seed_topics, dim), each seed topic's words embedded
        as one text

    Returns
    -------
    nudged : float32, shape (n_docs, dim), a new array
        ``0.75 * document + 0.25 * seed topic`` for documents more similar to a seed topic
        than to the mean document embedding; the other rows unchanged.
    y : int64, shape (n_docs,)
        The most similar seed topic's index, ``-1`` where the mean document was closer
        (UMAP's "unlabelled").
    """
    documents = np.asarray(embeddings, dtype=np.float32)
    seeds = np.asarray(seed_embeddings, dtype=np.float32)
    candidates = np.vstack([seeds, documents.mean(axis=0, keepdims=True)])
    y = np.empty(len(documents), dtype=np.int64)
    units = _unit_rows(candidates)
    for start in range(0, len(documents), 65536):
        y[start:start + 65536] = (_unit_rows(documents[start:start + 65536]) @ units.T).argmax(axis=1)
    y[y == len(seeds)] = -1
    nudged = documents.copy()
    chosen = y >= 0
    nudged[chosen] = documents[chosen] * DOCUMENT_WEIGHT + seeds[y[chosen]] * SEED_WEIGHT
    return nudged, y


def combine_labels(zeroshot: np.ndarray, clustered: np.ndarray, n_listed: int) -> np.ndarray:
    """Full-length labels from the zero-shot assignment and the clustering of the rest
    (``BERTopic._combine_zeroshot_topics``): listed topic ``j`` is label ``j``, cluster ``c``
    is ``n_listed + c``, outliers ``-1``.

    Parameters
    ----------
    zeroshot : int64, shape (n_docs,), listed topic index or -1
    clustered : int64, shape (n_unassigned,), HDBSCAN labels of the documents with ``zeroshot == -1``
    n_listed : number of listed topics

    Returns
    -------
    labels : int64, shape (n_docs,)
    """
    zeroshot = np.asarray(zeroshot, dtype=np.int64)
    labels = zeroshot.copy()
    rest = zeroshot < 0
    clustered = np.asarray(clustered, dtype=np.int64)
    if clustered.shape != (int(rest.sum()),):
        raise ValueError(f"{len(clustered)} cluster labels for {int(rest.sum())} unassigned documents")
    labels[rest] = np.where(clustered >= 0, clustered + n_listed, -1)
    return labels


def name_listed(representation, zeroshot: np.ndarray, names: list[str] | tuple[str, ...]):
    """Mark the topics the listed topics became: ``label`` is the analyst's name, ``name``
    ``"<id>_<name>"``, column ``zeroshot`` (bool) true. The topic of listed topic ``j`` is the
    one most of its joined documents ended in (all of them, unless a refinement moved some).

    Parameters
    ----------
    representation : :class:`topics.represent.ctfidf.TopicRepresentation`
    zeroshot : int64, shape (n_docs,), listed topic index per document or -1
    names : the listed topics' names

    Returns
    -------
    TopicRepresentation with a new topic table; the listed topics no document joined are
    not in it yet (see :func:`add_unmatched`).
    """
    topics = representation.topics.copy()
    topics["zeroshot"] = False
    doc_topics = representation.doc_topics
    for index, name in enumerate(names):
        members = doc_topics[np.asarray(zeroshot) == index]
        members = members[members >= 0]
        if not len(members):
            continue
        topic = int(np.bincount(members).argmax())
        row = topics.index[topics["topic"] == topic][0]
        topics.at[row, "label"] = name
        topics.at[row, "name"] = f"{topic}_{name}"
        topics.at[row, "zeroshot"] = True
    return dataclasses.replace(representation, topics=topics)


def add_unmatched(representation, names: list[str] | tuple[str, ...], listed_embeddings: np.ndarray):
    """Append the listed topics that no topic carries yet as empty topics (size 0, no terms,
    no representative documents), with ids after the largest, an all-zero c-TF-IDF row and
    their listed text's embedding as topic embedding.

    Parameters
    ----------
    representation : the result of :func:`name_listed`
    names : the listed topics' names
    listed_embeddings : float32, shape (len(names), dim)
    """
    topics = representation.topics
    present = set(topics.loc[topics["zeroshot"], "label"])
    missing = [i for i, name in enumerate(names) if name not in present]
    if not missing:
        return representation
    first = int(topics["topic"].max()) + 1
    rows = pd.DataFrame([
        {"topic": first + k, "size": 0, "name": f"{first + k}_{names[i]}", "terms": [], "weights": [], "ctfidf_terms": [],
         "ctfidf_weights": [], "representative_doc_ids": [], "label": names[i], "summary": None, "zeroshot": True}
        for k, i in enumerate(missing)
    ])
    table = pd.concat([topics, rows[topics.columns]], ignore_index=True).astype({"topic": "int64", "size": "int64", "zeroshot": bool})
    ctfidf = sparse.vstack([representation.ctfidf, sparse.csr_matrix((len(missing), representation.ctfidf.shape[1]))]).tocsr()
    embeddings = np.vstack([representation.topic_embeddings, np.asarray(listed_embeddings, dtype=np.float32)[missing]])
    return dataclasses.replace(representation, topics=table, ctfidf=ctfidf, topic_embeddings=embeddings.astype(np.float32))


def zeroshot_scores(topics: pd.DataFrame, doc_topics: np.ndarray, labels: pd.Series) -> list[dict]:
    """Per listed topic, how well it collects one known label: its size, its majority label,
    the share of its labelled documents carrying it (``precision``) and the share of that
    label's documents it collected (``recall``). Documents without a label are left out.

    Parameters
    ----------
    topics : topic table with ``topic``, ``label``, ``size`` and ``zeroshot`` columns
    doc_topics : int64, shape (n_docs,)
    labels : the corpus's label column, length n_docs

    Returns
    -------
    list of dicts (topic, name, size, n_labelled, majority_label, precision, recall), in the
    topic table's order; empty topics have None for the label and scores.
    """
    known = labels.notna().to_numpy()
    truth = labels.astype(str).to_numpy()
    doc_topics = np.asarray(doc_topics)
    rows = []
    for row in topics[topics["zeroshot"]].itertuples(index=False):
        members = (doc_topics == row.topic) & known
        record = {"topic": int(row.topic), "name": str(row.label), "size": int(row.size), "n_labelled": int(members.sum()),
                  "majority_label": None, "precision": None, "recall": None}
        if members.any():
            values, counts = np.unique(truth[members], return_counts=True)
            best = int(np.argmax(counts))  # ties: the alphabetically first label
            record.update(majority_label=str(values[best]), precision=float(counts[best] / members.sum()),
                          recall=float(counts[best] / ((truth == values[best]) & known).sum()))
        rows.append(record)
    return rows
