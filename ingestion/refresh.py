"""Incremental refreshes: which window to ask each provider for, then fetch, validate, load.

A refresh asks from the last stored date minus a lookback (so restatements of the last
few sessions are picked up and counted as updates) to the end date; keys with nothing
stored, or stored from another provider, start at HISTORY_START. A backfill of a date
range re-reads at least that whole range.

Each key (symbol, series, universe) is fetched, validated and loaded on its own and logged
in raw.load_log with its outcome, so one failing symbol never loses the others. When a
provider's adjusted closes for sessions already stored have changed (a dividend or split
re-based the history), the symbol's whole history is reloaded so returns never mix two
adjustment bases; the load is logged as `restated`.

Before a key's rows are loaded they must pass `schemas.validate` (dates included: prices
on XNYS sessions, nothing after today in New York) and be of that key and inside the
window asked for. Prices must also give daily returns inside the bounds the warehouse
tests (`RETURN_BOUNDS`) against the stored sessions around them, and the Fed's target
range must keep its lower limit below the stored upper one (and the other way round). A
key that fails any of it is logged failed with the reason and nothing of it is stored;
the other keys load.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import pandas as pd

from ingestion.calendar import sessions_before, sessions_between, xnys
from ingestion.config import Settings
from ingestion.landing import estimates_zone, process_landing_zone
from ingestion.loader import LoadError, LoadResult, load_frame, record_failure
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
    failures: dict[str, str] = field(default_factory=dict)
    restated: list[str] = field(default_factory=list)

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
        text = (
            f"raw.{self.table} from {self.provider} ({span}): {self.received} rows received, "
            f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        )
        if self.restated:
            text += f"; history reloaded for {', '.join(self.restated)}"
        if self.failures:
            text += f"; FAILED for {', '.join(sorted(self.failures))}"
        return text


def plan_windows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key_column: str,
    date_column: str,
    keys: list[str],
    history_start: date,
    end: date,
    step_back: Callable[[date], date],
    provider: str | None = None,
) -> dict[Window, list[str]]:
    """Group keys by the window each needs; keys already complete past `end` are left out.
    With `provider`, a key whose latest row came from another source starts over."""
    stored = {
        key: (last, source)
        for key, last, source in con.execute(
            f"select {key_column}, max({date_column}), arg_max(source, {date_column}) "
            f"from raw.{table} group by all"
        ).fetchall()
    }
    windows: dict[Window, list[str]] = defaultdict(list)
    for key in keys:
        last, source = stored.get(key, (None, None))
        switched = provider is not None and source is not None and source != provider
        start = history_start if last is None or switched else max(history_start, step_back(last))
        if start <= end:
            windows[(start, end)].append(key)
    return dict(windows)


class BoundaryError(ValueError):
    """A provider's rows for one key break a rule checked before loading; the message names
    provider, key and dates."""


def check_asked_for(
    frame: pd.DataFrame, dataset: Dataset, provider: str, key: str, window: Window
) -> None:
    """Providers answer only for the key and the window asked for; a row of another key, or
    outside the window (before HISTORY_START, say, where the warehouse has no calendar), is
    refused, not stored."""
    if frame.empty:
        return
    scope = dataset.scope_column
    if scope in frame.columns:
        others = sorted(set(frame[scope].astype(str)) - {key})
        if others:
            raise BoundaryError(
                f"provider {provider!r}: {key}: asked for {key} but got rows of "
                f"{scope} {', '.join(others[:5])}"
            )
    column = dataset.date_column
    if column not in frame.columns:
        return
    start, end = window
    days = frame[column]
    outside = days[(days < pd.Timestamp(start)) | (days > pd.Timestamp(end))]
    if not outside.empty:
        shown = ", ".join(str(day.date()) for day in outside.iloc[:5])
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        raise BoundaryError(
            f"provider {provider!r}: {key}: {len(outside)} row(s) outside the window asked "
            f"for, {start} .. {end}: {column} {shown}{more}"
        )


def _run(
    con: duckdb.DuckDBPyConnection,
    report: RefreshReport,
    dataset: Dataset,
    asset: str,
    fetch: Callable[[list[str], date, date], pd.DataFrame],
    log: Callable[[str], None],
    reload_from: Callable[[str, pd.DataFrame], date | None] | None = None,
    require_any: bool = True,
    check: Callable[[str, pd.DataFrame], None] | None = None,
) -> RefreshReport:
    """Fetch, validate, check and load key by key; failures are logged per key and
    collected. `check(key, frame)` raises for rows the warehouse would reject."""
    for (start, end), keys in sorted(report.windows.items()):
        log(f"{report.provider}: {dataset.name} for {len(keys)} key(s), {start} .. {end}")
        for key in keys:
            try:
                frame = validate(fetch([key], start, end), dataset, report.provider)
                status, window = "success", (start, end)
                restart = reload_from(key, frame) if reload_from else None
                if restart is not None:
                    log(f"{report.provider}: {key}: stored history was re-based, reloading it")
                    window = (restart, end)
                    frame = validate(fetch([key], restart, end), dataset, report.provider)
                    status = "restated"
                    report.restated.append(key)
                check_asked_for(frame, dataset, report.provider, key, window)
                if check is not None:
                    check(key, frame)
                result = load_frame(
                    con,
                    table=report.table,
                    dataset=dataset,
                    frame=frame,
                    asset=asset,
                    provider=report.provider,
                    window=window,
                    scope=key,
                    status=status,
                )
            except Exception as exc:  # one key's failure must not lose the others
                message = str(exc)
                if not (isinstance(exc, LoadError) and exc.load_id):  # the loader logged it
                    record_failure(
                        con,
                        asset=asset,
                        provider=report.provider,
                        window=(start, end),
                        error=message,
                        scope=key,
                    )
                report.failures[key] = message
                log(f"{report.provider}: {key}: FAILED: {message.splitlines()[0]}")
                continue
            report.loads.append(result)
        log(
            f"{report.provider}: raw.{report.table} +{report.inserted} new, "
            f"{report.updated} updated, {report.unchanged} unchanged so far"
        )
    attempted = sum(len(keys) for keys in report.windows.values())
    if require_any and attempted and len(report.failures) == attempted:
        raise RefreshError(f"every key failed for raw.{report.table}: {report.failures}")
    return report


class RefreshError(RuntimeError):
    """Nothing could be loaded at all: the provider or its configuration is wrong."""


ADJUSTMENT_TOLERANCE = 1e-6
# The bounds of the in_range test of stg_market__prices.daily_return (price / previous
# price - 1, price being adj_close where present, else close).
RETURN_BOUNDS = (-0.95, 10.0)


def check_returns(
    con: duckdb.DuckDBPyConnection, provider: str, symbol: str, frame: pd.DataFrame
) -> None:
    """Refuse prices whose daily return, over the symbol's sessions as they would be
    stored (the frame's rows in place of the stored ones), leaves `RETURN_BOUNDS`; only
    returns to or from the frame's rows are judged, so the stored sessions read are those
    among the frame's and the one either side of them."""
    if frame.empty:
        return
    new = pd.DataFrame(
        {
            "session_date": frame["session_date"].dt.normalize(),
            "price": frame["adj_close"].fillna(frame["close"]),
            "is_new": True,
        }
    )
    first, last = new["session_date"].min().date(), new["session_date"].max().date()
    rows = con.execute(
        """
        select session_date, coalesce(adj_close, close)
        from raw.prices
        where symbol = $symbol
            and session_date >= coalesce(
                (select max(session_date) from raw.prices
                where symbol = $symbol and session_date < $first), $first)
            and session_date <= coalesce(
                (select min(session_date) from raw.prices
                where symbol = $symbol and session_date > $last), $last)
        """,
        {"symbol": symbol, "first": first, "last": last},
    ).fetchall()
    stored = pd.DataFrame(
        {
            "session_date": pd.to_datetime(pd.Series([r[0] for r in rows], dtype="object")),
            "price": pd.Series([r[1] for r in rows], dtype="float64"),
            "is_new": False,
        }
    )
    stored = stored[~stored["session_date"].isin(new["session_date"])]
    series = pd.concat([new, stored], ignore_index=True).sort_values(
        "session_date", ignore_index=True
    )
    previous = series.shift()
    change = series["price"] / previous["price"] - 1
    judged = series["is_new"] | previous["is_new"].eq(True)
    low, high = RETURN_BOUNDS
    jumps = series[judged & change.notna() & ~change.between(low, high)].index
    if len(jumps) == 0:
        return
    shown = "; ".join(
        f"{previous.at[i, 'session_date'].date()} {previous.at[i, 'price']:.10g} -> "
        f"{series.at[i, 'session_date'].date()} {series.at[i, 'price']:.10g} ({change[i]:+.2%})"
        for i in jumps[:5]
    )
    more = f"; and {len(jumps) - 5} more" if len(jumps) > 5 else ""
    raise BoundaryError(
        f"provider {provider!r}: symbol {symbol!r}: {len(jumps)} daily return(s) outside "
        f"{low:+.0%} .. {high:+.0%}, the bounds the warehouse tests (price = adj_close, "
        f"else close): {shown}{more}"
    )


def adjustment_changed(con: duckdb.DuckDBPyConnection, symbol: str, frame: pd.DataFrame) -> bool:
    """True when the frame's adjusted closes disagree with stored ones on shared sessions."""
    if frame.empty or frame["adj_close"].isna().all():
        return False
    incoming = frame.loc[frame["adj_close"].notna(), ["session_date", "adj_close"]]
    con.register("incoming_adjusted", incoming)
    try:
        # fetchall, not fetchone: DuckDB refuses other work on a half-read result.
        [(differs,)] = con.execute(
            """
            select count(*)
            from raw.prices as stored
            inner join incoming_adjusted as new
                on stored.session_date = cast(new.session_date as date)
            where stored.symbol = ?
                and stored.adj_close is not null
                and abs(stored.adj_close - new.adj_close) > ? * abs(stored.adj_close)
            """,
            [symbol, ADJUSTMENT_TOLERANCE],
        ).fetchall()
    finally:
        con.unregister("incoming_adjusted")
    return differs > 0


def _reaching_back_to(
    step_back: Callable[[date], date], window_start: date | None
) -> Callable[[date], date]:
    """A backfill of [window_start, end] re-reads the whole range whatever is stored."""
    if window_start is None:
        return step_back
    return lambda last: min(step_back(last), window_start)


def _plan_daily(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key_column: str,
    date_column: str,
    keys: list[str],
    settings: Settings,
    provider: str,
    window_start: date | None,
) -> dict[Window, list[str]]:
    """Windows for a daily table: the lookback in sessions, widened to a backfill range."""
    return plan_windows(
        con,
        table,
        key_column,
        date_column,
        keys,
        settings.history_start,
        settings.end_date,
        _reaching_back_to(
            lambda last: sessions_before(last, settings.lookback_sessions), window_start
        ),
        provider=provider,
    )


def refresh_prices(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
    window_start: date | None = None,
) -> RefreshReport:
    windows = _plan_daily(
        con,
        "prices",
        "symbol",
        "session_date",
        universe.symbols,
        settings,
        provider.name,
        window_start,
    )
    report = RefreshReport("prices", provider.name, windows)

    def reload_from(symbol: str, frame: pd.DataFrame) -> date | None:
        if not adjustment_changed(con, symbol, frame):
            return None
        # fetchall: a half-read result would block the checks that follow.
        [(first,)] = con.execute(
            "select min(session_date) from raw.prices where symbol = ?", [symbol]
        ).fetchall()
        return min(first, settings.history_start) if first else settings.history_start

    return _run(
        con,
        report,
        PRICES,
        "raw/prices",
        provider.prices,
        log,
        reload_from,
        check=lambda symbol, frame: check_returns(con, provider.name, symbol, frame),
    )


# (lower, upper) limits of the Fed's target range: lower must stay below upper, as the
# blocking raw check rates_are_plausible requires.
TARGET_RANGE = ("DFEDTARL", "DFEDTARU")


def check_target_range(
    con: duckdb.DuckDBPyConnection, provider: str, series_id: str, frame: pd.DataFrame
) -> None:
    """Refuse a target-range limit that is not strictly on its side of the stored other
    limit on the same dates. The two series load one after the other, so a provider that
    restates both limits across each other on past dates has the first refused for one
    refresh (named in the log); the next refresh, against the restated other, loads it."""
    if series_id not in TARGET_RANGE or frame.empty:
        return
    lower_is_new = series_id == TARGET_RANGE[0]
    other = TARGET_RANGE[1] if lower_is_new else TARGET_RANGE[0]
    incoming = frame[["observation_date", "value"]]
    con.register("incoming_rates", incoming)
    try:
        inverted = con.execute(
            """
            select stored.observation_date, new.value, stored.value
            from incoming_rates as new
            inner join raw.rates as stored
                on stored.observation_date = cast(new.observation_date as date)
            where stored.series_id = ?
                and (case when ? then new.value >= stored.value else stored.value >= new.value end)
            order by 1
            """,
            [other, lower_is_new],
        ).fetchall()
    finally:
        con.unregister("incoming_rates")
    if inverted:
        lower, upper = (series_id, other) if lower_is_new else (other, series_id)
        shown = ", ".join(
            f"{day} ({lower} {new if lower_is_new else old:g}, {upper} "
            f"{old if lower_is_new else new:g})"
            for day, new, old in inverted[:5]
        )
        more = f" and {len(inverted) - 5} more" if len(inverted) > 5 else ""
        raise BoundaryError(
            f"provider {provider!r}: series {series_id!r}: the target range's lower limit "
            f"{lower} is not below its upper limit {upper} (stored) on {len(inverted)} "
            f"date(s): {shown}{more}"
        )


def refresh_rates(
    con: duckdb.DuckDBPyConnection,
    provider: MarketDataProvider,
    universe: Universe,
    settings: Settings,
    log: Callable[[str], None] = print,
    window_start: date | None = None,
) -> RefreshReport:
    windows = _plan_daily(
        con,
        "rates",
        "series_id",
        "observation_date",
        universe.series_ids,
        settings,
        provider.name,
        window_start,
    )
    report = RefreshReport("rates", provider.name, windows)
    return _run(
        con,
        report,
        RATES,
        "raw/rates",
        provider.rates,
        log,
        check=lambda series_id, frame: check_target_range(con, provider.name, series_id, frame),
    )


def load_landing_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    name: str,
    log: Callable[[str], None] = print,
) -> RefreshReport:
    """Load one dropped estimates file (the landing sensor's run), nothing else."""
    report = RefreshReport("earnings_estimates", "landing")
    landing = process_landing_zone(con, estimates_zone(settings), log, only=name)
    report.loads.extend(item.result for item in landing.loaded)
    for file_name, reason in {**landing.quarantined, **landing.failed}.items():
        report.failures[f"landing file {file_name}"] = reason
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
    # Estimates may come only from analysts' drops in the landing zone, so a provider
    # without them fails its check but not the refresh.
    _run(
        con, report, ESTIMATES, "raw/earnings_estimates", provider.estimates, log, require_any=False
    )
    landing = process_landing_zone(con, estimates_zone(settings), log)
    report.loads.extend(item.result for item in landing.loaded)
    for name, reason in {**landing.quarantined, **landing.failed}.items():
        report.failures[f"landing file {name}"] = reason
    return report


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
