"""Read a corpus file into a :class:`Corpus`: ids, texts, optional time/label/title columns,
and a drop log of the rows that could not be used and why.

Supported formats: Parquet (``.parquet``, ``.pq``), CSV (``.csv``; ``.tsv`` tab-separated)
and JSON Lines (``.jsonl``, ``.ndjson``). Texts are never altered; rows are only dropped,
each drop recorded with its input row number, id and reason:

``missing_text``   the text cell is null
``empty_text``     the text is empty or whitespace only
``missing_id``     the configured id column is null for this row
``duplicate_id``   an earlier kept row already has this id (the first occurrence wins)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from topics.artifacts import file_sha256
from topics.config import CorpusConfig
from topics.times import TimeColumnError, normalise_times

SUFFIX_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}

# The embedded default: arXiv abstracts submitted 2007-03-31..04-16 (CC0 metadata; the rows
# under non-commercial or no-derivatives licences were removed before shipping).
DEFAULT_CORPUS_FILE = "arxiv_2007_abstracts.parquet"
DEFAULT_CORPUS_COLUMNS = {
    "text_column": "text",
    "id_column": "arxiv_id",
    "time_column": "created",
    "label_column": "label",
    "title_column": "title",
}


class CorpusError(ValueError):
    """Raised when a corpus file cannot be read as configured; the message names file and column."""


@dataclass(frozen=True)
class Corpus:
    """The documents of one run.

    Attributes
    ----------
    documents : DataFrame, one row per kept document, in input order
        ``doc_id`` (str, unique), ``text`` (str, non-empty), and ``time``, ``label``,
        ``title`` where configured; ``time`` is ``Int64`` years or ``datetime64[us, UTC]``
        (see :mod:`topics.times`), missing where the file has no time.
    dropped : DataFrame
        ``row`` (int, 0-based input row), ``doc_id`` (str or None), ``reason`` (str).
    source : str
        The path the corpus was read from.
    """

    documents: pd.DataFrame
    dropped: pd.DataFrame
    source: str

    @property
    def ids(self) -> list[str]:
        return self.documents["doc_id"].tolist()

    @property
    def texts(self) -> list[str]:
        return self.documents["text"].tolist()

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the ids and texts actually used, in order."""
        return corpus_fingerprint(self.ids, self.texts)


def corpus_fingerprint(ids: list[str], texts: list[str]) -> str:
    """SHA-256 (hex) over (id, text) pairs, length-prefixed so no two corpora collide by concatenation."""
    digest = hashlib.sha256()
    for doc_id, text in zip(ids, texts, strict=True):
        for part in (doc_id, text):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return file_sha256(Path(path))


def default_corpus_path() -> Path:
    """Path of the embedded default corpus (package data, found in non-editable installs too)."""
    return Path(str(resources.files("topics.data").joinpath(DEFAULT_CORPUS_FILE)))


def resolve_input(input_path: str | Path | None, config: CorpusConfig) -> tuple[Path, CorpusConfig]:
    """The corpus file to read and its column settings.

    With no ``input_path`` the embedded default corpus is used, with its own columns for every
    column setting the user did not set explicitly.
    """
    if input_path is not None:
        return Path(input_path), config
    columns = {k: v for k, v in DEFAULT_CORPUS_COLUMNS.items() if k not in config.model_fields_set}
    return default_corpus_path(), config.model_copy(update=columns)


def detect_format(path: Path, configured: str = "auto") -> str:
    if configured != "auto":
        return configured
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIX_FORMATS))
        raise CorpusError(f"{path}: cannot tell the format from suffix {path.suffix!r} (known: {known}); set corpus.format")
    return fmt


