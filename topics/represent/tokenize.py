"""Turning text into candidate topic terms, in any script: the tokenizer of the c-TF-IDF
vectorizer (``CountVectorizer(tokenizer=Tokenizer(...))``) and of everything that must
tokenise as it does (preflight, coherence, outlier reduction).

Each text goes through :func:`normalize_text`, then each script through its own segmenter:

- **Space-separated scripts** (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari ...):
  ``represent.token_pattern``, a regular expression (the ``regex`` module: its ``\\w`` covers
  combining marks, so Devanagari or Arabic words are not cut at their vowel signs). The
  default keeps words of two or more characters that start with a letter; a hyphen between
  two word characters stays inside the word, so "scale-free" is one term and a leading or
  trailing hyphen is dropped. Apostrophes split words: "l'économie" -> "économie",
  "don't" -> "don" (an English stop word), "Einstein's" -> "einstein".
- **Hangul**: kiwipiepy (Kiwi, Korean morphological analysis); its nouns (``NNG`` common,
  ``NNP`` proper) become terms, particles and endings do not: "파일을" -> "파일".
- **Han and kana**: jieba for Chinese, SudachiPy (split mode B, sudachidict-core) for
  Japanese, which keeps its nouns (名詞: common and proper, not numerals). Words of a single
  character are dropped (mostly function words). Which one applies: the ``han`` argument
  (``chinese``, ``japanese``, or ``auto``: Japanese for a run of text holding kana).
- **Thai, Lao, Khmer, Myanmar, Tibetan** (written without spaces, no segmenter here):
  overlapping character bigrams (pairs of grapheme clusters).

Tokens are then put back in text order (for n-grams), and stop words dropped.
Never terms: symbols, emoji and punctuation (no segmenter yields them), HTML tags and
entities, URLs and e-mail addresses (:func:`strip_markup`), bare numbers (the pattern starts
with a letter) and identifiers (:func:`is_identifier`: hashes such as Debian's
``Description-md5`` lines, UUIDs, long digit strings glued to letters).
"""

from __future__ import annotations

import functools
import html
import unicodedata
from dataclasses import dataclass

import regex

from topics.config import RepresentConfig

# Two or more letters or digits starting with a letter; a hyphen (ASCII or U+2010) between
# two of them stays inside the token; underscores split.
DEFAULT_TOKEN_PATTERN = RepresentConfig.model_fields["token_pattern"].default

HAN_MODES = ("auto", "chinese", "japanese")
# BERTopic's stand-in for a document its cleaning emptied; never a term.
EMPTY_DOC = "emptydoc"
# Longest piece of Han/kana text handed to a segmenter at once (SudachiPy refuses inputs
# above about 49 kB).
MAX_RUN_CHARS = 4000

_TAG = regex.compile(
    r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->|<!\[CDATA\[.*?\]\]>|</?[A-Za-z][^<>]*>|<![A-Za-z][^<>]*>",
    regex.IGNORECASE | regex.DOTALL,
)
_URL = regex.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"']+|\bmailto:\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", regex.IGNORECASE)
# TeX accent commands and the combining mark each puts on its letter: \\"o, \\'{e}, \\v{c}.
_TEX_MARKS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
              "v": "\u030c", "c": "\u0327", "u": "\u0306", "H": "\u030b"}
_TEX_ACCENT = regex.compile(r"""\{?\\(["'`^~=.]|[vcuH](?=\{))\{?([A-Za-z])\}?\}?""")
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}ー々〆ヶ"
_CJK_GAP = regex.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_CJK_RUN = regex.compile(rf"[{_CJK}]+")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HANGUL = regex.compile(r"\p{Hangul}")
_HANGUL_WORD = regex.compile(r"\p{Hangul}+")
# Characters of context Kiwi reads on each side of Korean text (a particle after a Latin
# word is only tagged right with that word in view).
KOREAN_CONTEXT = 200
_SPACE = regex.compile(r"\s")
_UNSPACED = r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
_UNSPACED_RUN = regex.compile(rf"[{_UNSPACED}]+")
# Characters segmented by their own script's tool, hidden from the space-separated pattern.
_SEGMENTED = regex.compile(rf"[\p{{Hangul}}{_CJK}{_UNSPACED}]")
_GRAPHEME = regex.compile(r"\X")
_HEX_RUN = regex.compile(r"[0-9a-f]{8,}")
_DIGIT = regex.compile(r"\d")
KOREAN_TAGS = ("NNG", "NNP")


