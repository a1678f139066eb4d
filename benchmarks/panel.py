"""The labelled slices of ../shared/corpora that the benchmarks score topics on.

Each slice is a seeded sample (``random_state=0``) of at most ``docs`` documents of one
corpus, with empty texts, repeated texts and rows without a label removed, and a ``label`` column to score against.
``targeted`` marks slices whose labels are topical (the quality targets apply to them); the
tweets (labelled by publisher) and the language slices are reported only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"


@dataclass(frozen=True)
class Slice:
    file: str
    label_column: str
    row_filter: tuple[str, str] | None = None
    targeted: bool = True
    max_docs: int = 2000


PANEL = {
    "arxiv-2007": Slice("arxiv_kaggle_metadata_first2000.parquet", "label_archive"),
    "arxiv-math-2025": Slice("arxiv_math_2025_clopezvice.parquet", "label"),
    "debian-packages": Slice("debian_bookworm_package_descriptions.parquet", "label"),
    "stackoverflow": Slice("sttm_short_text_benchmarks.parquet", "label", ("dataset", "StackOverflow")),
    "fortunes": Slice("debian_fortunes_en.parquet", "label"),
    "parlspeech-agenda": Slice("parlspeech_uk_commons_sample.parquet", "label_agenda_top", max_docs=1000),
    "health-tweets": Slice("health_news_tweets.parquet", "label", targeted=False),
    "i18n-fr": Slice("debian_bookworm_descriptions_i18n.parquet", "label", ("lang", "fr"), targeted=False),
}
# One slice per other language of Debian's translated descriptions (labelled by section),
# reported beside the panel: the bundled model is English-only, so these rows show what the
# term path does with each script, not how well the vectors separate topics.
LANGUAGES = {
    f"i18n-{lang}": Slice("debian_bookworm_descriptions_i18n.parquet", "label", ("lang", lang), targeted=False)
    for lang in ("de", "ko", "zh", "ja")
}
SLICES = {**PANEL, **LANGUAGES}


def load_slice(name: str, docs: int = 2000) -> pd.DataFrame:
    """The slice ``name`` of :data:`SLICES` (the panel and the language slices): a DataFrame with ``text`` and ``label`` (str),
    at most ``min(docs, slice.max_docs)`` rows, the same rows on every call."""
    spec = SLICES[name]
    table = pd.read_parquet(CORPORA / spec.file)
    if spec.row_filter:
        table = table[table[spec.row_filter[0]] == spec.row_filter[1]]
    table = table[table["text"].fillna("").str.strip() != ""].drop_duplicates("text").dropna(subset=[spec.label_column])
    table = table.sample(n=min(docs, spec.max_docs, len(table)), random_state=0).reset_index(drop=True)
    return pd.DataFrame({"text": table["text"].astype(str), "label": table[spec.label_column].astype(str)})
