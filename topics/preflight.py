"""Checks that run before any expensive stage, so a run that cannot succeed fails in seconds
with the true reason, and a setting that cannot be applied as given is reported, never
silently changed.

- :func:`check_settings`: settings that contradict each other (a refiner asking for more
  words than the one before it hands on; guide settings with topic reduction or a reference
  run) and a guide file that cannot serve.
- :func:`planned_adjustments`: settings that will be applied with another value, and why
  (UMAP neighbours above the corpus size, more terms than the chain yields).
- :func:`check_terms`: the corpus tokenised as c-TF-IDF will see it must yield a term.
- :func:`check_writable`: the run directory and the cache can be created and written.

``topics run`` calls them before Prefect starts (exit 2); the flow calls them after its load
stage, so a deployment run fails with the same one-line reason.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from topics.artifacts import ArtifactStore
from topics.config import ConfigError, RepresentConfig, RunConfig
from topics.reduce import MIN_DOCS

# BERTopic hands at least this many c-TF-IDF words per topic to the first refiner
# (``BERTopic._extract_words_per_topic``: ``max(top_n_words, 30)``).
CTFIDF_CANDIDATES = 30
# Documents tokenised per step of the term check: it stops at the first step that yields a term.
TERM_CHECK_BATCH = 2000


class PreflightError(ValueError):
    """Raised when a run cannot succeed; the message is one line with the reason and a hint."""


@dataclass(frozen=True)
class Adjustment:
    """A setting applied with another value than given: ``key`` (dotted), ``given``, ``used``
    and the ``reason``."""

    key: str
    given: Any
    used: Any
    reason: str

    def line(self) -> str:
        return f"{self.key}={self.given} is applied as {self.used}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chain_yield(config: RepresentConfig) -> tuple[int, str]:
    """How many terms per topic the representation chain yields, and the key that decides it."""
    if not config.chain:
        return config.top_n_terms, "represent.top_n_terms"
    last = config.chain[-1]
    return getattr(config, last).top_n_words, f"represent.{last}.top_n_words"


def check_guide(settings: RunConfig, reference: str | None = None) -> None:
    """Refuse guide settings that cannot serve (see :mod:`topics.guide`): a ``guide.file``
    that is missing or malformed; zero-shot topics with ``refine.nr_topics`` (topic reduction
    would merge listed topics into others, and their names would be lost); any guide setting
    with a reference run (its topics are the reference's, not listed ones).

    Raises
    ------
    ConfigError
        One line naming the key or the file and the problem.
    """
    if not settings.guide.active():
        return
    from topics.guide import resolve

    guide = resolve(settings.guide)
    if reference is not None:
        raise ConfigError("guide.* settings cannot be combined with --reference (a run against a reference keeps its topics); "
                          "run without one of them")
    if guide.zeroshot and settings.refine.nr_topics is not None:
        raise ConfigError(f"refine.nr_topics ({settings.refine.nr_topics}) would merge the listed topics of "
                          "guide.zeroshot_topics; set refine.nr_topics=null or list no zero-shot topics")


def check_settings(settings: RunConfig, reference: str | None = None) -> None:
    """Refuse settings that contradict each other (and guide settings that cannot serve, see
    :func:`check_guide`; ``reference`` is the reference run directory, if any).

    Each refiner of ``represent.chain`` takes the words the step before it hands on: KeyBERT
    picks ``keybert.top_n_words`` among its ``nr_candidate_words`` c-TF-IDF candidates; MMR
    keeps ``mmr.top_n_words`` of the words it is given (BERTopic's MMR fails with "attempt
    to get argmax of an empty sequence" when asked for more).

    Raises
    ------
    ConfigError
        Naming both keys, e.g. ``represent.mmr.top_n_words (10) asks for more words than
        represent.keybert.top_n_words (5) hands on``.
    """
    represent = settings.represent
    handed = max(represent.top_n_terms, CTFIDF_CANDIDATES)
    source = f"c-TF-IDF (max(represent.top_n_terms, {CTFIDF_CANDIDATES}))"
    for name in represent.chain:
        if name == "keybert":
            keybert = represent.keybert
            if keybert.top_n_words > keybert.nr_candidate_words:
                raise ConfigError(
                    f"represent.keybert.top_n_words ({keybert.top_n_words}) asks for more words than "
                    f"represent.keybert.nr_candidate_words ({keybert.nr_candidate_words}) hands on; lower the first or raise the second"
                )
            handed, source = keybert.top_n_words, "represent.keybert.top_n_words"
        elif name == "mmr":
            mmr = represent.mmr
            if mmr.top_n_words > handed:
                raise ConfigError(
                    f"represent.mmr.top_n_words ({mmr.top_n_words}) asks for more words than {source} ({handed}) "
                    "hands on; lower the first or raise the second"
                )
            handed, source = mmr.top_n_words, "represent.mmr.top_n_words"
    check_guide(settings, reference)


def planned_adjustments(settings: RunConfig, n_docs: int) -> list[Adjustment]:
    """The settings that will be applied with another value on a corpus of ``n_docs`` documents.

    - ``reduce.n_neighbors`` and ``project.n_neighbors`` above ``n_docs - 1``, or above
      ``fit_sample - 1`` when UMAP is fitted on a sample: UMAP needs fewer neighbours than the
      documents it is fitted on, so they are clamped (see :mod:`topics.reduce`).
    - ``represent.top_n_terms`` above what the chain's last refiner yields: the topics carry
      that many terms.
    """
    adjustments = []
    for section in ("reduce", "project"):
        umap = getattr(settings, section)
        sampled = umap.fit_sample is not None and n_docs > umap.fit_sample
        fitted = umap.fit_sample if sampled else n_docs
        if umap.n_neighbors > fitted - 1:
            what = f"the {fitted} documents of {section}.fit_sample it is fitted on" if sampled else f"documents ({n_docs})"
            adjustments.append(Adjustment(
                f"{section}.n_neighbors", umap.n_neighbors, fitted - 1, f"UMAP needs fewer neighbours than {what}",
            ))
    yielded, source = chain_yield(settings.represent)
    if settings.represent.top_n_terms > yielded:
        adjustments.append(Adjustment(
            "represent.top_n_terms", settings.represent.top_n_terms, yielded,
            f"the representation chain yields {yielded} terms per topic ({source})",
        ))
    return adjustments


def _term_finder(config: RepresentConfig, language, stop_words):
    """A function that returns the terms of a batch of texts as c-TF-IDF tokenises them:
    BERTopic's text cleaning (its English cleaning off, as in
    :func:`topics.represent.ctfidf.fit_bertopic`), then the vectorizer's tokenizer for the
    corpus's term ``language`` with ``stop_words`` (``min_df`` 1: it counts over topics,
    unknown before clustering)."""
    from bertopic import BERTopic

    from topics.represent.languages import tokenizer_for

    cleaner = BERTopic(verbose=False)  # its _preprocess_text is what fit() applies to every topic's text
    cleaner.language = None
    tokenize = tokenizer_for(config.token_pattern, stop_words, language)

    def terms(texts: list[str]) -> set[str]:
        found: set[str] = set()
        for cleaned in cleaner._preprocess_text(texts):
            found.update(tokenize(cleaned))
        return found

    return terms


def _batches(texts: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(texts), size):
        yield texts[start:start + size]


def check_terms(texts: list[str], config: RepresentConfig) -> None:
    """Refuse a corpus that can yield no topic term.

    The texts are tokenised as c-TF-IDF will see them: the term language resolved for
    ``represent.language`` (see :mod:`topics.represent.languages`), its segmenters
    (``represent.token_pattern`` for space-separated scripts, kiwipiepy for Korean, jieba for
    Chinese, SudachiPy for Japanese) and ``represent.stop_words``. Words in any script count.
    The check stops at the first batch of documents that yields a term, so a normal corpus
    costs milliseconds (plus loading a segmenter the corpus needs).

    Raises
    ------
    PreflightError
        With the reason: every word is a stop word; or no token is a word (only numbers,
        symbols, emoji, punctuation, markup or identifiers).
    """
    from topics.represent.languages import resolve_language

    language = resolve_language(texts, config.language)
    find = _term_finder(config, language, config.stop_words)
    for batch in _batches(texts, TERM_CHECK_BATCH):
        if find(batch):
            return
    n = len(texts)
    if config.stop_words is not None and _term_finder(config, language, None)(texts):
        raise PreflightError(
            f"the corpus yields no topic term: every word of its {n} documents is a stop word "
            f"(represent.stop_words={config.stop_words!r}, language {language.language}); use other documents or set "
            "represent.stop_words=null"
        )
    default_pattern = type(config).model_fields["token_pattern"].default
    if config.token_pattern != default_pattern and _term_finder(
        config.model_copy(update={"token_pattern": default_pattern}), language, config.stop_words,
    )(texts):
        raise PreflightError(
            f"represent.token_pattern \"{config.token_pattern}\" matches no term in the {n} documents, "
            "though the default pattern finds words there; fix the pattern or leave it unset"
        )
    raise PreflightError(
        f"the corpus yields no topic term: its {n} documents hold no word matching represent.token_pattern "
        "(only numbers, symbols, emoji, punctuation, markup or identifiers)"
    )


def check_writable(path: str | Path, what: str) -> None:
    """Refuse a folder that cannot be created or written: ``path`` itself when it exists,
    else its nearest existing parent.

    Raises
    ------
    PreflightError
        Naming ``what`` (e.g. ``--out``, ``cache.dir``), the path and the folder that blocks it.
    """
    path = Path(path).absolute()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise PreflightError(f"{what} {path}: {existing} is a file, not a folder")
    # Writing is tried, not inferred from permission bits: a read-only mount or an ACL
    # refuses what os.access allows (and root passes every os.access check).
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise PreflightError(f"{what} {path}: cannot write in {existing} ({exc.strerror or exc})") from None


def check_loaded_corpus(store: ArtifactStore, corpus_key: str, settings: RunConfig) -> list[Adjustment]:
    """The checks that need the corpus, on the load stage's entry ``corpus_key``: enough
    documents for UMAP, at least one topic term; returns :func:`planned_adjustments`.

    Raises
    ------
    PreflightError
        Too few documents, or a corpus that yields no term (see :func:`check_terms`).
    """
    texts = store.get("load", corpus_key, verify=False).table("documents.parquet")["text"].tolist()
    check_corpus_size(len(texts))
    check_terms(texts, settings.represent)
    return planned_adjustments(settings, len(texts))


def check_corpus_size(n_docs: int) -> None:
    """Raise PreflightError below the :data:`topics.reduce.MIN_DOCS` documents UMAP needs."""
    if n_docs < MIN_DOCS:
        raise PreflightError(f"{n_docs} usable document(s); the pipeline needs at least {MIN_DOCS}")
