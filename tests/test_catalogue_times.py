"""Catalogue: time columns as users have them, read by ``load_corpus`` into years or UTC
timestamps, and drawn on the over-time page with partial end periods marked.

Each case is (case_id, build, expected): ``build(tmp_path, data)`` writes a corpus file from a
slice of a real corpus and returns (path, CorpusConfig); ``expected`` is either a check of the
loaded corpus (and, where it matters, of the over-time figure), or ``Refused(fragment)``: the
CorpusError text that must appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import pandas as pd
import pytest

from conftest import corpus_file
from flows.cli import main
from topics.config import CorpusConfig
from topics.corpus import CorpusError, load_corpus
from topics.times import TIME_UNITS
from topics.visualize import over_time_note, topics_over_time

N_DOCS = 240


@dataclass(frozen=True)
class Refused:
    fragment: str


@dataclass(frozen=True)
class Slices:
    """Real rows: tweets with UTC timestamps (2011-06..2015-04), ParlSpeech speeches with naive
    dates, arXiv abstracts with integer years, fortunes with a plain integer index."""

    tweets: pd.DataFrame
    speeches: pd.DataFrame
    papers: pd.DataFrame
    fortunes: pd.DataFrame


@pytest.fixture(scope="module")
def data() -> Slices:
    tweets = pd.read_parquet(corpus_file("health_news_tweets.parquet"), columns=["tweet_id", "text", "timestamp", "label"])
    tweets = tweets[tweets["text"].str.strip() != ""]
    speeches = pd.read_parquet(corpus_file("parlspeech_uk_commons_sample.parquet"), columns=["parlspeech_row", "text", "date"])
    papers = pd.read_parquet(corpus_file("arxiv_ml_topics_doosik71.parquet"), columns=["arxiv_id", "text", "year"])
    fortunes = pd.read_parquet(corpus_file("debian_fortunes_en.parquet"), columns=["text", "entry_index"])
    spread = lambda table: table.iloc[:: max(1, len(table) // N_DOCS)].head(N_DOCS).reset_index(drop=True)  # noqa: E731
    return Slices(spread(tweets), spread(speeches), spread(papers.drop_duplicates("arxiv_id")), spread(fortunes))


def _tweets_with(tmp_path, data, when, suffix=".parquet", **settings):
    """The tweets slice with its time column replaced by ``when(timestamps)``."""
    table = data.tweets.assign(when=when(data.tweets["timestamp"]))[["tweet_id", "text", "when"]]
    path = tmp_path / f"tweets{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path)
    return path, CorpusConfig(id_column="tweet_id", time_column="when", **settings)


def _figure(corpus):
    """The over-time figure of a loaded corpus, topics standing in from row order."""
    documents = corpus.documents.assign(topic=[i % 3 for i in range(len(corpus))])
    topics = pd.DataFrame({"topic": [0, 1, 2], "name": ["0_a", "1_b", "2_c"], "label": [None] * 3})
    return topics_over_time(documents, topics)


def _same_instants(corpus, data_times):
    expected = pd.Series(data_times).dt.tz_convert("UTC").dt.as_unit("us")
    assert str(corpus.documents["time"].dtype) == "datetime64[us, UTC]"
    pd.testing.assert_series_equal(corpus.documents["time"], expected.reset_index(drop=True), check_names=False)


# --- builds ---------------------------------------------------------------------------------

def epoch_seconds(tmp_path, data):
    return _tweets_with(tmp_path, data, lambda t: t.astype("int64") // 10**6)  # us -> s, int64


def epoch_ms_csv(tmp_path, data):
    return _tweets_with(tmp_path, data, lambda t: t.astype("int64") // 10**3, suffix=".csv")  # read back as text


def years_int(tmp_path, data):
    path = tmp_path / "papers.parquet"
    data.papers.to_parquet(path)
    return path, CorpusConfig(id_column="arxiv_id", time_column="year")


def iso_mixed_offsets(tmp_path, data):
    zones = ["Europe/Berlin", "America/New_York", None, None, "Asia/Kolkata"]  # offsets change with summer time too

    def iso(times):
        values = []
        for i, stamp in enumerate(times.dt.floor("s")):
            zone = zones[i % 5]
            if zone is not None:
                values.append(stamp.tz_convert(zone).isoformat())  # e.g. 2013-03-14T11:00:00+01:00
            else:  # "Z", or no offset at all (taken as UTC)
                values.append(stamp.strftime("%Y-%m-%dT%H:%M:%SZ" if i % 5 == 2 else "%Y-%m-%d %H:%M:%S"))
        return values

    return _tweets_with(tmp_path, data, iso, suffix=".csv")


def tz_aware(tmp_path, data):
    return _tweets_with(tmp_path, data, lambda t: t.dt.tz_convert("America/New_York"))


def naive(tmp_path, data):
    path = tmp_path / "speeches.parquet"
    data.speeches.to_parquet(path)
    return path, CorpusConfig(id_column="parlspeech_row", time_column="date")


def unparseable(tmp_path, data):
    def dates(times):
        values = times.dt.strftime("%Y-%m-%d").tolist()
        values[4], values[17], values[20] = "yesterday", "n/a", "13/45/2020"
        return values

    return _tweets_with(tmp_path, data, dates, suffix=".csv")


def ambiguous(tmp_path, data):
    path = tmp_path / "fortunes.parquet"
    data.fortunes.to_parquet(path)
    return path, CorpusConfig(time_column="entry_index")


def explicit_seconds(tmp_path, data):
    return years_int(tmp_path, data)[0], CorpusConfig(id_column="arxiv_id", time_column="year", time_unit="s")


def explicit_year_refuses(tmp_path, data):
    return _tweets_with(tmp_path, data, lambda t: t.dt.strftime("%Y-%m-%d"), suffix=".csv", time_unit="year")


def missing_times(tmp_path, data):
    return _tweets_with(tmp_path, data, lambda t: t.where(t.index % 4 != 0))


def months_partial(tmp_path, data):
    # The tweets between 14 March and 20 September 2013: a monthly span starting and ending mid-month.
    tweets = pd.read_parquet(corpus_file("health_news_tweets.parquet"), columns=["tweet_id", "text", "timestamp"])
    window = tweets[(tweets["timestamp"] >= "2013-03-14") & (tweets["timestamp"] < "2013-09-21")].iloc[::25]
    path = tmp_path / "window.parquet"
    window.to_parquet(path)
    return path, CorpusConfig(id_column="tweet_id", time_column="timestamp")


# --- checks ---------------------------------------------------------------------------------

def check_epoch(corpus, data):
    _same_instants(corpus, data.tweets["timestamp"].dt.floor("s"))  # the file held whole seconds
    figure = _figure(corpus)
    assert figure.layout.title.text == "Topics over time (documents per year)"
    assert [t.year for t in pd.to_datetime(list(figure.data[0].x))] == [2011, 2012, 2013, 2014, 2015]  # not hundreds of "years"


def check_epoch_ms(corpus, data):
    _same_instants(corpus, data.tweets["timestamp"].dt.floor("ms"))


def check_years(corpus, data):
    assert str(corpus.documents["time"].dtype) == "Int64"
    assert corpus.documents["time"].tolist() == data.papers["year"].tolist()
    assert list(_figure(corpus).data[0].x) == sorted(data.papers["year"].unique())
    assert over_time_note(corpus.documents) == "Documents per year."  # a year says nothing of partial periods


def check_iso(corpus, data):
    _same_instants(corpus, data.tweets["timestamp"].dt.floor("s"))


def check_tz_aware(corpus, data):
    _same_instants(corpus, data.tweets["timestamp"])


def check_naive(corpus, data):
    _same_instants(corpus, data.speeches["date"].dt.tz_localize("UTC"))  # naive is taken as UTC: same wall clock


def check_explicit_seconds(corpus, data):
    expected = pd.to_datetime(data.papers["year"], unit="s", utc=True)  # 2019 -> 1970-01-01 00:33:39
    _same_instants(corpus, expected)


def check_missing(corpus, data):
    times = corpus.documents["time"]
    assert len(corpus) == len(data.tweets) and corpus.dropped.empty  # the documents are kept
    assert times.isna().tolist() == [i % 4 == 0 for i in range(len(times))]


def check_partial_months(corpus, data):
    figure = _figure(corpus)
    assert figure.layout.title.text == "Topics over time (documents per month)"
    assert [f"{t:%Y-%m}" for t in pd.to_datetime(list(figure.data[0].x))] == ["2013-03", "2013-04", "2013-05", "2013-06", "2013-07", "2013-08", "2013-09"]
    assert list(figure.data[0].marker.symbol) == ["circle-open"] + ["circle"] * 5 + ["circle-open"]
    gaps = [(f"{pd.Timestamp(s.x0):%Y-%m-%d}", f"{pd.Timestamp(s.x1):%Y-%m-%d}") for s in figure.layout.shapes]
    assert gaps == [("2013-03-01", "2013-03-14"), ("2013-09-21", "2013-10-01")]  # the days without data
    note = over_time_note(corpus.documents)
    assert "First period (2013-03) is partial: data from 2013-03-14." in note
    assert "Last period (2013-09) is partial: data to 2013-09-20." in note


CASES = [
    ("epoch_seconds_int64", epoch_seconds, check_epoch),
    ("epoch_ms_csv_text", epoch_ms_csv, check_epoch_ms),
    ("years_int", years_int, check_years),
    ("iso_mixed_offsets_to_utc", iso_mixed_offsets, check_iso),
    ("tz_aware_datetimes_to_utc", tz_aware, check_tz_aware),
    ("naive_datetimes_as_utc", naive, check_naive),
    ("unparseable_names_rows", unparseable,
     Refused("corpus.time_column 'when': 3 value(s) are not times (rows 4 ('yesterday'), 17 ('n/a'), 20 ('13/45/2020'))")),
    ("ambiguous_numbers_ask_for_unit", ambiguous,
     Refused("corpus.time_column 'entry_index': cannot tell the unit of its numbers (0 in row 0 ..")),
    ("explicit_unit_wins_over_years", explicit_seconds, check_explicit_seconds),
    ("explicit_year_refuses_dates", explicit_year_refuses, Refused("value(s) are not whole years (rows 0 (")),
    ("missing_times_kept", missing_times, check_missing),
    ("partial_first_and_last_month", months_partial, check_partial_months),
]


@pytest.mark.parametrize(("case_id", "build", "expected"), CASES, ids=[case[0] for case in CASES])
def test_time_column(case_id, build, expected, tmp_path, data):
    path, config = build(tmp_path, data)
    if isinstance(expected, Refused):
        with pytest.raises(CorpusError) as raised:
            load_corpus(path, config)
        message = str(raised.value)
        assert message.startswith(f"{path}: ") and expected.fragment in message and "\n" not in message
        return
    expected(load_corpus(path, config), data)


def test_ambiguous_error_names_the_setting(tmp_path, data):
    path, config = ambiguous(tmp_path, data)
    with pytest.raises(CorpusError, match=r"set corpus\.time_unit to year, s or ms$"):
        load_corpus(path, config)


def test_cli_refuses_unreadable_times_with_exit_2(capsys, tmp_path, data):
    path, _ = unparseable(tmp_path, data)
    code = main(["run", "--input", str(path), "--set", "corpus.id_column=tweet_id", "--set", "corpus.time_column=when"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "3 value(s) are not times (rows 4 ('yesterday')" in err


def test_time_unit_setting_lists_the_units():
    assert get_args(CorpusConfig.model_fields["time_unit"].annotation) == TIME_UNITS
