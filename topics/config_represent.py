"""Settings of the representation stage: c-TF-IDF terms and their language, the refiner
chain (KeyBERT-inspired, MMR) and the LLM labels. Part of :mod:`topics.config`, which
re-exports every name here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from topics.config_base import Section

class KeyBERTConfig(Section):
    """BERTopic's ``KeyBERTInspired``: re-rank each topic's c-TF-IDF candidate words by the
    cosine similarity of their embeddings to the topic's representative documents."""

    top_n_words: int = Field(10, ge=1, le=50)
    nr_repr_docs: int = Field(5, ge=1, le=50)
    nr_samples: int = Field(500, ge=1)
    nr_candidate_words: int = Field(100, ge=1)


class MMRConfig(Section):
    """BERTopic's ``MaximalMarginalRelevance`` (Carbonell & Goldstein, 1998): drop near-
    duplicate words; ``diversity`` 0 keeps the ranking, 1 maximises diversity."""

    diversity: float = Field(0.3, ge=0.0, le=1.0)
    top_n_words: int = Field(10, ge=1, le=50)


class LLMConfig(Section):
    """LLM-written topic labels and summaries (see :mod:`topics.represent.llm`); off by default.

    ``provider`` is ``openai`` (any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama,
    llama.cpp's server; ``base_url`` null means api.openai.com) or ``local`` (an in-process
    transformers model: ``model`` is a model directory, or a ``.gguf`` file). The API key is
    read from the environment variable named by ``api_key_env``, never from a config file.
    """

    enabled: bool = False
    provider: Literal["openai", "local"] = "openai"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key_env: str = Field("OPENAI_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(120, ge=8, le=4096)
    timeout_s: float = Field(60.0, gt=0.0)
    max_retries: int = Field(3, ge=0, le=10)
    concurrency: int = Field(4, ge=1, le=64)
    n_terms: int = Field(10, ge=1, le=50)
    n_docs: int = Field(3, ge=0, le=20)
    doc_chars: int = Field(500, ge=50)
    label_chars: int = Field(60, ge=10, le=200)
    summary_chars: int = Field(300, ge=20, le=2000)

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data):
        if isinstance(data, dict) and "api_key" in data:
            raise ValueError(
                "api_key is never read from settings; put the key in the environment variable "
                "named by represent.llm.api_key_env"
            )
        return data


REPRESENTATIONS = ("keybert", "mmr")
# represent.language (see topics.represent.languages).
TERM_LANGUAGES = ("english", "french", "german", "korean", "chinese", "japanese")
LANGUAGE_CHOICES = ("auto", "multilingual", *TERM_LANGUAGES)


class RepresentConfig(Section):
    """Topic representation through BERTopic (see :mod:`topics.represent`): c-TF-IDF terms,
    refined by ``chain`` (applied in order: ``keybert``, ``mmr``; empty keeps c-TF-IDF), then
    optionally labelled by an LLM. The default chain is ``[mmr]``: on six labelled slices
    (``benchmarks/quality.py``) ``[keybert, mmr]`` scored the same NPMI (-0.274 against
    -0.268) in about four times the time.

    ``language`` picks how terms are cut out of the text (see
    :mod:`topics.represent.languages`): ``auto`` detects it from the corpus's scripts (and,
    for Latin script, its stop words), ``multilingual`` segments each run of text by its own
    script, a language name fixes it. ``stop_words``: ``auto`` is the list of the language(s)
    found, a language name that list, null none, a list exactly those words.
    ``token_pattern`` cuts words of space-separated scripts (Latin, Cyrillic, Arabic ...)."""

    top_n_terms: int = Field(10, ge=1, le=50)
    n_representative_docs: int = Field(3, ge=1, le=20)
    language: Literal[LANGUAGE_CHOICES] = "auto"
    stop_words: str | list[str] | None = "auto"
    ngram_range: tuple[int, int] = (1, 1)
    min_df: int = Field(1, ge=1)
    # Tokens of 2+ letters or digits starting with a letter not glued to a letter or digit
    # before it (bare numbers such as "2007" make poor terms); a hyphen between two of them
    # stays inside ("scale-free"); underscores split ("m_sun" -> "sun").
    token_pattern: str = r"(?<![^\W_])[^\W\d_](?:[^\W_]|[-\u2010](?=[^\W_]))+"
    chain: list[Literal["keybert", "mmr"]] = ["mmr"]
    keybert: KeyBERTConfig = KeyBERTConfig()
    mmr: MMRConfig = MMRConfig()
    llm: LLMConfig = LLMConfig()

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[1] < value[0]:
            raise ValueError("must be (low, high) with 1 <= low <= high")
        return value

    @field_validator("stop_words")
    @classmethod
    def _known_list(cls, value):
        if isinstance(value, str) and value not in ("auto", *TERM_LANGUAGES):
            raise ValueError(f"must be auto, one of {', '.join(TERM_LANGUAGES)}, null or a list of words")
        return value

    @field_validator("token_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import regex

        try:
            groups = regex.compile(value).groups
        except regex.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        if groups > 1:
            raise ValueError("at most one capturing group (the token)")
        if regex.fullmatch(value, ""):
            # An empty match is an empty token at every position: no term, ever.
            raise ValueError("matches the empty string; it must match whole words (e.g. \\w\\w+)")
        return value

    @field_validator("chain")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each representation may appear once")
        return value

    def vectorizer_settings(self) -> dict[str, Any]:
        """The settings that decide how documents are tokenised (and so the c-TF-IDF)."""
        return self.model_dump(mode="json", include={"language", "stop_words", "ngram_range", "min_df", "token_pattern"})

    def term_settings(self) -> dict[str, Any]:
        """Everything that shapes the topics' terms and representative documents; not the LLM."""
        return self.model_dump(mode="json", exclude={"llm"})
