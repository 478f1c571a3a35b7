"""Incremental refreshes: which window to ask each provider for, then fetch, validate, load.

A refresh asks from the last stored date minus a lookback (so restatements of the last
few sessions are picked up and counted as updates) to the end date; keys with nothing
stored start at HISTORY_START. Keys that need the same window are fetched together.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import pandas as pd

from ingestion.calendar import sessions_before, sessions_between, xnys
from ingestion.config import Settings
from ingestion.loader import LoadResult, load_frame, record_failure
from ingestion.providers import MarketDataProvider
from ingestion.schemas import ESTIMATES, PRICES, RATES, SESSIONS, Dataset, validate
from ingestion.universe import Universe

ESTIMATE_LOOKBACK = timedelta(days=62)
Window = tuple[date, date]


@dataclass
class RefreshReport:
    """What one refresh of one raw table did, for logs, metadata and the run summary."""

    table: str
    provider: str
    windows: dict[Window, list[str]] = field(default_factory=dict)
    loads: list[LoadResult] = field(default_factory=list)

    @property
    def received(self) -> int:
        return sum(r.received for r in self.loads)

    @property
    def inserted(self) -> int:
        return sum(r.inserted for r in self.loads)

    @property
    def updated(self) -> int:
        return sum(r.updated for r in self.loads)

    @property
    def unchanged(self) -> int:
        return sum(r.unchanged for r in self.loads)

    @property
    def window(self) -> tuple[date | None, date | None]:
        if not self.windows:
            return (None, None)
        return (min(w[0] for w in self.windows), max(w[1] for w in self.windows))

    def summary(self) -> str:
        start, end = self.window
        span = f"{start} .. {end}" if start else "nothing to fetch"
        return (
            f"raw.{self.table} from {self.provider} ({span}): {self.received} rows received, "
            f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        )


def plan_windows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key_column: str,
    date_column: str,
    keys: list[str],
    history_start: date,
    end: date,
    step_back: Callable[[date], date],
) -> dict[Window, list[str]]:
    """Group keys by the window each needs; keys already complete past `end` are left out."""
    stored = dict(
        con.execute(
            f"select {key_column}, max({date_column}) from raw.{table} group by all"
        ).fetchall()
    )
    windows: dict[Window, list[str]] = defaultdict(list)
    for key in keys:
        last = stored.get(key)
        start = history_start if last is None else max(history_start, step_back(last))
        if start <= end:
            windows[(start, end)].append(key)
    return dict(windows)


def _run(
    con: duckdb.DuckDBPyConnection,
    report: RefreshReport,
    dataset: Dataset,
    asset: str,
    fetch: Callable[[list[str], date, date], pd.DataFrame],
    log: Callable[[str], None],
) -> RefreshReport:
    for (start, end), keys in sorted(report.windows.items()):
        log(f"{report.provider}: fetching {dataset.name} for {len(keys)} key(s) {start} .. {end}")
        try:
            frame = validate(fetch(keys, start, end), dataset, report.provider)
        except Exception as exc:
            record_failure(
                con, asset=asset, provider=report.provider, window=(start, end), error=str(exc)
            )
            raise
        result = load_frame(
            con,
            table=report.table,
            dataset=dataset,
            frame=frame,
            asset=asset,
            provider=report.provider,
            window=(start, end),
        )
        report.loads.append(result)
        log(
            f"{report.provider}: raw.{report.table} +{result.inserted} new, "
            f"{result.updated} updated, {result.unchanged} unchanged"
        )
    return report


def refresh_prices(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
) -> RefreshReport:
    windows = plan_windows(
        con,
        "prices",
        "symbol",
        "session_date",
        universe.symbols,
        settings.history_start,
        settings.end_date,
        lambda last: sessions_before(last, settings.lookback_sessions),
    )
    report = RefreshReport("prices", provider.name, windows)
    return _run(con, report, PRICES, "raw/prices", provider.prices, log)


def refresh_rates(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
) -> RefreshReport:
    windows = plan_windows(
        con,
        "rates",
        "series_id",
        "observation_date",
        universe.series_ids,
        settings.history_start,
        settings.end_date,
        lambda last: sessions_before(last, settings.lookback_sessions),
    )
    report = RefreshReport("rates", provider.name, windows)
    return _run(con, report, RATES, "raw/rates", provider.rates, log)


def refresh_estimates(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
) -> RefreshReport:
    windows = plan_windows(
        con,
        "earnings_estimates",
        "universe",
        "as_of_date",
        universe.universe_names,
        settings.history_start,
        settings.end_date,
        lambda last: last - ESTIMATE_LOOKBACK,
    )
    report = RefreshReport("earnings_estimates", provider.name, windows)
    return _run(con, report, ESTIMATES, "raw/earnings_estimates", provider.estimates, log)


def session_frame(start: date, end: date) -> pd.DataFrame:
    """XNYS sessions with open and close times in UTC, straight from the calendar."""
    days = sessions_between(start, end)
    cal = xnys()
    index = pd.DatetimeIndex(days)
    opens = cal.opens.loc[index].dt.tz_convert("UTC").dt.tz_localize(None)
    closes = cal.closes.loc[index].dt.tz_convert("UTC").dt.tz_localize(None)
    early = index.isin(cal.early_closes)
    return pd.DataFrame(
        {
            "session_date": index.astype("datetime64[ns]"),
            "market_open_at": opens.to_numpy().astype("datetime64[ns]"),
            "market_close_at": closes.to_numpy().astype("datetime64[ns]"),
            "is_early_close": early,
            "source": "exchange_calendars",
        }
    )


def refresh_sessions(
    con: duckdb.DuckDBPyConnection, settings: Settings, log: Callable[[str], None] = print
) -> RefreshReport:
    """The calendar from HISTORY_START through the end of the following year."""
    last_known = xnys().last_session.date()
    end = min(date(settings.end_date.year + 1, 12, 31), last_known)
    report = RefreshReport(
        "sessions", "exchange_calendars", {(settings.history_start, end): ["XNYS"]}
    )
    return _run(
        con,
        report,
        SESSIONS,
        "raw/sessions",
        lambda _keys, start, stop: session_frame(start, stop),
        log,
    )
