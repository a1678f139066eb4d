"""A chat model's reply turned into a topic label and summary (see
:mod:`topics.represent.llm`): tolerant parsing, sanitising, and the echo checks."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from typing import Any, Iterable

from topics.config import LLMConfig
from topics.represent.llm_prompt import ELLIPSIS, _INSTRUCTIONS, TopicPrompt


class LabelRejected(ValueError):
    """Raised by :func:`parse_reply` when a reply gives no usable topic label.

    The message is the reason, one line (e.g. ``"empty label"``, ``"injection echo: ..."``).
    """


# --- the reply ----------------------------------------------------------------------------

_SCRIPT_LIKE = re.compile(r"<\s*(script|style)\b[^>]*>.*?(<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]*>")
_MD_IMAGE_OR_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_LINE_PREFIX = re.compile(r"^\s*(?:#{1,6}|>+|[-+•]\s|\d+[.)]\s)\s*", re.MULTILINE)
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")
_LEADING = "\"'“”‘’«»`.,;:!?-–—•·*#>|~/\\ "
_TRAILING_ALWAYS = "\"'“”‘’«»`,;:-–—•·*|~/\\ "
_SENTENCE_END = ".!?"
_PAIRS = {"(": ")", "[": "]", "{": "}"}


def _strip_ends(text: str, sentence: bool) -> str:
    trailing = _TRAILING_ALWAYS + ("" if sentence else _SENTENCE_END)
    while True:
        before = text
        text = text.lstrip(_LEADING).rstrip(trailing)
        if len(text) >= 2 and _PAIRS.get(text[0]) == text[-1]:
            text = text[1:-1]
        for opening, closing in _PAIRS.items():  # drop an unbalanced bracket at either end
            if text.endswith(closing) and text.count(closing) > text.count(opening):
                text = text[:-1]
            if text.startswith(opening) and text.count(opening) > text.count(closing):
                text = text[1:]
        if text == before:
            return text


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    room = max_chars - len(ELLIPSIS)
    cut = text[:room]
    if not text[room].isspace() and " " in cut:
        word_cut = cut[: cut.rindex(" ")]
        if len(word_cut) >= room // 2:  # a single huge word is cut mid-word instead
            cut = word_cut
    cut = cut.rstrip(_TRAILING_ALWAYS + _SENTENCE_END)
    return (cut + ELLIPSIS) if cut else ""


def sanitize(text: str, max_chars: int, *, sentence: bool = False) -> str:
    """Reduce model output to one line of plain text of at most ``max_chars`` characters.

    Steps: HTML entities decoded; ``<script>``/``<style>`` elements removed with their
    content; HTML/XML tags and any stray ``<``/``>`` removed; markdown links reduced to their
    text; markdown emphasis and code (``*``, ``_``, backticks), heading ``#``, quote ``>`` and
    list markers removed; control and format characters (Unicode category ``C*``, which
    includes zero-width characters) removed; whitespace collapsed; surrounding quotes and
    punctuation stripped; finally cut on a word boundary, with ``…`` appended when cut.

    Parameters
    ----------
    text : str
        Untrusted text (a model's label or summary).
    max_chars : int
        The cap, ellipsis included.
    sentence : bool, default False
        Keep a final ``.``, ``!`` or ``?`` (for summaries); a label loses it.

    Returns
    -------
    str
        The cleaned text; may be empty.
    """
    text = html.unescape(str(text))
    text = _SCRIPT_LIKE.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = text.replace("<", " ").replace(">", " ") if ("<" in text or ">" in text) else text
    text = _MD_IMAGE_OR_LINK.sub(r"\1", text)
    text = "".join(" " if ch in "\r\n\t\v\f\u2028\u2029\x85" else ch for ch in text)
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    text = _MD_LINE_PREFIX.sub("", text)
    text = text.replace("*", "").replace("`", "")
    text = _MD_UNDERSCORE.sub("", text)
    text = re.sub(r"\s#+$", "", " ".join(text.split()))  # a closing "## Heading ##"
    text = _strip_ends(text, sentence)
    return _cap(text, max_chars)


_JSON_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_CODE_FENCE_LINE = re.compile(r"^\s*```[\w+-]*\s*$", re.MULTILINE)
_LABEL_KEYS = ("label", "topic_label", "topic label", "title", "name", "topic")
_SUMMARY_KEYS = ("summary", "description", "topic_summary")
_LABEL_PREFIX = re.compile(r"^\s*(?:topic\s+)?(?:label|name|title|topic)\s*[:=-]\s*", re.IGNORECASE)


def _first_json_object(text: str) -> dict | None:
    """The first ``{...}`` in ``text`` that parses as a JSON object (fenced blocks first)."""
    decoder = json.JSONDecoder()
    candidates = [m.group(1) for m in _JSON_FENCE.finditer(text)] + [text]
    for candidate in candidates:
        for match in re.finditer(r"\{", candidate):
            try:
                value, _ = decoder.raw_decode(candidate, match.start())
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def _loose_field(text: str, keys: Iterable[str]) -> str | None:
    """The quoted value of the first of ``keys`` written as ``"key": "value`` (closing quote optional)."""
    for key in keys:
        match = re.search(r'(?<!\w)["\']?' + re.escape(key) + r'["\']?\s*[:=]\s*["\']([^"\'\n]*)', text, re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def _pick(obj: dict, keys: Iterable[str]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    for key in keys:
        if key in lowered and lowered[key] not in (None, ""):
            return lowered[key]
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _injection_echo(label: str, prompt: TopicPrompt) -> str | None:
    """The document a 3+ word label repeats verbatim while sharing no word with the terms."""
    label_words = _words(label.replace(ELLIPSIS, " "))
    if len(label_words) < 3:
        return None
    term_words = {w for term in prompt.terms for w in _words(str(term))}
    if term_words & set(label_words):
        return None
    needle = " " + " ".join(label_words) + " "
    for i, doc in enumerate(prompt.documents, start=1):
        # Compare with the document as sanitised and as raw, so tags stripped from the
        # label (e.g. "<script>...</script> PWNED") still match.
        for form in (str(doc), sanitize(str(doc), max(len(str(doc)), 1))):
            if needle in " " + " ".join(_words(form)) + " ":
                return f"document {i}"
    return None


def _prompt_echo(label: str) -> bool:
    """Whether the label opens with 3+ words copied from the prompt's own instructions (small
    models often answer "The topic is described by the following keywords ...")."""
    words = _words(label.replace(ELLIPSIS, " "))[:5]
    if len(words) < 3:
        return False
    needle = " " + " ".join(words[:3]) + " "
    return any(needle in " " + " ".join(_words(line)) + " " for line in _INSTRUCTIONS)


def parse_reply(text: str, prompt: TopicPrompt, config: LLMConfig) -> tuple[str, str | None]:
    """Turn a model's reply into ``(label, summary)``.

    The reply may be a JSON object (alone, inside a ```json fence, or surrounded by chatter:
    the first ``{...}`` that parses wins; keys are case-insensitive, ``label`` and
    ``summary`` with a few common synonyms), a truncated JSON object (the fields are read
    loosely), or plain text (the first non-empty line is the label, a ``Label:`` prefix
    dropped; no summary). Both are then passed through :func:`sanitize`: the label capped at
    ``config.label_chars``, the summary at ``config.summary_chars``.

    Parameters
    ----------
    text : str
        The raw reply.
    prompt : TopicPrompt
        The topic asked about (for the injection-echo check).
    config : LLMConfig
        Supplies ``label_chars`` and ``summary_chars``.

    Returns
    -------
    tuple of (str, str or None)
        The topic label (non-empty) and the summary (None when absent or empty).

    Raises
    ------
    LabelRejected
        If the label is empty after sanitising, opens with 3+ words of the prompt's own
        instructions (a prompt echo), or is an injection echo: 3 or more words
        found verbatim (case-insensitive, whitespace-normalised) in one of the prompt's
        documents and sharing no word with the topic's terms.
    """
    text = str(text or "")
    obj = _first_json_object(text)
    if obj is not None:
        raw_label, raw_summary = _pick(obj, _LABEL_KEYS), _pick(obj, _SUMMARY_KEYS)
    else:
        # No JSON object parses: maybe one cut off by max_tokens ('{"label": "Galaxy clus'),
        # read field by field; else plain text, whose first line is the label.
        raw_label, raw_summary = _loose_field(text, _LABEL_KEYS), _loose_field(text, _SUMMARY_KEYS)
        if raw_label is None:
            body = _CODE_FENCE_LINE.sub("", text).strip()
            if body.startswith(("{", "[")):
                raise LabelRejected("the reply is JSON that does not parse and has no label (cut off by max_tokens?)")
            lines = [ln for ln in (sanitize(line, len(line) + 1) for line in body.splitlines()) if ln]
            raw_label = _LABEL_PREFIX.sub("", lines[0]) if lines else ""
    label = sanitize(raw_label if isinstance(raw_label, str) else json.dumps(raw_label) if raw_label else "",
                     config.label_chars)
    if not label:
        raise LabelRejected("empty label" if text.strip() else "empty reply")
    if _prompt_echo(label):
        raise LabelRejected(f"prompt echo: the label {label!r} repeats the prompt's instructions")
    echoed = _injection_echo(label, prompt)
    if echoed:
        raise LabelRejected(f"injection echo: the label {label!r} repeats {echoed} and shares no word with the terms")
    summary = sanitize(raw_summary, config.summary_chars, sentence=True) if isinstance(raw_summary, str) else ""
    return label, (summary or None)


