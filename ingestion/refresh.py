"""Incremental refreshes of the raw tables, one entry point per table.

Each plans the windows to ask the provider for (`ingestion.planning`) and runs them key
by key (`ingestion.runner`), with the checks of its own table (`ingestion.boundary`).
When a provider's adjusted closes for sessions already stored have changed (a dividend or
split re-based the history), the symbol's whole history is reloaded so returns never mix
two adjustment bases; the load is logged as `restated`. Estimates also come from the
files analysts drop in the landing zone (`ingestion.landing`).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from ingestion.boundary import (
    adjustment_changed,
    check_returns,
    check_target_range,
    symbols_adjusted,
    symbols_out_of_bounds,
)
from ingestion.calendar import sessions_between, xnys
from ingestion.config import Settings
from ingestion.landing import PROVIDER as LANDING
from ingestion.landing import LandingReport, estimates_zone, process_landing_zone
from ingestion.planning import daily_reach, estimates_reach, plan
from ingestion.providers import MarketDataProvider
from ingestion.runner import RefreshReport, Steps, run
from ingestion.schemas import ESTIMATES, PRICES, RATES, SESSIONS
from ingestion.universe import Universe


def refresh_prices(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
    window_start: date | None = None,
) -> RefreshReport:
    reach = daily_reach(settings, provider.name, window_start)
    windows = plan(con, PRICES, universe.symbols, reach)
    rules = _PriceRules(con, provider.name, settings.history_start)
    steps = Steps(
        PRICES,
        provider.name,
        provider.prices,
        check=rules.check,
        reload_from=rules.reload_from,
        screen=rules.screen,
    )
    return run(con, steps, windows, log)


@dataclass
class _PriceRules:
    """The price rules of one refresh. A batch's frames are screened together first; a
    symbol the screen named, or whose frame is not the one screened (its history was
    fetched again), is judged alone, which also gives the reason."""

    con: duckdb.DuckDBPyConnection
    provider: str
    history_start: date
    screened: dict[str, pd.DataFrame] = field(default_factory=dict)
    adjusted: set[str] = field(default_factory=set)
    out_of_bounds: set[str] = field(default_factory=set)

    def screen(self, frames: Mapping[str, pd.DataFrame]) -> None:
        self.screened = {}
        if not frames:
            return
        try:
            self.adjusted = symbols_adjusted(self.con, frames)
            self.out_of_bounds = symbols_out_of_bounds(self.con, frames)
        except duckdb.Error:  # each symbol's own check meets it, and names it
            return
        self.screened = dict(frames)

    def _passed(self, symbol: str, frame: pd.DataFrame, named: set[str]) -> bool:
        return self.screened.get(symbol) is frame and symbol not in named

    def reload_from(self, symbol: str, frame: pd.DataFrame) -> date | None:
        if self._passed(symbol, frame, self.adjusted):
            return None
        if not adjustment_changed(self.con, symbol, frame):
            return None
        # fetchall: a half-read result would block the checks that follow.
        [(first,)] = self.con.execute(
            "select min(session_date) from raw.prices where symbol = ?", [symbol]
        ).fetchall()
        return min(first, self.history_start) if first else self.history_start

    def check(self, symbol: str, frame: pd.DataFrame) -> None:
        if self._passed(symbol, frame, self.out_of_bounds):
            return
        check_returns(self.con, self.provider, symbol, frame)


def refresh_rates(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
    window_start: date | None = None,
) -> RefreshReport:
    reach = daily_reach(settings, provider.name, window_start)
    windows = plan(con, RATES, universe.series_ids, reach)

    def check(series_id: str, frame: pd.DataFrame) -> None:
        check_target_range(con, provider.name, series_id, frame)

    return run(con, Steps(RATES, provider.name, provider.rates, check=check), windows, log)


def load_landing_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    name: str,
    log: Callable[[str], None] = print,
) -> RefreshReport:
    """Load one dropped estimates file (the landing sensor's run), nothing else."""
    report = RefreshReport(ESTIMATES.table, LANDING)
    landing = process_landing_zone(con, estimates_zone(settings), log, only=name)
    _add_landing(report, landing)
    if not landing.loaded and not report.failures:
        report.failures[f"landing file {name}"] = "no longer in the landing zone"
    return report


def refresh_estimates(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
) -> RefreshReport:
    windows = plan(con, ESTIMATES, universe.universe_names, estimates_reach(settings))
    # Estimates may come only from analysts' drops in the landing zone, so a provider
    # without them fails its check but not the refresh.
    steps = Steps(ESTIMATES, provider.name, provider.estimates, require_any=False)
    report = run(con, steps, windows, log)
    _add_landing(report, process_landing_zone(con, estimates_zone(settings), log))
    return report


def _add_landing(report: RefreshReport, landing: LandingReport) -> None:
    """The zone's loaded files count as loads; each file it refused or failed, as a failure."""
    report.loads.extend(item.result for item in landing.loaded)
    for name, reason in {**landing.quarantined, **landing.failed}.items():
        report.failures[f"landing file {name}"] = reason


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

    def fetch(_keys: list[str], start: date, stop: date) -> pd.DataFrame:
        return session_frame(start, stop)

    steps = Steps(SESSIONS, "exchange_calendars", fetch)
    return run(con, steps, {(settings.history_start, end): ["XNYS"]}, log)
