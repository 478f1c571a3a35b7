"""Vendor exports from a local folder: prices, FRED rates and earnings estimates as CSV.

The folder is MARKET_DATA_DIR (`Settings.market_data_dir`), laid out as

    prices/<SYMBOL>.csv       one file per warehouse symbol, daily bars
    rates/<SERIES_ID>.csv     one FRED download per series id
    estimates/*.csv           EPS growth snapshots, every file read and concatenated

Files are named with the warehouse's own symbols and series ids (the seeds need no
`files_code` column). A file that is not there is an error naming the symbol and the
expected path, so the refresh reports a missing symbol instead of inventing it; no path is
ever followed outside the folder.

Price headers are matched case-insensitively, whatever the vendor called them (see
`PRICE_HEADERS`); columns not listed there (wap, count ...) are ignored. Rows whose close
is empty are skipped; other empty fields are missing values. A price dated on a day that
is not an XNYS session (from 1990, where the calendar starts), or after today in New York,
is an error naming file, line and date, and so is a rate observation or an estimate
dated after today in New York: no row is dropped silently. Prices are never altered:
a row whose open, high and low contradict its close (real Yahoo exports have some, off by
a unit in the last place after split adjustment) keeps its close and loses open, high and
low, with a warning that counts them. Dates must be unique and ascending.

Parsing is pure (`parse_price_csv`, `parse_rate_csv`, `parse_estimates_csv` take bytes,
and `today`, which defaults to the date in New York); format problems raise
`FileFormatError` naming the file and line, which the provider turns into a ProviderError
that also names the provider and the symbol or series.
"""

import csv
import io
import logging
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ingestion.calendar import (
    CALENDAR_START,
    future_date_problem,
    session_date_problem,
    today_in_new_york,
)
from ingestion.providers.base import ProviderError
from ingestion.universe import SYMBOL_PATTERN, UNIVERSE_PATTERN

if TYPE_CHECKING:
    from ingestion.providers import ProviderContext

NAME = "files"
logger = logging.getLogger(__name__)

# Field -> header spellings, compared after `_normalise_header`.
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
ESTIMATE_COLUMNS = ("as_of_date", "universe", "fiscal_year", "eps_growth_pct")
ESTIMATE_OPTIONAL = ("source",)
_ESTIMATE_KNOWN = frozenset((*ESTIMATE_COLUMNS, *ESTIMATE_OPTIONAL))
# Spellings of "no value" in vendor exports (FRED writes "."; Yahoo once wrote "null").
MISSING = frozenset({"", ".", "null", "nan", "na", "n/a", "none"})
DATE_TEXT = re.compile(r"^(\d{4})(-?)(\d{2})\2(\d{2})(?:[T ].*)?$")
YEAR_TEXT = re.compile(r"^\d{4}$")
SHOWN_LINES = 10


class FileFormatError(ValueError):
    """A CSV file cannot be read as documented; the message names the file and line."""