def _tex_accent(match) -> str:
    return unicodedata.normalize("NFC", match.group(2) + _TEX_MARKS[match.group(1)])


def strip_markup(text: str) -> str:
    """``text`` with HTML/XML tags, comments, ``<script>``/``<style>`` blocks, URLs and
    e-mail addresses replaced by spaces, HTML entities decoded ("&eacute;" -> "é") and TeX
    accents applied ("Schr\\"odinger" -> "Schrödinger", as in arXiv abstracts).
    Used for term extraction only; stored texts keep their markup."""
    text = _TAG.sub(" ", text) if "<" in text else text
    text = html.unescape(text) if "&" in text else text
    text = _TEX_ACCENT.sub(_tex_accent, text) if "\\" in text else text
    return _URL.sub(" ", text) if _may_hold_address(text) else text


def _may_hold_address(text: str) -> bool:
    # What every match of _URL holds ("://", "www.", "mailto:" or "@"); most texts hold none,
    # and substring tests cost a fraction of the pattern's scan.
    if "@" in text or "://" in text:
        return True
    lowered = text.lower()
    return "www." in lowered or "mailto:" in lowered


def normalize_text(text: str) -> str:
    """The text terms are read from: :func:`strip_markup`, Unicode NFKC (full-width letters,
    ligatures and composed accents unified: "café" stays "café"), lower case, and no
    whitespace between two Han/kana characters (a line break inside a Chinese or Japanese
    word, as in wrapped text, joins it back)."""
    text = unicodedata.normalize("NFKC", strip_markup(text)).lower()
    return _CJK_GAP.sub("", text)


def is_identifier(token: str) -> bool:
    """Whether ``token`` is an identifier rather than a word: 8 or more hexadecimal
    characters in a row holding a digit (an md5/sha hash or a UUID part), or 5 or more digits
    glued to letters ("abc12345"). "mp3", "x86-64", "utf-8", "covid-19" are words."""
    if _DIGIT.search(token) is None:
        return False  # most words: no digit, no identifier
    if sum(1 for _ in _DIGIT.finditer(token)) >= 5:
        return True
    return any(_DIGIT.search(run.group()) for run in _HEX_RUN.finditer(token))


@functools.cache
def _pattern(token_pattern: str):
    return regex.compile(token_pattern)


@functools.cache
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


@functools.cache
def _sudachi():
    from sudachipy import Dictionary, SplitMode

    return Dictionary(dict="core").tokenizer(mode=SplitMode.B)


@functools.cache
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _is_cjk_word(word: str) -> bool:
    return len(word) >= 2 and _CJK_RUN.fullmatch(word) is not None


