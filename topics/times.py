"""A corpus time column, as users have it, turned into one of two normalised forms.

``normalise_times(values, unit)`` returns either

- **years**: nullable ``Int64`` whole years (the over-time page bins them by year), or
- **timestamps**: ``datetime64[us, UTC]``.

Missing values (null, NaN, empty or blank strings) stay missing: such a document is kept but is
not on the over-time page. Nothing else is dropped silently: values that cannot be read in the
unit raise :class:`TimeColumnError` with their count and their first 0-based row numbers.

Units (``corpus.time_unit``):

``datetime``  datetimes as stored (Parquet timestamps, naive or zone-aware) or date/time strings:
              ISO 8601 (``2007-03-31``, ``2007-03-31T14:05:00+02:00``, ``2007-03``, ``20070331``)
              and other common forms (``31 Mar 2007``, ``Sat, 31 Mar 2007 14:05:00 +0200``;
              slashed dates are read month first). A string must carry a four-digit year, so
              ``now``, ``March 5`` or ``12`` are refused rather than read relative to today.
``year``      whole numbers (or strings of them), kept as years.
``s``, ``ms`` Unix epoch seconds or milliseconds (numbers or numeric strings; fractions allowed).
``auto``      (default) decides from the values:

              * datetime values, or strings that are not all numbers: ``datetime``;
              * numbers (numeric strings count, as CSV columns are read as text), when every one
                is a whole number in 1000..2200: ``year``;
              * every one in 10^8..10^10 (1973-03-03..2286-11-20 as seconds): ``s``;
              * every one in 10^11..10^13 (the same dates as milliseconds): ``ms``;
              * anything else (e.g. small numbers, negative ones, or a mix of ranges) is refused,
                asking for ``corpus.time_unit``.

Time zones: zone-aware values (a stored zone, or an offset in the string, offsets may differ
row to row) are converted to UTC; naive values are taken to be UTC already.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TIME_UNITS = ("auto", "datetime", "year", "s", "ms")

# The ranges ``auto`` accepts for each numeric unit, inclusive below, exclusive above.
YEAR_RANGE = (1000, 2201)
EPOCH_S_RANGE = (1e8, 1e10)
EPOCH_MS_RANGE = (1e11, 1e13)
SHOWN_ROWS = 5  # failing rows quoted in an error

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_FOUR_DIGITS = re.compile(r"\d{4}")
_NOUNS = {"datetime": "times", "year": "whole years", "s": "epoch seconds", "ms": "epoch milliseconds"}


class TimeColumnError(ValueError):
    """A time column that cannot be read in its unit; the message names rows and values but not
    the file or column (the caller adds them)."""


def normalise_times(values: pd.Series, unit: str = "auto") -> pd.Series:
    """Read a time column in ``unit`` (see the module docstring for what each unit accepts).

    Parameters
    ----------
    values : Series, any dtype, as read from the file; row ``i`` is reported as row ``i``
    unit : one of :data:`TIME_UNITS`

    Returns
    -------
    Series, same length and index as ``values``: ``Int64`` years for unit ``year`` (or ``auto``
    deciding years), else ``datetime64[us, UTC]``.

    Raises
    ------
    TimeColumnError
        Values that are not times in the unit (count, first rows and their values), numbers
        ``auto`` cannot place in one unit, or numbers given to unit ``datetime``.
    """
    if unit not in TIME_UNITS:
        raise ValueError(f"unknown time unit {unit!r} (known: {', '.join(TIME_UNITS)})")
    positions = pd.Series(np.arange(len(values)), index=values.index)
    if pd.api.types.is_datetime64_any_dtype(values):
        if unit not in ("auto", "datetime"):
            raise TimeColumnError(f"holds datetimes, not {_NOUNS[unit]}; set corpus.time_unit to datetime or auto")
        return _to_utc(values)
    missing = _missing(values)
    present = values[~missing]
    if unit == "auto":
        unit = _detect(present, positions)
    if unit == "datetime":
        return _parse_datetimes(values, missing, positions)
    numbers = _numbers(values, missing, positions, unit)
    if unit == "year":
        return numbers.astype("Int64")
    return _from_epoch(values, numbers, unit, positions)


def _missing(values: pd.Series) -> pd.Series:
    blank = values.map(lambda v: isinstance(v, str) and not v.strip())
    return values.isna() | blank.astype(bool)


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return bool(np.isfinite(value))
    return isinstance(value, str) and _NUMBER.fullmatch(value.strip()) is not None


def _detect(present: pd.Series, positions: pd.Series) -> str:
    """The unit ``auto`` reads ``present`` (non-missing values) in."""
    if present.empty or pd.api.types.is_bool_dtype(present):
        return "datetime"
    if not pd.api.types.is_numeric_dtype(present) and not present.map(_is_number).all():
        return "datetime"
    numbers = pd.to_numeric(present.map(_strip)).astype("float64")
    whole = bool((numbers == np.floor(numbers)).all())
    if whole and numbers.between(YEAR_RANGE[0], YEAR_RANGE[1], inclusive="left").all():
        return "year"
    if numbers.between(*EPOCH_S_RANGE, inclusive="left").all():
        return "s"
    if numbers.between(*EPOCH_MS_RANGE, inclusive="left").all():
        return "ms"
    low, high = numbers.idxmin(), numbers.idxmax()
    raise TimeColumnError(
        f"cannot tell the unit of its numbers ({_quote(present[low])} in row {positions[low]} .. "
        f"{_quote(present[high])} in row {positions[high]}): auto reads whole numbers in 1000..2200 as years, "
        "10^8..10^10 as epoch seconds, 10^11..10^13 as epoch milliseconds; set corpus.time_unit to year, s or ms"
    )


def _numbers(values: pd.Series, missing: pd.Series, positions: pd.Series, unit: str) -> pd.Series:
    """float64 numbers (NaN where missing); whole numbers only for ``year``."""
    readable = values.map(_is_number) & ~missing
    numbers = pd.Series(np.nan, index=values.index, dtype="float64")
    numbers[readable] = pd.to_numeric(values[readable].map(_strip)).astype("float64")
    bad = ~missing & ~readable
    if unit == "year":
        bad |= readable & (numbers != np.floor(numbers))
    _refuse(values, bad, positions, unit)
    return numbers


def _from_epoch(values: pd.Series, numbers: pd.Series, unit: str, positions: pd.Series) -> pd.Series:
    # Values beyond what a timestamp holds (about year 294,000) come back NaT and are refused.
    stamps = pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce").dt.as_unit("us")
    _refuse(values, numbers.notna() & stamps.isna(), positions, unit)
    return stamps


def _parse_datetimes(values: pd.Series, missing: pd.Series, positions: pd.Series) -> pd.Series:
    """Parse strings and datetime objects to UTC; numbers and year-less strings are refused."""
    kinds = values.map(_kind)
    parseable = ~missing & kinds.isin(["string", "datetime"])
    candidates = values[parseable].map(_strip)
    # The strict ISO 8601 reader first (fast); the flexible one only for what it left.
    parsed = pd.to_datetime(candidates, format="ISO8601", utc=True, errors="coerce")
    retry = parsed.isna()
    if retry.any():
        parsed[retry] = pd.to_datetime(candidates[retry], format="mixed", utc=True, errors="coerce")
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    result[parseable] = parsed.dt.as_unit("us")
    bad = ~missing & result.isna()
    numeric = bad & values.map(_is_number)
    hint = "; numbers need corpus.time_unit year, s or ms" if numeric.any() else ""
    _refuse(values, bad, positions, "datetime", hint)
    return result


def _kind(value: object) -> str:
    """``string`` (a date string to parse), ``datetime``, or why not: ``number``, ``no-year``, ``other``."""
    if isinstance(value, str):
        text = value.strip()
        # Digit-only strings are dates only as ISO 8601 years or basic dates (2007, 20070331).
        if text.isdigit() and len(text) not in (4, 8):
            return "number"
        return "string" if _FOUR_DIGITS.search(text) else "no-year"
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        return "datetime"
    return "other"


def _to_utc(values: pd.Series) -> pd.Series:
    stamps = values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    return stamps.dt.as_unit("us")


def _refuse(values: pd.Series, bad: pd.Series, positions: pd.Series, unit: str, hint: str = "") -> None:
    """Raise naming how many values are ``bad`` and the first few rows, if any is."""
    if not bad.any():
        return
    rows = positions[bad].head(SHOWN_ROWS)
    shown = ", ".join(f"{position} ({_quote(values[index])})" for index, position in rows.items())
    more = ", ..." if bad.sum() > SHOWN_ROWS else ""
    raise TimeColumnError(f"{int(bad.sum())} value(s) are not {_NOUNS[unit]} (rows {shown}{more}){hint}")


def _quote(value: object, limit: int = 30) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