# -- shared reading helpers -------------------------------------------------------------
def _normalise_header(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def _decode(body: bytes, file: str) -> str:
    if not body.strip():
        raise FileFormatError(f"{file}: the file is empty")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise FileFormatError(
            f"{file} line {line}: not UTF-8 text (byte 0x{body[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from None
    if text.lstrip().startswith("<"):
        raise FileFormatError(f"{file}: looks like an HTML or XML page, not CSV")
    return text


def _rows(text: str, file: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the (line number, fields) of every non-blank data row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise FileFormatError(f"{file} line 1: {exc}") from None

    def body() -> Iterator[tuple[int, list[str]]]:
        count = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                if not count:
                    raise FileFormatError(f"{file}: a header but no data rows") from None
                return
            except csv.Error as exc:
                raise FileFormatError(f"{file} line {reader.line_num}: {exc}") from None
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                raise FileFormatError(
                    f"{file} line {reader.line_num}: {len(fields)} field(s) where the header "
                    f"has {len(header)} (a truncated or malformed row)"
                )
            count += 1
            yield reader.line_num, fields

    return header, body()


def _missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def _parse_date(text: str, where: str, column: str) -> date:
    match = DATE_TEXT.match(text.strip())
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        raise FileFormatError(
            f"{where}: {column} {text!r} is not a date (expected YYYY-MM-DD)"
        ) from None


def _parse_number(text: str, where: str, column: str) -> float | None:
    if _missing(text):
        return None
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FileFormatError(f"{where}: {column} {text!r} is not a number")
    return value


def _parse_volume(text: str, where: str, column: str) -> int | None:
    value = _parse_number(text, where, column)
    if value is None:
        return None
    stripped = text.strip()
    # Whole numbers written as integers are read exactly, not through a float.
    whole = int(stripped) if stripped.lstrip("+-").isdecimal() else None
    if whole is None and value.is_integer():
        whole = int(value)
    if whole is None or not 0 <= whole < 2**63:
        raise FileFormatError(f"{where}: {column} {text!r} is not a whole, non-negative number")
    return whole


def _check_order(
    seen: dict[date, int], previous: tuple[date, int] | None, day: date, where: str
) -> None:
    """Dates must be unique and ascending; `seen` maps each date to its line."""
    if day in seen:
        raise FileFormatError(f"{where}: date {day} repeats line {seen[day]}")
    if previous is not None and day < previous[0]:
        raise FileFormatError(
            f"{where}: date {day} comes after {previous[0]} (line {previous[1]}); dates must ascend"
        )


def _between(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _dates(values: Iterable[date]) -> pd.Series:
    return pd.Series(np.array(list(values), dtype="datetime64[D]").astype("datetime64[ns]"))


# -- prices -----------------------------------------------------------------------------
def _price_columns(header: list[str], file: str) -> dict[str, int]:
    """Field -> column position; a date and a close are required."""
    spelled = {alias: field for field, aliases in PRICE_HEADERS.items() for alias in aliases}
    found: dict[str, int] = {}
    for position, name in enumerate(header):
        field = spelled.get(_normalise_header(name))
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


def _check_not_future(day: date, today: date, where: str, column: str) -> None:
    problem = future_date_problem(day, today)
    if problem is not None:
        raise FileFormatError(f"{where}: {column} {problem}")


def parse_price_csv(
    body: bytes,
    *,
    symbol: str,
    file: str,
    start: date | None = None,
    end: date | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """A prices frame (schema PRICES, source "files") for the rows in [start, end].

    The whole file is checked, not just the window: a malformed file is wrong whatever
    was asked of it, and so is a price on a day without a session or after `today`
    (default: today in New York). Rows with inconsistent OHLC in the window keep close
    only.
    """
    today = today or today_in_new_york()
    header, rows = _rows(_decode(body, file), file)
    columns = _price_columns(header, file)
    bars: list[_Bar] = []
    seen: dict[date, int] = {}
    previous: tuple[date, int] | None = None
    for line, fields in rows:
        where = f"{file} line {line}"

        def cell(field: str, fields: list[str] = fields) -> str:
            position = columns.get(field)
            return "" if position is None else fields[position]

        day = _parse_date(cell("session_date"), where, header[columns["session_date"]])
        _check_order(seen, previous, day, where)
        seen[day], previous = line, (day, line)
        close = _positive(_parse_number(cell("close"), where, "close"), where, "close")
        if close is None:
            continue
        _check_price_date(day, today, where, header[columns["session_date"]])
        open_, high, low = (_parse_number(cell(f), where, f) for f in ("open", "high", "low"))
        bars.append(
            _Bar(
                day=day,
                open=open_,
                high=high,
                low=low,
                close=close,
                adj_close=_positive(
                    _parse_number(cell("adj_close"), where, "adj_close"), where, "adj_close"
                ),
                volume=_parse_volume(cell("volume"), where, "volume"),
                line=line,
            )
        )

    chosen = [b for b in bars if _between(b.day, start, end)]
    inconsistent = [b for b in chosen if not b.ohlc_consistent]
    if inconsistent:
        _warn_inconsistent(symbol, file, inconsistent)
    return prices_frame(symbol, [b if b.ohlc_consistent else b.close_only() for b in chosen])


def prices_frame(symbol: str, bars: "list[_Bar]") -> pd.DataFrame:
    """The PRICES frame of one symbol's bars (no rows: a typed, empty frame)."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([symbol] * len(bars), dtype="str"),
            "session_date": _dates(b.day for b in bars),
            "open": pd.Series([b.open for b in bars], dtype="float64"),
            "high": pd.Series([b.high for b in bars], dtype="float64"),
            "low": pd.Series([b.low for b in bars], dtype="float64"),
            "close": pd.Series([b.close for b in bars], dtype="float64"),
            "adj_close": pd.Series([b.adj_close for b in bars], dtype="float64"),
            "volume": pd.array([b.volume for b in bars], dtype="Int64"),
            "source": pd.Series([NAME] * len(bars), dtype="str"),
        }
    )


def _warn_inconsistent(symbol: str, file: str, bars: list["_Bar"]) -> None:
    shown = ", ".join(f"line {b.line} ({b.day})" for b in bars[:SHOWN_LINES])
    more = f" and {len(bars) - SHOWN_LINES} more" if len(bars) > SHOWN_LINES else ""
    logger.warning(
        "%s: %s: %s: %d row(s) where open/high/low contradict the close (high below "
        "max(open, close), low above min(open, close), or a price <= 0); kept the close and "
        "left open, high and low missing: %s%s",
        NAME,
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
    start: date | None = None,
    end: date | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """A rates frame from a FRED CSV (`observation_date,<ID>` or `DATE,<ID>`).

    The value column is the one named `series_id` (or one of `value_columns`, e.g. the
    FRED code), any case. "." and empty values are missing observations: no row. A value
    dated after `today` (default: today in New York) is an error, wherever it is.
    """
    today = today or today_in_new_york()
    header, rows = _rows(_decode(body, file), file)
    names = [_normalise_header(h) for h in header]
    date_at = next((i for i, n in enumerate(names) if n in RATE_DATE_HEADERS), None)
    wanted = {_normalise_header(v) for v in (series_id, *value_columns)}
    value_at = next((i for i, n in enumerate(names) if n in wanted), None)
    if date_at is None or value_at is None:
        missing = "observation_date (or DATE)" if date_at is None else repr(series_id)
        raise FileFormatError(f"{file}: no {missing} column; header found: {header}")
    observations: list[tuple[date, float]] = []
    seen: dict[date, int] = {}
    previous: tuple[date, int] | None = None
    for line, fields in rows:
        where = f"{file} line {line}"
        day = _parse_date(fields[date_at], where, header[date_at])
        _check_order(seen, previous, day, where)
        seen[day], previous = line, (day, line)
        value = _parse_number(fields[value_at], where, header[value_at])
        if value is None:
            continue
        _check_not_future(day, today, where, header[date_at])
        if _between(day, start, end):
            observations.append((day, value))
    return rates_frame(series_id, observations)


def rates_frame(series_id: str, observations: list[tuple[date, float]]) -> pd.DataFrame:
    """The RATES frame of one series' (date, value) observations."""
    return pd.DataFrame(
        {
            "series_id": pd.Series([series_id] * len(observations), dtype="str"),
            "observation_date": _dates(day for day, _ in observations),
            "value": pd.Series([value for _, value in observations], dtype="float64"),
            "source": pd.Series([NAME] * len(observations), dtype="str"),
        }
    )


# -- estimates --------------------------------------------------------------------------
@dataclass(frozen=True)
class EstimateRow:
    universe: str
    fiscal_year: int
    as_of_date: date
    eps_growth_pct: float
    source: str
    file: str
    line: int

    @property
    def key(self) -> tuple[str, int, date]:
        return (self.universe, self.fiscal_year, self.as_of_date)


def read_estimate_rows(
    body: bytes, *, file: str, default_source: str, today: date | None = None
) -> list[EstimateRow]:
    """Every row of an estimates CSV, checked; duplicate keys are an error, and so is an
    as_of_date after `today` (default: today in New York): no snapshot is from the future.

    Columns (any order, any case): as_of_date, universe, fiscal_year, eps_growth_pct and
    an optional source (empty or absent: `default_source`). Other columns are refused,
    so a misspelt one is not silently dropped.
    """
    today = today or today_in_new_york()
    header, rows = _rows(_decode(body, file), file)
    names = [_normalise_header(h) for h in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FileFormatError(f"{file}: column(s) {repeated} appear more than once")
    missing = [c for c in ESTIMATE_COLUMNS if c not in names]
    if missing:
        raise FileFormatError(f"{file}: missing column(s) {missing}; header found: {header}")
    unexpected = [h for h, n in zip(header, names, strict=True) if n not in _ESTIMATE_KNOWN]
    if unexpected:
        raise FileFormatError(
            f"{file}: unexpected column(s) {unexpected}; the columns are "
            f"{', '.join(ESTIMATE_COLUMNS)} and optionally source"
        )
    at = {n: i for i, n in enumerate(names)}
    parsed: list[EstimateRow] = []
    seen: dict[tuple[str, int, date], int] = {}
    for line, fields in rows:
        where = f"{file} line {line}"
        row = _estimate_row(fields, at, where, default_source, file, line)
        _check_not_future(row.as_of_date, today, where, "as_of_date")
        if row.key in seen:
            raise FileFormatError(
                f"{where}: universe={row.universe}, fiscal_year={row.fiscal_year}, "
                f"as_of_date={row.as_of_date} repeats line {seen[row.key]}"
            )
        seen[row.key] = line
        parsed.append(row)
    return parsed


def _estimate_row(
    fields: list[str], at: dict[str, int], where: str, default_source: str, file: str, line: int
) -> EstimateRow:
    def text(column: str) -> str:
        value = fields[at[column]].strip() if column in at else ""
        if column in ESTIMATE_COLUMNS and not value:
            raise FileFormatError(f"{where}: {column} is empty")
        return value

    as_of = _parse_date(text("as_of_date"), where, "as_of_date")
    universe = text("universe")
    if not UNIVERSE_PATTERN.match(universe):
        raise FileFormatError(
            f"{where}: universe {universe!r} is not a universe name "
            "(lower-case letters, digits and _, as in estimate_universes.csv)"
        )
    year_text = text("fiscal_year")
    if not YEAR_TEXT.match(year_text):
        raise FileFormatError(f"{where}: fiscal_year {year_text!r} is not a four-digit year")
    growth = _parse_number(text("eps_growth_pct"), where, "eps_growth_pct")
    if growth is None:
        raise FileFormatError(f"{where}: eps_growth_pct is missing")
    return EstimateRow(
        universe=universe,
        fiscal_year=int(year_text),
        as_of_date=as_of,
        eps_growth_pct=growth,
        source=text("source") or default_source,
        file=file,
        line=line,
    )


def estimates_frame(rows: list[EstimateRow], sort: bool = True) -> pd.DataFrame:
    """The ESTIMATES frame of `rows`, sorted by key unless `sort` is False."""
    frame = pd.DataFrame(
        {
            "universe": pd.Series([r.universe for r in rows], dtype="str"),
            "fiscal_year": pd.Series([r.fiscal_year for r in rows], dtype="int64"),
            "as_of_date": _dates(r.as_of_date for r in rows),
            "eps_growth_pct": pd.Series([r.eps_growth_pct for r in rows], dtype="float64"),
            "source": pd.Series([r.source for r in rows], dtype="str"),
        }
    )
    if not sort:
        return frame
    return frame.sort_values(["universe", "fiscal_year", "as_of_date"], ignore_index=True)


def parse_estimates_csv(
    body: bytes, *, file: str, default_source: str = NAME, today: date | None = None
) -> pd.DataFrame:
    """An ESTIMATES frame of every row of one estimates CSV."""
    return estimates_frame(
        read_estimate_rows(body, file=file, default_source=default_source, today=today)
    )


# -- the provider -----------------------------------------------------------------------
class FilesProvider:
    """Prices, rates and estimates read from the files under MARKET_DATA_DIR."""

    name = NAME

    def __init__(self, context: "ProviderContext") -> None:
        self.universe = context.universe
        folder = context.settings.market_data_dir
        if folder is None:
            raise ProviderError(
                f"{NAME}: MARKET_DATA_DIR is not set; point it at a folder holding "
                "prices/<SYMBOL>.csv, rates/<SERIES_ID>.csv and estimates/*.csv"
            )
        if not folder.is_dir():
            raise ProviderError(f"{NAME}: MARKET_DATA_DIR={folder} is not a folder")
        self.root = folder.resolve()

    def _inside(self, path: Path, what: str) -> Path:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise ProviderError(
                f"{NAME}: {what}: {path} leads outside MARKET_DATA_DIR ({self.root}); refused"
            )
        return resolved

    def _file(self, folder: str, key: str, kind: str, what: str) -> Path:
        if not SYMBOL_PATTERN.match(key):
            raise ProviderError(f"{NAME}: {what} is not a valid file name")
        path = self.root / folder / f"{key}.csv"
        if not self._inside(path, what).is_file():
            raise ProviderError(f"{NAME}: no {kind} file for {what}: expected {path}")
        return path

    def _read(self, path: Path, what: str) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ProviderError(f"{NAME}: {what}: cannot read {path}: {exc}") from exc

    def prices(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        _check_window(start, end)
        frames = []
        for symbol in sorted(set(symbols)):
            what = f"symbol {symbol!r}"
            if symbol not in self.universe.symbols:
                raise ProviderError(f"{NAME}: {what} is not in the instrument universe")
            path = self._file("prices", symbol, "price", what)
            try:
                frames.append(
                    parse_price_csv(
                        self._read(path, what), symbol=symbol, file=str(path), start=start, end=end
                    )
                )
            except FileFormatError as exc:
                raise ProviderError(f"{NAME}: {what}: {exc}") from None
        return _concat(frames, ["symbol", "session_date"], prices_frame("", []))

    def rates(self, series: list[str], start: date, end: date) -> pd.DataFrame:
        _check_window(start, end)
        known = {s.series_id: s for s in self.universe.rate_series}
        frames = []
        for series_id in sorted(set(series)):
            what = f"series {series_id!r}"
            if series_id not in known:
                raise ProviderError(f"{NAME}: {what} is not in rate_series.csv")
            path = self._file("rates", series_id, "rate", what)
            fred_code = known[series_id].codes.get("fred")
            try:
                frames.append(
                    parse_rate_csv(
                        self._read(path, what),
                        series_id=series_id,
                        file=str(path),
                        value_columns=[fred_code] if fred_code else [],
                        start=start,
                        end=end,
                    )
                )
            except FileFormatError as exc:
                raise ProviderError(f"{NAME}: {what}: {exc}") from None
        return _concat(
            frames,
            ["series_id", "observation_date"],
            rates_frame("", []),
        )

    def estimates(self, universes: list[str], start: date, end: date) -> pd.DataFrame:
        _check_window(start, end)
        wanted = sorted(set(universes))
        what = f"estimate universe(s) {wanted}"
        unknown = sorted(set(wanted) - set(self.universe.universe_names))
        if unknown:
            raise ProviderError(f"{NAME}: estimate universe(s) {unknown} are not in the seeds")
        folder = self._inside(self.root / "estimates", what)
        files = sorted(p for p in folder.glob("*.csv") if p.is_file()) if folder.is_dir() else []
        if not files:
            raise ProviderError(
                f"{NAME}: no estimates file for {what}: expected {self.root / 'estimates'}/*.csv"
            )
        rows: list[EstimateRow] = []
        seen: dict[tuple[str, int, date], EstimateRow] = {}
        for path in files:
            resolved = self._inside(path, what)
            try:
                parsed = read_estimate_rows(
                    self._read(resolved, what), file=str(path), default_source=NAME
                )
            except FileFormatError as exc:
                raise ProviderError(f"{NAME}: {what}: {exc}") from None
            for row in parsed:
                if row.key in seen:
                    first = seen[row.key]
                    raise ProviderError(
                        f"{NAME}: {what}: {row.file} line {row.line}: universe={row.universe}, "
                        f"fiscal_year={row.fiscal_year}, as_of_date={row.as_of_date} is "
                        f"already in {first.file} line {first.line}"
                    )
                seen[row.key] = row
            rows.extend(parsed)
        present = {r.universe for r in rows}
        absent = [u for u in wanted if u not in present]
        if absent:
            raise ProviderError(
                f"{NAME}: no estimates for universe(s) {absent} in any of "
                f"{[p.name for p in files]} under {folder}"
            )
        chosen = [r for r in rows if r.universe in wanted and start <= r.as_of_date <= end]
        return estimates_frame(chosen)


def _check_window(start: date, end: date) -> None:
    if end < start:
        raise ProviderError(f"{NAME}: window end {end} is before its start {start}")


def _concat(frames: list[pd.DataFrame], keys: list[str], empty: pd.DataFrame) -> pd.DataFrame:
    """The frames in key order; `empty` (typed, no rows) when nothing was asked for."""
    if not frames:
        return empty
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values(keys, ignore_index=True)