def _korean_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the stretches of ``text`` holding Hangul: Hangul words less than
    2 x KOREAN_CONTEXT apart share a stretch, which reaches KOREAN_CONTEXT further on each
    side, to a white space (a whole Korean document is one stretch)."""
    spans: list[list[int]] = []
    for word in _HANGUL_WORD.finditer(text):
        if spans and word.start() - spans[-1][1] <= 2 * KOREAN_CONTEXT:
            spans[-1][1] = word.end()
        else:
            spans.append([word.start(), word.end()])
    result = []
    for start, end in spans:
        before = [m.end() for m in _SPACE.finditer(text, max(0, start - KOREAN_CONTEXT), start)]
        after = _SPACE.search(text, min(len(text), end + KOREAN_CONTEXT))
        result.append((before[0] if start > KOREAN_CONTEXT and before else 0, after.start() if after else len(text)))
    return result


def _korean(text: str) -> list[tuple[int, str]]:
    # Kiwi reads only the stretches around Korean words: a long text (c-TF-IDF joins a
    # topic's documents) with one Hangul word would otherwise be analysed whole, minutes for a
    # large English topic.
    return [
        (start + token.start, token.form)
        for start, end in _korean_spans(text) for token in _kiwi().tokenize(text[start:end])
        if token.tag in KOREAN_TAGS and _HANGUL_WORD.fullmatch(token.form)
    ]


def _japanese(run: str, offset: int) -> list[tuple[int, str]]:
    found = []
    for morpheme in _sudachi().tokenize(run):
        pos = morpheme.part_of_speech()
        word = morpheme.surface()
        if pos[0] == "名詞" and pos[1] in ("普通名詞", "固有名詞") and _is_cjk_word(word):
            found.append((offset + morpheme.begin(), word))
    return found


def _chinese(run: str, offset: int) -> list[tuple[int, str]]:
    return [(offset + start, word) for word, start, _ in _jieba().tokenize(run) if _is_cjk_word(word)]


def _bigrams(run: str, offset: int) -> list[tuple[int, str]]:
    """Overlapping pairs of grapheme clusters (a Thai consonant keeps its vowel and tone marks)."""
    clusters = [(m.start(), m.group()) for m in _GRAPHEME.finditer(run)]
    return [(offset + start, first + second) for (start, first), (_, second) in zip(clusters, clusters[1:])]


@dataclass(frozen=True)
class Tokenizer:
    """A picklable callable ``text -> list[str]`` for ``CountVectorizer(tokenizer=...)``.

    Parameters
    ----------
    token_pattern : str
        Regular expression (``regex`` syntax) for words of space-separated scripts; with one
        capturing group, the group is the token (as in scikit-learn).
    stop_words : frozenset of str
        Dropped tokens, lower-case and NFKC-normalised.
    han : {"auto", "chinese", "japanese"}
        Segmenter of Han/kana text; ``auto`` picks Japanese for a run holding kana.

    The segmenters (kiwipiepy, jieba, SudachiPy) are loaded once per process, on the first
    text of their script, and are not part of the pickled state.
    """

    token_pattern: str = DEFAULT_TOKEN_PATTERN
    stop_words: frozenset = frozenset()
    han: str = "auto"

    def __call__(self, text: str) -> list[str]:
        """The tokens of ``text`` in text order: list of str (lower-case, NFKC)."""
        text = normalize_text(text)
        if text.strip() == EMPTY_DOC:
            return []
        if not _SEGMENTED.search(text):
            # Only space-separated words, already in text order: no offsets needed.
            return [token for token in self._words(text) if token not in self.stop_words]
        found = self._spaced(text)
        if _HANGUL.search(text):
            found += _korean(text)
        for run in _CJK_RUN.finditer(text):
            for start in range(run.start(), run.end(), MAX_RUN_CHARS):
                piece = text[start:min(start + MAX_RUN_CHARS, run.end())]
                japanese = self.han == "japanese" or (self.han == "auto" and _KANA.search(piece))
                found += _japanese(piece, start) if japanese else _chinese(piece, start)
        for run in _UNSPACED_RUN.finditer(text):
            found += _bigrams(run.group(), run.start())
        found.sort(key=lambda pair: pair[0])
        return [token for _, token in found if token not in self.stop_words]

    def _words(self, text: str) -> list[str]:
        """The pattern's words of ``text`` (holding no segmented script), in text order."""
        pattern = _pattern(self.token_pattern)
        # findall gives the one group's text, as _spaced reads it; with several groups, tuples.
        words = pattern.findall(text) if pattern.groups <= 1 else [match.group(0) for match in pattern.finditer(text)]
        digits = _DIGIT.search(text) is not None
        return [word for word in words if _is_term(word, digits)]

    def _spaced(self, text: str) -> list[tuple[int, str]]:
        pattern = _pattern(self.token_pattern)
        # Same length: offsets stay comparable.
        hidden = _SEGMENTED.sub(" ", text) if _SEGMENTED.search(text) else text
        group = 1 if pattern.groups == 1 else 0
        digits = _DIGIT.search(hidden) is not None
        return [(match.start(group), match.group(group)) for match in pattern.finditer(hidden)
                if _is_term(match.group(group), digits)]


def _is_term(token: str | None, digits: bool) -> bool:
    """Whether a token the pattern found is a term: whatever the pattern, it needs a letter (no
    bare numbers or symbols), and it is no identifier (checked only when its text holds a
    digit, ``digits``)."""
    return bool(token) and (token[0].isalpha() or any(ch.isalpha() for ch in token)) and not (digits and is_identifier(token))
