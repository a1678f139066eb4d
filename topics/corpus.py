"""Read a corpus file into a :class:`Corpus`: ids, texts, optional time/label/title columns,
and a drop log of the rows that could not be used and why.

Supported formats: Parquet (``.parquet``, ``.pq``), CSV (``.csv``; ``.tsv`` tab-separated)
and JSON Lines (``.jsonl``, ``.ndjson``). Texts are never altered; rows are only dropped,
each drop recorded with its input row number, id and reason:

``missing_text``   the text cell is null
``empty_text``     the text is empty or whitespace only
``missing_id``     the configured id column is null for this row
``duplicate_id``   an earlier kept row has this id and the same text (a repeated row)

A text column that holds something other than strings (numbers, lists, objects, booleans) is
refused, naming the column and rows; numbers are read as text only with
``corpus.numbers_as_text``. An id given to two different texts is refused too: it is no id.
"""

from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from topics.artifacts import file_sha256
from topics.config import CorpusConfig
from topics.corpus_read import SUFFIX_FORMATS, CorpusError, read_table  # noqa: F401 - SUFFIX_FORMATS, CorpusError re-exported
from topics.times import TimeColumnError, normalise_times

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
        Missing file, unreadable format, a configured column that is absent, a text column
        that is not text, an id column that gives one id to different texts, an unparseable
        time column, or no document left after dropping.
    """
    config = config or CorpusConfig()
    path = Path(path)
    # Rows are named by position (0-based) in every message and in dropped.parquet, whatever
    # index a Parquet file was saved with.
    table = read_table(path, config.format, config.encoding).reset_index(drop=True)
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

    texts = _text_values(texts, config, path)
    reasons = pd.Series(None, index=table.index, dtype=object)
    missing_text = texts.isna()
    reasons[missing_text] = "missing_text"
    as_text = texts.where(missing_text, texts.astype(str))
    empty = ~missing_text & (as_text.fillna("").str.strip() == "")
    reasons[empty & reasons.isna()] = "empty_text"
    reasons[ids.isna() & reasons.isna()] = "missing_id"
    _refuse_conflicting_ids(ids, as_text, reasons, config.id_column, path)
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
    if table.empty:
        raise CorpusError(f"{path}: the file has no data rows")
    if documents.empty:
        raise CorpusError(f"{path}: no usable document ({len(dropped)} rows dropped: {_count_reasons(dropped)})")
    documents["doc_id"] = documents["doc_id"].astype(str)
    documents["text"] = documents["text"].astype(str)
    return Corpus(documents=documents.reset_index(drop=True), dropped=dropped, source=str(path))


def _text_values(texts: pd.Series, config: CorpusConfig, path: Path) -> pd.Series:
    """The text column with every non-null value a str; numbers become text only with
    ``corpus.numbers_as_text``.

    Raises
    ------
    CorpusError
        Naming the column, how many values are not text, and the first rows with their types.
    """
    column = config.text_column
    if pd.api.types.is_string_dtype(texts.dtype) and texts.dtype != object:
        return texts
    present = texts[texts.notna()]
    kinds = present.map(type)
    wrong = kinds[kinds != str]
    if wrong.empty:
        return texts
    numeric = wrong.map(lambda kind: issubclass(kind, numbers.Real) and not issubclass(kind, (bool, np.bool_)))
    if config.numbers_as_text and numeric.all():
        converted = texts.astype(object).copy()
        converted[wrong.index] = [_number_text(present[i]) for i in wrong.index]
        return converted
    examples = ", ".join(
        f"row {row} is {_kind_name(kinds[row])} ({_short(present[row])})" for row in wrong.index[:3]
    )
    hint = (
        "; set corpus.numbers_as_text=true to read numbers as text" if numeric.all()
        else "; the text column must hold one string per document"
    )
    raise CorpusError(
        f"{path}: corpus.text_column {column!r} must hold text, but {len(wrong)} value(s) are not strings: {examples}{hint}"
    )


def _kind_name(kind: type) -> str:
    names = {
        (bool, np.bool_): "a boolean", numbers.Integral: "an integer", numbers.Real: "a number", dict: "an object",
        (list, tuple, np.ndarray): "a list",
    }
    for base, name in names.items():
        if issubclass(kind, base):
            return name
    return f"a {kind.__name__}"


def _short(value: object, limit: int = 40) -> str:
    text = repr(value.tolist() if hasattr(value, "tolist") else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number_text(value: object) -> str:
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _refuse_conflicting_ids(ids: pd.Series, texts: pd.Series, reasons: pd.Series, column: str | None, path: Path) -> None:
    """An id given to different texts is not an id: refuse the corpus rather than drop rows.
    (The same id with the same text is a duplicate row, dropped and counted by the caller.)"""
    if column is None:
        return
    kept = pd.DataFrame({"id": ids, "text": texts})[reasons.isna() & ids.notna()]
    repeated = kept[kept["id"].duplicated(keep=False)]
    if repeated.empty:
        return
    distinct = repeated.groupby("id", sort=False)["text"].nunique()
    conflicting = distinct[distinct > 1]
    if conflicting.empty:
        return
    example = conflicting.index[0]
    rows = repeated.index[repeated["id"] == example][:2].tolist()
    raise CorpusError(
        f"{path}: corpus.id_column {column!r} is not a unique id: {len(conflicting)} id(s) are given to different "
        f"texts (e.g. {example!r} on rows {rows[0]} and {rows[1]}); choose a unique id column, or unset "
        "corpus.id_column to number the rows"
    )


def _id_to_str(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _count_reasons(dropped: pd.DataFrame) -> str:
    counts = dropped["reason"].value_counts()
    return ", ".join(f"{reason}={count}" for reason, count in counts.items()) or "none"