def read_table(path: str | Path, fmt: str = "auto") -> pd.DataFrame:
    """Read a corpus file into a DataFrame with every column as read.

    Raises
    ------
    CorpusError
        If the file is missing or cannot be parsed in the given format.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"input file not found: {path}")
    fmt = detect_format(path, fmt)
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "csv":
            sep = "\t" if path.suffix.lower() == ".tsv" else ","
            # Ids and texts are read as strings: "007" must stay "007".
            return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_json(path, lines=True, dtype=False)
    except Exception as exc:  # noqa: BLE001 - every reader raises its own types
        raise CorpusError(f"{path}: cannot read as {fmt}: {exc}") from None


def _require_column(columns, column: str, key: str, path: Path) -> None:
    if column not in columns:
        available = ", ".join(map(str, list(columns)[:20]))
        raise CorpusError(f"{path}: corpus.{key} {column!r} is not a column (columns: {available})")


def _as_time(values: pd.Series, column: str, unit: str, path: Path) -> pd.Series:
    """The time column in its normalised form (see :mod:`topics.times`)."""
    try:
        return normalise_times(values, unit)
    except TimeColumnError as exc:
        raise CorpusError(f"{path}: corpus.time_column {column!r}: {exc}") from None


def load_corpus(path: str | Path, config: CorpusConfig | None = None) -> Corpus:
    """Read ``path`` into a :class:`Corpus` using the configured columns.

    Ids come from ``config.id_column`` (cast to str) or, when it is None, are the 0-based
    input row numbers as strings.

    Raises
    ------
    CorpusError
        Missing file, unreadable format, a configured column that is absent, an
        unparseable time column, or no document left after dropping.
    """
    config = config or CorpusConfig()
    path = Path(path)
    table = read_table(path, config.format)
    wanted = {"text": ("text_column", config.text_column)}
    for name in ("id", "time", "label", "title"):
        column = getattr(config, f"{name}_column")
        if column is not None:
            wanted[name] = (f"{name}_column", column)
    for key, column in wanted.values():
        _require_column(table.columns, column, key, path)

    rows = pd.RangeIndex(len(table))
    texts = table[config.text_column]
    if config.id_column is not None:
        raw_ids = table[config.id_column]
        ids = raw_ids.map(_id_to_str)
    else:
        ids = pd.Series(rows.astype(str), index=table.index)

    reasons = pd.Series(None, index=table.index, dtype=object)
    missing_text = texts.isna()
    reasons[missing_text] = "missing_text"
    as_text = texts.where(missing_text, texts.astype(str))
    empty = ~missing_text & (as_text.fillna("").str.strip() == "")
    reasons[empty & reasons.isna()] = "empty_text"
    reasons[ids.isna() & reasons.isna()] = "missing_id"
    # Only rows still kept compete for an id, so a dropped empty row never shadows a real one.
    duplicate = ids.where(reasons.isna()).duplicated(keep="first") & reasons.isna() & ids.notna()
    reasons[duplicate] = "duplicate_id"

    keep = reasons.isna().to_numpy()
    documents = pd.DataFrame({"doc_id": ids[keep].astype(str).to_numpy(), "text": as_text[keep].to_numpy()})
    if "time" in wanted:
        # .array keeps the dtype: nullable years and UTC timestamps survive the row selection.
        documents["time"] = _as_time(table[config.time_column], config.time_column, config.time_unit, path)[keep].array
    for name in ("label", "title"):
        if name in wanted:
            column = table[wanted[name][1]][keep]
            documents[name] = column.where(column.isna(), column.astype(str)).to_numpy()
    dropped = pd.DataFrame(
        {
            "row": rows[~keep].to_numpy(dtype="int64"),
            "doc_id": ids[~keep].to_numpy(dtype=object),
            "reason": reasons[~keep].to_numpy(dtype=object),
        }
    )
    if documents.empty:
        raise CorpusError(f"{path}: no usable document ({len(dropped)} rows dropped: {_count_reasons(dropped)})")
    documents["doc_id"] = documents["doc_id"].astype(str)
    documents["text"] = documents["text"].astype(str)
    return Corpus(documents=documents.reset_index(drop=True), dropped=dropped, source=str(path))


def _id_to_str(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _count_reasons(dropped: pd.DataFrame) -> str:
    counts = dropped["reason"].value_counts()
    return ", ".join(f"{reason}={count}" for reason, count in counts.items()) or "none"
