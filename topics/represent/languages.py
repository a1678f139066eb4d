"""The term language of a corpus: which segmenters and stop words its terms go through.

``represent.language`` is one of :data:`CHOICES`:

- a language of :data:`LANGUAGES`: every document is read as that language (its stop words;
  for ``chinese``/``japanese``, every Han run goes to jieba/SudachiPy);
- ``multilingual``: each run of text by its own script (Hangul to kiwipiepy, Han with kana
  to SudachiPy and without to jieba, unless the corpus holds only one of Chinese and
  Japanese), with the stop words of every language found in the corpus;
- ``auto`` (the default): detected. Each document of an even sample (at most
  :data:`SAMPLE_DOCS`, their first :data:`SAMPLE_CHARS` characters) gets a language by its
  script: Hangul -> korean; Han/kana -> japanese when kana make up at least
  :data:`KANA_SHARE` of them, else chinese; Latin -> english, french or german, the one whose
  stop words are most frequent among its words (at least :data:`LATIN_STOP_SHARE` of them),
  else none of those; other scripts -> none of those. Hangul, Han and kana characters count
  :data:`SYLLABLE_WEIGHT` letters each (a syllable or ideograph holds about as much as a
  short Latin word's letters), so the English names in a Korean sentence do not make it
  English. When one language covers at least :data:`DOMINANT_SHARE` of the sampled
  documents, it is the corpus's; otherwise the corpus is ``multilingual``.

Latin-script text is told apart only among English, French and German; for another language
set ``represent.stop_words`` to a list (see :func:`stop_words_for`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import regex

from topics.config import LANGUAGE_CHOICES as CHOICES
from topics.config import TERM_LANGUAGES as LANGUAGES
from topics.represent import stopwords
from topics.represent.tokenize import Tokenizer, is_identifier, normalize_text

CJK_LANGUAGES = ("korean", "chinese", "japanese")
LATIN_LANGUAGES = ("english", "french", "german")
SAMPLE_DOCS = 2000
SAMPLE_CHARS = 2000
KANA_SHARE = 0.05
LATIN_STOP_SHARE = 0.05
SYLLABLE_WEIGHT = 3
DOMINANT_SHARE = 0.9
# A language found in at least this share of sampled documents brings its stop words to a
# multilingual corpus.
PRESENT_SHARE = 0.01

_HANGUL = regex.compile(r"\p{Hangul}")
_HAN = regex.compile(r"\p{Han}")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_LATIN_WORD = regex.compile(r"\p{Latin}+")
_LETTER = regex.compile(r"\p{L}")
_WORD = regex.compile(r"\S+")


@dataclass(frozen=True)
class TermLanguage:
    """The resolved term language of a corpus.

    Attributes
    ----------
    language : str
        One of :data:`LANGUAGES` or ``"multilingual"``.
    present : tuple of str
        The languages whose stop words apply (with ``stop_words: auto``), in
        :data:`LANGUAGES` order.
    source : str
        ``"detected"`` (from ``auto``) or ``"set"``.
    shares : dict str -> float
        Share of sampled documents per detected language (``"other"``: none of
        :data:`LANGUAGES`); empty when the language was set.
    """

    language: str
    present: tuple[str, ...]
    source: str
    shares: dict[str, float] = field(default_factory=dict, compare=False)

    def han(self) -> str:
        """The :class:`~topics.represent.tokenize.Tokenizer`'s ``han`` mode."""
        if self.language in ("chinese", "japanese"):
            return self.language
        cjk = [lang for lang in self.present if lang in ("chinese", "japanese")]
        return cjk[0] if len(cjk) == 1 else "auto"

    def as_dict(self) -> dict:
        return {"language": self.language, "present": list(self.present), "source": self.source,
                "shares": {k: round(v, 4) for k, v in sorted(self.shares.items())}}


