"""The vendor price and rate exports: daily bars and FRED downloads, parsed from bytes
into provider frames (schemas PRICES and RATES).

Price headers are matched case-insensitively, whatever the vendor called them (see
`PRICE_HEADERS`); columns not listed there (wap, count ...) are ignored. Rows whose close
is empty are skipped; other empty fields are missing values. A price dated on a day that
is not an XNYS session (from 1990, where the calendar starts), or after today in New York,
is an error naming file, line and date, and so is a rate observation dated after today in
New York: no row is dropped silently. Prices are never altered: a row whose open, high
and low contradict its close (real Yahoo exports have some, off by a unit in the last
place after split adjustment) keeps its close and loses open, high and low, with a
warning that counts them. Dates must be unique and ascending.

Parsing is pure (`parse_price_csv` and `parse_rate_csv` take bytes, and `today`, which
defaults to the date in New York); format problems raise `FileFormatError` naming the
file and line.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd

from ingestion.calendar import CALENDAR_START, session_date_problem, today_in_new_york
from ingestion.providers.csv_reading import (
    Bound,
    FileFormatError,
    between,
    check_not_future,
    check_order,
    date_series,
    decode,
    normalise_header,
    parse_date,
    parse_number,
    parse_volume,
    read_rows,
)

# The source of every frame built here: the files provider's name.
SOURCE = "files"
# The warnings are the files provider's, and logging is set up by that name.
logger = logging.getLogger("ingestion.providers.files")

# Field -> header spellings, compared after `normalise_header`.
PRICE_HEADERS: dict[str, tuple[str, ...]] = {
    "session_date": ("date", "timestamp", "session_date"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "price"),
    "adj_close": ("adj_close", "adjclose", "adjusted_close"),
    "volume": ("volume", "v"),
}
RATE_DATE_HEADERS = ("observation_date", "date")
SHOWN_LINES = 10


# -- prices -----------------------------------------------------------------------------
def _price_columns(header: list[str], file: str) -> dict[str, int]:
    """Field -> column position; a date and a close are required."""
    spelled = {alias: field for field, aliases in PRICE_HEADERS.items() for alias in aliases}
    found: dict[str, int] = {}
    for position, name in enumerate(header):
        field = spelled.get(normalise_header(name))
        if field is None:
            continue
        if field in found:
            raise FileFormatError(
                f"{file}: columns {header[found[field]]!r} and {name!r} both look like "
                f"{field}; header found: {header}"
            )
        found[field] = position
    for needed, label in (("session_date", "date"), ("close", "close")):
        if needed not in found:
            raise FileFormatError(
                f"{file}: no {label} column (accepted: {', '.join(PRICE_HEADERS[needed])}, "
                f"any case); header found: {header}"
            )
    return found


def _positive(value: float | None, where: str, column: str) -> float | None:
    if value is not None and value <= 0:
        raise FileFormatError(f"{where}: {column} {value!r} is not a positive price")
    return value


@dataclass(frozen=True)
class _Bar:
    day: date
    open: float | None
    high: float | None
    low: float | None
    close: float
    adj_close: float | None
    volume: int | None
    line: int

    @property
    def ohlc_consistent(self) -> bool:
        """The schema's rule: high >= max(open, close) >= min(open, close) >= low > 0."""
        if any(v is not None and v <= 0 for v in (self.open, self.high, self.low)):
            return False
        body = [v for v in (self.open, self.close) if v is not None]
        return (self.high is None or self.high >= max(body)) and (
            self.low is None or self.low <= min(body)
        )

    def close_only(self) -> "_Bar":
        return replace(self, open=None, high=None, low=None)


def _check_price_date(day: date, today: date, where: str, column: str) -> None:
    # Before 1990 the calendar cannot tell; such rows only load inside a window, where
    # the frame validation refuses them.
    problem = session_date_problem(day, today) if day >= CALENDAR_START else None
    if problem is not None:
        raise FileFormatError(f"{where}: {column} {problem}")


