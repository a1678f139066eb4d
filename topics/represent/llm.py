"""LLM-written topic labels and summaries.

Each topic's top c-TF-IDF terms and a few of its representative documents go to a chat
model, which answers with a short topic label and a one- or two-sentence summary. The prompt
shape follows BERTopic's ``representation.OpenAI`` (keywords plus representative documents,
one call per topic) and the "Hands-On Large Language Models" recipe (Alammar & Grootendorst,
2024, ch. 5) of asking for a short label; unlike BERTopic, the reply is requested as JSON and
every reply is parsed tolerantly, sanitised and checked before it becomes a label.

The documents are untrusted text. They are fenced as data in the prompt, the model is told
to ignore instructions inside them, and a label that merely repeats a phrase of a document
(sharing no word with the topic's terms) is rejected as an injection echo.

This module holds no network code: an :class:`LLMClient` is injected (see
:mod:`topics.represent.llm_clients` for an OpenAI-compatible one and an in-process
transformers one). :func:`label_topics` never raises for a topic: a failed call or an
unusable reply becomes a one-line reason in :attr:`LabelResult.failures`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol, runtime_checkable

from topics.artifacts import stable_key, write_text
from topics.config import LLMConfig
from topics.represent.llm_prompt import PROMPT_VERSION, TopicPrompt, _truncate, build_messages
from topics.represent.llm_reply import LabelRejected, parse_reply, sanitize

__all__ = [
    "PROMPT_VERSION", "LLMClient", "LabelRejected", "LabelResult", "ResponseCache", "TopicPrompt", "build_messages",
    "label_topics", "make_redactor", "parse_reply", "response_key", "sanitize",
]

log = logging.getLogger(__name__)

_REASON_CHARS = 300


@runtime_checkable
class LLMClient(Protocol):
    """What :func:`label_topics` needs from a chat model.

    Attributes
    ----------
    identity : dict
        What shapes the replies and so keys the response cache: ``provider``, ``model``,
        ``base_url`` (remote) or a digest of the weights (local). Never the API key.
    secrets : tuple of str, optional
        Strings (API keys) that must never appear in a failure message or a log line.
        Optional: a client without it declares none.
    """

    identity: dict

    def complete(self, messages: list[dict], temperature: float, max_tokens: int) -> str:
        """Return the assistant's reply to ``messages`` (OpenAI chat format).

        Raises
        ------
        Exception
            Any error (network, HTTP status, timeout, empty reply); :func:`label_topics`
            records it as the topic's failure.
        """
        ...


@dataclass
class LabelResult:
    """The outcome of :func:`label_topics`.

    Attributes
    ----------
    labels : dict of int to (str, str or None)
        Topic id -> (topic label, summary or None), for every topic that got a usable label.
    failures : dict of int to str
        Topic id -> one-line reason (redacted of the client's secrets), for every other topic.
    n_calls : int
        Calls actually made to the client (successful or not); cache hits are not calls.
    n_cached : int
        Topics answered from the response cache.
    seconds : float
        Wall-clock time of the whole call, in seconds.
    """

    labels: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    n_calls: int = 0
    n_cached: int = 0
    seconds: float = 0.0



# --- the cache ----------------------------------------------------------------------------

def response_key(identity: dict, temperature: float, max_tokens: int, messages: list[dict]) -> str:
    """Cache key of one reply: everything that shapes it (never an API key).

    Parameters
    ----------
    identity : dict
        The client's :attr:`LLMClient.identity`.
    temperature : float
    max_tokens : int
    messages : list of dict
        The exact chat messages sent.

    Returns
    -------
    str
        40 hex characters (:func:`topics.artifacts.stable_key`).
    """
    return stable_key("llm-response", PROMPT_VERSION, identity, float(temperature), int(max_tokens), messages)


class ResponseCache:
    """Raw model replies on disk, one JSON file per :func:`response_key` under ``directory``.

    Files are written atomically (:func:`topics.artifacts.write_text`); an unreadable or
    corrupt file counts as a miss. The constructor creates nothing.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{8,128}", key):
            raise ValueError(f"not a response key: {key!r}")
        return self.directory / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The cached reply for ``key``, or None (absent, unreadable or corrupt)."""
        path = self._path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.debug("LLM response cache: ignoring unreadable %s (%s)", path.name, type(exc).__name__)
            return None
        if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("text"), str):
            log.debug("LLM response cache: ignoring malformed %s", path.name)
            return None
        return record["text"]

    def put(self, key: str, text: str) -> None:
        """Store ``text`` under ``key`` (atomic; replaces an older copy)."""
        write_text(self._path(key), json.dumps({"key": key, "text": text, "created": time.time()}))


# --- labelling ----------------------------------------------------------------------------

_KEY_LIKE = re.compile(r"(?i)\b(?:sk|pk|rk)-[A-Za-z0-9_\-*]{6,}|\bbearer\s+\S+")


def make_redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function that replaces each of ``secrets`` (and key-like tokens) with ``[redacted]``.

    Parameters
    ----------
    secrets : iterable of str
        Exact strings to hide (API keys). Empty strings are ignored.

    Returns
    -------
    callable (str) -> str
    """
    exact = sorted({s for s in secrets if isinstance(s, str) and s}, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in exact:
            text = text.replace(secret, "[redacted]")
        return _KEY_LIKE.sub("[redacted]", text)

    return redact


def _reason(exc: BaseException, redact: Callable[[str], str]) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, LabelRejected):
        message = f"{type(exc).__name__}: {message}"
    return _truncate(redact(message), _REASON_CHARS)


def label_topics(
    prompts: list[TopicPrompt],
    client: LLMClient,
    config: LLMConfig,
    cache: ResponseCache | None = None,
) -> LabelResult:
    """Ask ``client`` for a label and summary of each topic; never raises for a topic.

    Parameters
    ----------
    prompts : list of TopicPrompt
        One per topic to label.
    client : LLMClient
        The chat model. Its ``secrets`` (if any) are redacted from every failure message.
    config : LLMConfig
        ``temperature``, ``max_tokens`` and ``concurrency`` (at most that many calls at once,
        through a thread pool), plus the prompt and sanitising settings.
    cache : ResponseCache, optional
        A cached reply (same client identity, settings and messages) is reused without a
        call; every reply a call returns is cached (raw, so it is parsed again on reuse,
        with the current rules), calls that raise are not.

    Returns
    -------
    LabelResult
        Labels for the topics that got one, a one-line reason for each other topic, and
        counts of calls and cache hits.

    Notes
    -----
    One call per topic, as BERTopic's ``representation.OpenAI`` does; retries, backoff and
    timeouts are the client's business (the OpenAI client retries 429/5xx itself).
    """
    started = time.monotonic()
    result = LabelResult()
    redact = make_redactor(getattr(client, "secrets", ()) or ())
    identity = dict(client.identity)

    def one(prompt: TopicPrompt) -> tuple[str, tuple[str, str | None] | None, str | None]:
        """-> (source: 'cache', 'call' or 'none'; (label, summary) or None; failure reason or None)."""
        source = "none"
        try:
            messages = build_messages(prompt, config)
            key = response_key(identity, config.temperature, config.max_tokens, messages)
            reply = cache.get(key) if cache is not None else None
            if reply is not None:
                source = "cache"
            else:
                source = "call"
                reply = client.complete(messages, temperature=config.temperature, max_tokens=config.max_tokens)
                if not isinstance(reply, str):
                    raise TypeError(f"the client returned {type(reply).__name__}, not text")
                if cache is not None:
                    try:
                        cache.put(key, reply)
                    except OSError as exc:
                        log.warning("LLM response cache: could not store a reply (%s)", redact(str(exc)))
            return source, parse_reply(reply, prompt, config), None
        except Exception as exc:  # every failure is recorded for its topic, never raised
            return source, None, _reason(exc, redact)

    outcomes: list[tuple[str, tuple[str, str | None] | None, str | None]] = []
    if prompts:
        with ThreadPoolExecutor(max_workers=min(config.concurrency, len(prompts)), thread_name_prefix="llm-label") as pool:
            outcomes = list(pool.map(one, prompts))
    for prompt, (source, pair, reason) in zip(prompts, outcomes):
        result.n_calls += source == "call"
        result.n_cached += source == "cache"
        if pair is not None:
            result.labels[prompt.topic] = pair
        else:
            result.failures[prompt.topic] = reason or "unknown failure"
            log.warning("LLM label for topic %d failed: %s", prompt.topic, result.failures[prompt.topic])
    result.seconds = time.monotonic() - started
    log.info(
        "LLM labels: %d of %d topics labelled, %d failed; %d calls, %d cached; %.1f s (%s)",
        len(result.labels), len(prompts), len(result.failures), result.n_calls, result.n_cached,
        result.seconds, redact(", ".join(f"{k}={v}" for k, v in identity.items())),
    )
    return result
