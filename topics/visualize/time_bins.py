"""Time bins of the over-time page: the period of each document, and which end periods the
data cover only in part.

Times come normalised by :mod:`topics.times`: whole years, or UTC timestamps. Years are their
own bins. Timestamps go to years, months or days by the span they cover (over 3 years: years;
over 90 days: months; else days). The first period is *partial* when the first document falls
after the period's first day, the last when the last document falls before its last day
(compared by UTC calendar day, so a day bin is never partial): a partial period's count is
lower because the corpus starts or stops inside it, not because the topic faded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# pandas period code, period name, strftime of a period's label
_PERIODS = {"year": ("Y", "%Y"), "month": ("M", "%Y-%m"), "day": ("D", "%Y-%m-%d")}


@dataclass(frozen=True)
class PartialPeriod:
    """An end period the data cover only in part.

    ``start`` and ``end`` bound the period (naive UTC, ``end`` exclusive); ``covered_from`` and
    ``covered_to`` the days with data in it (naive UTC midnights, ``covered_to`` exclusive).
    """

    which: str  # "first" or "last"
    label: str  # e.g. "2007-03"
    start: pd.Timestamp
    end: pd.Timestamp
    covered_from: pd.Timestamp
    covered_to: pd.Timestamp

    def describe(self) -> str:
        """e.g. ``first period (2007-03) is partial: data from 2007-03-31``."""
        if self.which == "first":
            return f"first period ({self.label}) is partial: data from {self.covered_from:%Y-%m-%d}"
        return f"last period ({self.label}) is partial: data to {self.covered_to - pd.Timedelta(days=1):%Y-%m-%d}"


@dataclass(frozen=True)
class TimeBins:
    """Each document's period and the partial end periods.

    ``bins``: Series aligned with the times given; each document's period start (naive UTC
    Timestamp) or its year (int) for year times; missing where the time is. ``period``:
    ``year``, ``month`` or ``day``. ``partial``: the first and/or last period when partial
    (never for year times, which say nothing within a year). ``every_bin``: for timestamps,
    every period start from the first to the last, so a period without documents shows as 0.
    """

    bins: pd.Series
    period: str
    partial: tuple[PartialPeriod, ...] = ()
    every_bin: tuple = ()  # each period from the first to the last, empty ones too (timestamps only)

    def note(self) -> str:
        """Sentences for the page: the period, and each partial period with the days it covers."""
        sentences = [f"Documents per {self.period}."]
        sentences += [p.describe()[0].upper() + p.describe()[1:] + "." for p in self.partial]
        if self.partial:
            sentences.append("A partial period counts only the days with data: hollow markers; its shaded part has no data.")
        return " ".join(sentences)


def time_bins(times: pd.Series) -> TimeBins:
    """Bin ``times`` (whole years, or timestamps: naive ones taken as UTC) as the module
    docstring says.

    Raises
    ------
    ValueError
        If ``times`` is neither numeric nor readable as timestamps.
    """
    if pd.api.types.is_numeric_dtype(times):
        return TimeBins(times, "year")
    stamps = pd.to_datetime(times)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    first, last = stamps.min(), stamps.max()
    if pd.isna(first):
        return TimeBins(stamps, "day")
    span = (last - first).days
    period = "year" if span > 3 * 365 else "month" if span > 90 else "day"
    code, label = _PERIODS[period]
    periods = stamps.dt.to_period(code)
    bins = periods.dt.start_time
    partial = []
    first_day, last_day = first.normalize(), last.normalize() + pd.Timedelta(days=1)
    head, tail = first.to_period(code), last.to_period(code)
    if first_day > head.start_time:
        partial.append(PartialPeriod("first", head.strftime(label), head.start_time, (head + 1).start_time,
                                     first_day, min(last_day, (head + 1).start_time)))
    if last_day < (tail + 1).start_time and tail != head:
        partial.append(PartialPeriod("last", tail.strftime(label), tail.start_time, (tail + 1).start_time,
                                     max(first_day, tail.start_time), last_day))
    every_bin = tuple(pd.period_range(head, tail, freq=code).start_time)
    return TimeBins(bins, period, tuple(partial), every_bin)
