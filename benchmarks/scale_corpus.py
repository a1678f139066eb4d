"""Build a corpus of distinct real texts (1,000,000 by default) from the shared corpora.

For the scale benchmark (``benchmarks/scale.py``); about 1.58 million distinct texts can be
built from the files below.

    .venv/bin/python benchmarks/scale_corpus.py [--docs 1000000] [--out outputs/scale/corpus_1m.parquet]

How, exactly (deterministic; no randomness):

1. every document of the English corpora in ``SOURCES``, whole, file after file, each in
   its row order: arXiv abstracts, Debian package descriptions, fortunes, health news
   tweets, short-text benchmarks, UK Commons speeches (so a small build is arXiv only);
2. then every sentence of those documents with at least ``MIN_WORDS`` words (split after
   ``.``, ``!`` or ``?`` followed by white space);
3. then sliding windows over every document longer than the window: first of 24 words, 12
   apart, then (while short of ``--docs``) of 12 words, 6 apart (``WINDOWS``).

Texts are compared after collapsing white space and lower-casing; only the first of equal
texts is kept, and the build stops at ``--docs``. Columns: ``doc_id`` (``s<row>``),
``text``, ``source`` (file stem), ``kind`` (``document``, ``sentence`` or ``window``).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Iterator

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
SOURCES = (
    "arxiv_kaggle_metadata_first2000", "arxiv_math_2025_clopezvice", "arxiv_ml_topics_doosik71",
    "debian_bookworm_package_descriptions", "debian_fortunes_en", "health_news_tweets", "sttm_short_text_benchmarks",
    "parlspeech_uk_commons_sample",
)
MIN_WORDS = 6
WINDOWS = ((24, 12), (12, 6))  # (words, stride)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def source_texts() -> Iterator[tuple[str, str]]:
    for name in SOURCES:
        texts = pd.read_parquet(CORPORA / f"{name}.parquet", columns=["text"])["text"].dropna()
        for text in texts:
            if str(text).strip():
                yield name, str(text)


def candidates() -> Iterator[tuple[str, str, str]]:
    """(source, kind, text) in the order described in the module docstring."""
    for source, text in source_texts():
        yield source, "document", text
    for source, text in source_texts():
        for sentence in SENTENCE_END.split(text):
            if len(sentence.split()) >= MIN_WORDS:
                yield source, "sentence", sentence
    for window, stride in WINDOWS:
        for source, text in source_texts():
            words = text.split()
            for start in range(0, len(words) - window + 1, stride) if len(words) > window else ():
                yield source, "window", " ".join(words[start:start + window])


def build(n_docs: int) -> pd.DataFrame:
    """Up to ``n_docs`` distinct texts (see the module docstring)."""
    seen: set[str] = set()
    rows = []
    for source, kind, text in candidates():
        normal = " ".join(text.split()).lower()
        if normal in seen:
            continue
        seen.add(normal)
        rows.append((f"s{len(rows)}", text, source, kind))
        if len(rows) == n_docs:
            break
    return pd.DataFrame(rows, columns=["doc_id", "text", "source", "kind"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "scale" / "corpus_1m.parquet")
    args = parser.parse_args()
    if args.docs < 1:
        parser.error(f"--docs must be at least 1, got {args.docs}")
    started = time.perf_counter()
    table = build(args.docs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(args.out, index=False)
    print(f"{len(table):,} distinct texts -> {args.out} in {time.perf_counter() - started:.0f} s")
    print(table.groupby(["kind", "source"]).size().rename("texts").to_string())
    words = table["text"].str.split().str.len()
    print(f"words per text: median {words.median():.0f}, mean {words.mean():.1f}, max {words.max()}")


if __name__ == "__main__":
    main()