def document_language(text: str) -> str | None:
    """The language of one text by its script and, for Latin script, its stop words: one of
    :data:`LANGUAGES`, ``"other"``, or None for a text without letters."""
    text = " ".join(word for word in _WORD.findall(normalize_text(text)) if not is_identifier(word))
    hangul, han, kana = (len(p.findall(text)) for p in (_HANGUL, _HAN, _KANA))
    latin_words = _LATIN_WORD.findall(text)
    latin = sum(len(w) for w in latin_words)
    other = len(_LETTER.findall(text)) - hangul - han - kana - latin
    scores = {"korean": SYLLABLE_WEIGHT * hangul, "cjk": SYLLABLE_WEIGHT * (han + kana), "latin": latin, "other": other}
    script, score = max(scores.items(), key=lambda item: item[1])
    if score == 0:
        return None
    if script == "cjk":
        return "japanese" if kana >= KANA_SHARE * (han + kana) else "chinese"
    if script != "latin":
        return script
    hits = {lang: sum(w in stopwords.stop_list(lang) for w in latin_words) for lang in LATIN_LANGUAGES}
    best = max(LATIN_LANGUAGES, key=lambda lang: hits[lang])  # ties: the first, english
    return best if hits[best] >= LATIN_STOP_SHARE * len(latin_words) and hits[best] > 0 else "other"


def _sample(texts: list[str]) -> list[str]:
    step = max(1, len(texts) // SAMPLE_DOCS)
    return [text[:SAMPLE_CHARS] for text in texts[::step][:SAMPLE_DOCS]]


def resolve_language(texts: list[str], setting: str = "auto") -> TermLanguage:
    """The :class:`TermLanguage` of a corpus for ``represent.language`` = ``setting``.

    Parameters
    ----------
    texts : list of str, the corpus (only a sample is read)
    setting : one of :data:`CHOICES`

    Raises
    ------
    ValueError
        If ``setting`` is not one of :data:`CHOICES`.
    """
    if setting not in CHOICES:
        raise ValueError(f"represent.language {setting!r}: expected one of {', '.join(CHOICES)}")
    if setting in LANGUAGES:
        return TermLanguage(setting, (setting,), "set")
    found = Counter(lang for lang in map(document_language, _sample(list(texts))) if lang is not None)
    total = sum(found.values())
    shares = {lang: n / total for lang, n in found.items()} if total else {}
    present = tuple(lang for lang in LANGUAGES if shares.get(lang, 0.0) >= PRESENT_SHARE)
    source = "detected" if setting == "auto" else "set"
    if setting == "auto" and shares:
        top, share = max(shares.items(), key=lambda item: item[1])
        if top in LANGUAGES and share >= DOMINANT_SHARE:
            return TermLanguage(top, (top,), source, shares)
    return TermLanguage("multilingual", present, source, shares)


def stop_words_for(stop_words: str | list[str] | None, language: TermLanguage) -> frozenset[str]:
    """The stop words for ``represent.stop_words`` = ``stop_words``.

    - ``"auto"``: the lists of ``language.present``, plus English when one of them is Korean,
      Chinese or Japanese (their texts quote English names and phrases);
    - a language name: that language's list, whatever the corpus;
    - a list of words: exactly those (normalised as tokens are);
    - None: none.

    Raises
    ------
    ValueError
        For a name that is neither ``auto`` nor one of :data:`LANGUAGES`.
    """
    if stop_words is None:
        return frozenset()
    if isinstance(stop_words, str):
        if stop_words == "auto":
            names = set(language.present)
            if names & set(CJK_LANGUAGES):
                names.add("english")
        elif stop_words in LANGUAGES:
            names = {stop_words}
        else:
            raise ValueError(f"represent.stop_words {stop_words!r}: expected auto, one of {', '.join(LANGUAGES)}, null or a list")
        return frozenset().union(*(stopwords.stop_list(name) for name in sorted(names)))
    return frozenset(normalize_text(word).strip() for word in stop_words)


def tokenizer_for(token_pattern: str, stop_words: str | list[str] | None, language: TermLanguage) -> Tokenizer:
    """The :class:`~topics.represent.tokenize.Tokenizer` for a corpus of ``language``."""
    return Tokenizer(token_pattern=token_pattern, stop_words=stop_words_for(stop_words, language), han=language.han())