def parse_price_csv(
    body: bytes,
    *,
    symbol: str,
    file: str,
    start: Bound = None,
    end: Bound = None,
    today: date | None = None,
) -> pd.DataFrame:
    """A prices frame (schema PRICES, source "files") for the rows in [start, end].

    The whole file is checked, not just the window: a malformed file is wrong whatever
    was asked of it, and so is a price on a day without a session or after `today`
    (default: today in New York). Rows with inconsistent OHLC in the window keep close
    only.
    """
    today = today or today_in_new_york()
    header, rows = read_rows(decode(body, file), file)
    columns = _price_columns(header, file)
    bars: list[_Bar] = []
    seen: dict[date, int] = {}
    previous: tuple[date, int] | None = None
    for line, fields in rows:
        where = f"{file} line {line}"

        def cell(field: str, fields: list[str] = fields) -> str:
            position = columns.get(field)
            return "" if position is None else fields[position]

        day = parse_date(cell("session_date"), where, header[columns["session_date"]])
        check_order(seen, previous, day, where)
        seen[day], previous = line, (day, line)
        close = _positive(parse_number(cell("close"), where, "close"), where, "close")
        if close is None:
            continue
        _check_price_date(day, today, where, header[columns["session_date"]])
        open_, high, low = (parse_number(cell(f), where, f) for f in ("open", "high", "low"))
        bars.append(
            _Bar(
                day=day,
                open=open_,
                high=high,
                low=low,
                close=close,
                adj_close=_positive(
                    parse_number(cell("adj_close"), where, "adj_close"), where, "adj_close"
                ),
                volume=parse_volume(cell("volume"), where, "volume"),
                line=line,
            )
        )

    chosen = [b for b in bars if between(b.day, start, end)]
    inconsistent = [b for b in chosen if not b.ohlc_consistent]
    if inconsistent:
        _warn_inconsistent(symbol, file, inconsistent)
    return prices_frame(symbol, [b if b.ohlc_consistent else b.close_only() for b in chosen])


def prices_frame(symbol: str, bars: "list[_Bar]") -> pd.DataFrame:
    """The PRICES frame of one symbol's bars (no rows: a typed, empty frame)."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([symbol] * len(bars), dtype="str"),
            "session_date": date_series(b.day for b in bars),
            "open": pd.Series([b.open for b in bars], dtype="float64"),
            "high": pd.Series([b.high for b in bars], dtype="float64"),
            "low": pd.Series([b.low for b in bars], dtype="float64"),
            "close": pd.Series([b.close for b in bars], dtype="float64"),
            "adj_close": pd.Series([b.adj_close for b in bars], dtype="float64"),
            "volume": pd.array([b.volume for b in bars], dtype="Int64"),
            "source": pd.Series([SOURCE] * len(bars), dtype="str"),
        }
    )


def _warn_inconsistent(symbol: str, file: str, bars: list["_Bar"]) -> None:
    shown = ", ".join(f"line {b.line} ({b.day})" for b in bars[:SHOWN_LINES])
    more = f" and {len(bars) - SHOWN_LINES} more" if len(bars) > SHOWN_LINES else ""
    logger.warning(
        "%s: %s: %s: %d row(s) where open/high/low contradict the close (high below "
        "max(open, close), low above min(open, close), or a price <= 0); kept the close and "
        "left open, high and low missing: %s%s",
        SOURCE,
        symbol,
        file,
        len(bars),
        shown,
        more,
    )


# -- rates ------------------------------------------------------------------------------
def parse_rate_csv(
    body: bytes,
    *,
    series_id: str,
    file: str,
    value_columns: Iterable[str] = (),
    start: Bound = None,
    end: Bound = None,
    today: date | None = None,
) -> pd.DataFrame:
    """A rates frame from a FRED CSV (`observation_date,<ID>` or `DATE,<ID>`).

    The value column is the one named `series_id` (or one of `value_columns`, e.g. the
    FRED code), any case. "." and empty values are missing observations: no row. A value
    dated after `today` (default: today in New York) is an error, wherever it is.
    """
    today = today or today_in_new_york()
    header, rows = read_rows(decode(body, file), file)
    names = [normalise_header(h) for h in header]
    date_at = next((i for i, n in enumerate(names) if n in RATE_DATE_HEADERS), None)
    wanted = {normalise_header(v) for v in (series_id, *value_columns)}
    value_at = next((i for i, n in enumerate(names) if n in wanted), None)
    if date_at is None or value_at is None:
        missing = "observation_date (or DATE)" if date_at is None else repr(series_id)
        raise FileFormatError(f"{file}: no {missing} column; header found: {header}")
    observations: list[tuple[date, float]] = []
    seen: dict[date, int] = {}
    previous: tuple[date, int] | None = None
    for line, fields in rows:
        where = f"{file} line {line}"
        day = parse_date(fields[date_at], where, header[date_at])
        check_order(seen, previous, day, where)
        seen[day], previous = line, (day, line)
        value = parse_number(fields[value_at], where, header[value_at])
        if value is None:
            continue
        check_not_future(day, today, where, header[date_at])
        if between(day, start, end):
            observations.append((day, value))
    return rates_frame(series_id, observations)


def rates_frame(series_id: str, observations: list[tuple[date, float]]) -> pd.DataFrame:
    """The RATES frame of one series' (date, value) observations."""
    return pd.DataFrame(
        {
            "series_id": pd.Series([series_id] * len(observations), dtype="str"),
            "observation_date": date_series(day for day, _ in observations),
            "value": pd.Series([value for _, value in observations], dtype="float64"),
            "source": pd.Series([SOURCE] * len(observations), dtype="str"),
        }
    )
