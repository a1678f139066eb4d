"""Read a corpus file into a DataFrame, every column as stored, with parse errors that name the
file and the line.

Parquet is read by pyarrow. CSV (``.tsv`` tab-separated) is read by pandas with every cell as
a string, so ids like ``"007"`` survive. JSON Lines are parsed line by line, so a malformed
line is reported with its number and values keep their JSON types (a number stays a number,
for the text-column check of :mod:`topics.corpus`).
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pandas as pd

SUFFIX_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


class CorpusError(ValueError):
    """Raised when a corpus file cannot be read as configured; the message names file and column."""


def detect_format(path: Path, configured: str = "auto") -> str:
    if configured != "auto":
        return configured
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIX_FORMATS))
        raise CorpusError(f"{path}: cannot tell the format from suffix {path.suffix!r} (known: {known}); set corpus.format")
    return fmt


def read_table(path: str | Path, fmt: str = "auto", encoding: str = "utf-8") -> pd.DataFrame:
    """Read a corpus file into a DataFrame with every column as read.

    ``encoding`` applies to CSV and JSON Lines (any codec Python knows, e.g. ``cp1252``).

    Raises
    ------
    CorpusError
        If the file is missing, the encoding is unknown, a byte is not valid in the encoding
        (file and line named), or the file cannot be parsed in the given format (file and line
        named where the parser tells it).
    """
    path = Path(path)
    if path.is_dir():
        raise CorpusError(f"{path}: is a folder; give one corpus file (.parquet, .csv, .tsv, .jsonl)")
    if not path.is_file():
        raise CorpusError(f"input file not found: {path}")
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
            raise CorpusError(f"{path}: cannot read as parquet: {exc}") from None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CorpusError(f"corpus.encoding {encoding!r}: unknown encoding") from None
    if fmt == "jsonl":
        return _read_jsonl(path, encoding)
    return _read_csv(path, encoding)


def _undecodable(path: Path, encoding: str, exc: UnicodeDecodeError) -> CorpusError:
    """The error for a byte the encoding rejects, with its line found by re-reading the bytes."""
    offset = 0
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as found:
        offset = found.start
    line = data.count(b"\n", 0, offset) + 1
    bad = data[offset:offset + 1].hex()
    return CorpusError(
        f"{path}, line {line}: byte 0x{bad} is not valid {encoding}; set corpus.encoding to the file's encoding (e.g. cp1252)"
    )


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        # Ids and texts are read as strings: "007" must stay "007". A blank line is a row (an
        # empty text, dropped and logged), so row numbers, and ids made from them, follow the file.
        return pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding, skip_blank_lines=False,
        )
    except UnicodeDecodeError as exc:
        raise _undecodable(path, encoding, exc) from None
    except Exception as exc:  # noqa: BLE001 - pandas' parser errors name the line themselves
        message = " ".join(str(exc).split())
        raise CorpusError(f"{path}: cannot read as csv: {message}") from None


def _read_jsonl(path: Path, encoding: str) -> pd.DataFrame:
    records = []
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = decoder.decode(raw)
            except UnicodeDecodeError:
                bad = raw[max(0, _first_bad(raw, encoding)):][:1].hex()
                raise CorpusError(
                    f"{path}, line {number}: byte 0x{bad} is not valid {encoding}; set corpus.encoding to the file's encoding"
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}, line {number}: not valid JSON ({exc.msg}; column {exc.colno})") from None
            if not isinstance(record, dict):
                raise CorpusError(f"{path}, line {number}: expected a JSON object per line, got {type(record).__name__}")
            records.append(record)
    if not records:
        raise CorpusError(f"{path}: no JSON object in the file")
    return pd.DataFrame.from_records(records)


def _first_bad(raw: bytes, encoding: str) -> int:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start
    return 0
