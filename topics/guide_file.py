"""Reading a guide file (``guide.file``): zero-shot and seed topics listed in YAML or CSV.
See :func:`read_guide_file` for the formats and :mod:`topics.guide` for their use.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from topics.config import ConfigError

CSV_COLUMNS = ("topic", "description", "seed_words")
YAML_KEYS = ("zeroshot_topics", "seed_topics")


def _split_words(cell: str) -> list[str]:
    return [word.strip() for word in cell.split(",") if word.strip()]


def _read_csv(path: Path, text: str) -> tuple[list[tuple[str, str]], list[list[str]]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = [c for c in (csv.DictReader(io.StringIO(text)).fieldnames or [])]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown or not ({"topic", "seed_words"} & set(columns)):
        raise ConfigError(f"guide.file {path}: CSV columns must be among {', '.join(CSV_COLUMNS)} "
                          f"(with topic or seed_words), found {', '.join(columns) or 'none'}")
    listed, seeds = [], []
    for number, row in enumerate(rows, start=2):
        if None in row:
            raise ConfigError(f"guide.file {path}, line {number}: more cells than columns")
        name, description = (row.get("topic") or "").strip(), (row.get("description") or "").strip()
        if description and not name:
            raise ConfigError(f"guide.file {path}, line {number}: a description without a topic name")
        if name:
            listed.append((name, description or name))
        if (row.get("seed_words") or "").strip():
            seeds.append(_split_words(row["seed_words"]))
    return listed, seeds


def _read_yaml(path: Path, text: str) -> tuple[list[tuple[str, str]], list[list[str]]]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"guide.file {path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict) or set(data) - set(YAML_KEYS):
        found = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise ConfigError(f"guide.file {path}: expected a mapping with keys {' and/or '.join(YAML_KEYS)}, found {found}")
    for key in YAML_KEYS:
        if data.get(key) is not None and not isinstance(data[key], list):
            raise ConfigError(f"guide.file {path}: {key}: expected a list, found {type(data[key]).__name__} {data[key]!r}")
    listed = []
    for item in data.get("zeroshot_topics") or []:
        if isinstance(item, str):
            listed.append((item.strip(), item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("topic"), str) and set(item) <= {"topic", "description"}:
            description = item.get("description")
            if description is not None and not isinstance(description, str):
                raise ConfigError(f"guide.file {path}: zeroshot_topics: the description of {item['topic']!r} is not text")
            listed.append((item["topic"].strip(), (description or item["topic"]).strip()))
        else:
            raise ConfigError(f"guide.file {path}: zeroshot_topics: each item is a name or {{topic, description}}, found {item!r}")
    seeds = []
    for item in data.get("seed_topics") or []:
        words = _split_words(item) if isinstance(item, str) else item
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ConfigError(f"guide.file {path}: seed_topics: each item is a list of words, found {item!r}")
        seeds.append([w.strip() for w in words])
    return listed, seeds


def repeated_name(names: list[str]) -> str | None:
    """The first name that repeats an earlier one, ignoring case and runs of spaces (two
    topics "Graph theory" and " graph  theory" would be one topic with two labels); None."""
    seen: set[str] = set()
    for name in names:
        folded = " ".join(name.split()).casefold()
        if folded in seen:
            return name
        seen.add(folded)
    return None


def read_guide_file(path: str | Path) -> tuple[list[tuple[str, str]], list[list[str]]]:
    """Read a guide file.

    Formats (chosen by the suffix):

    - CSV (``.csv``), UTF-8, a header row with any of the columns ``topic``, ``description``
      and ``seed_words``. A row with a ``topic`` lists a zero-shot topic (the ``description``,
      when given, is what is embedded; the name is its label); a row with ``seed_words``
      (comma-separated, so quote the cell) adds a seed topic. A row may hold both; they are
      used independently.
    - YAML (``.yaml``/``.yml``): ``zeroshot_topics``, a list of names or of mappings
      ``{topic: ..., description: ...}``; ``seed_topics``, a list of word lists.

    Returns
    -------
    listed : list of (name, text) pairs
    seeds : list of word lists

    Raises
    ------
    topics.config.ConfigError
        One line naming the file and the problem: missing, unreadable, unknown suffix,
        unknown columns or keys, a malformed item, an empty or duplicate topic, or no topic.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"guide.file {path}: is a folder, not a file")
    if not path.is_file():
        raise ConfigError(f"guide.file {path}: not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"guide.file {path}: cannot be read as UTF-8 text ({exc})") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        listed, seeds = _read_csv(path, text)
    elif suffix in (".yaml", ".yml"):
        listed, seeds = _read_yaml(path, text)
    else:
        raise ConfigError(f"guide.file {path}: unknown format {suffix or '(no suffix)'}; use .csv, .yaml or .yml")
    names = [name for name, _ in listed]
    if any(not name or not text for name, text in listed) or any(not words or not all(words) for words in seeds):
        raise ConfigError(f"guide.file {path}: a topic name, description or seed word is empty")
    twice = repeated_name(names)
    if twice:
        raise ConfigError(f"guide.file {path}: topic {twice!r} is listed twice (names are compared ignoring case and spacing)")
    if not listed and not seeds:
        raise ConfigError(f"guide.file {path}: lists no zero-shot topic and no seed topic")
    return listed, seeds
