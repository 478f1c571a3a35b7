"""The rules a key's rows must keep before they are loaded, beyond the frame schema.

Providers answer only for the key and the window asked for (`check_asked_for`). Prices
must give daily returns inside the bounds the warehouse tests (`RETURN_BOUNDS`) against
the stored sessions around them (`check_returns`), and the Fed's target range must keep
its lower limit below the stored upper one, and the other way round
(`check_target_range`). Each raises `BoundaryError` naming provider, key and dates. Also
here: whether a provider's adjusted closes disagree with the stored ones
(`adjustment_changed`), the sign that a dividend or split re-based a symbol's history.

Both price rules are one query over a batch of symbols' frames (`symbols_out_of_bounds`,
`symbols_adjusted`): a nightly asks them of every symbol for a few rows each, and a query
per symbol costs more than the rows. The single-symbol functions ask the same query of
one frame, and give the reasons.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import pandas as pd

from ingestion.planning import Window
from ingestion.schemas import Dataset


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[None]:
    """`frame` readable as the view `name` for the duration of the block."""
    con.register(name, frame)
    try:
        yield
    finally:
        con.unregister(name)


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
    jumps = _returns_out_of_bounds(con, {symbol: frame})
    if not jumps:
        return
    low, high = RETURN_BOUNDS
    shown = "; ".join(
        f"{before} {before_price:.10g} -> {day} {price:.10g} ({change:+.2%})"
        for _, before, before_price, day, price, change in jumps[:5]
    )
    more = f"; and {len(jumps) - 5} more" if len(jumps) > 5 else ""
    raise BoundaryError(
        f"provider {provider!r}: symbol {symbol!r}: {len(jumps)} daily return(s) outside "
        f"{low:+.0%} .. {high:+.0%}, the bounds the warehouse tests (price = adj_close, "
        f"else close): {shown}{more}"
    )


def symbols_out_of_bounds(
    con: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame]
) -> set[str]:
    """The symbols whose frame `check_returns` refuses, from one query over all the
    frames."""
    return {symbol for symbol, *_ in _returns_out_of_bounds(con, frames)}


@contextmanager
def _incoming_prices(
    con: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame]
) -> Iterator[None]:
    """The rows of `frames` as the view `incoming_prices`: each frame's rows under its key
    (`symbol`), their session as a date and their price (adj_close, else close)."""
    parts = [
        pd.DataFrame(
            {
                "symbol": symbol,
                "session_date": frame["session_date"].dt.normalize(),
                "adj_close": frame["adj_close"],
                "price": frame["adj_close"].fillna(frame["close"]),
            }
        )
        for symbol, frame in frames.items()
        if not frame.empty
    ]
    with _registered(con, "incoming_prices", pd.concat(parts, ignore_index=True)):
        yield


def _returns_out_of_bounds(
    con: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame]
) -> list[tuple]:
    """(symbol, previous session, its price, session, price, return) of each return to or
    from a frame's rows that leaves `RETURN_BOUNDS`, by symbol and session."""
    if all(frame.empty for frame in frames.values()):
        return []
    low, high = RETURN_BOUNDS
    with _incoming_prices(con, frames):
        return con.execute(
            """
            with new as (
                select symbol, cast(session_date as date) as session_date, price,
                    true as is_new
                from incoming_prices
            ),
            edges as (
                select symbol, min(session_date) as first_new, max(session_date) as last_new
                from new
                group by symbol
            ),
            -- the stored sessions read: the frame's and the one either side of them
            reach as (
                select edges.symbol,
                    coalesce(
                        max(stored.session_date) filter (where stored.session_date < first_new),
                        first_new
                    ) as first_read,
                    coalesce(
                        min(stored.session_date) filter (where stored.session_date > last_new),
                        last_new
                    ) as last_read
                from edges
                left join raw.prices as stored on stored.symbol = edges.symbol
                group by edges.symbol, first_new, last_new
            ),
            kept as (
                select stored.symbol, stored.session_date,
                    coalesce(stored.adj_close, stored.close) as price, false as is_new
                from raw.prices as stored
                inner join reach
                    on stored.symbol = reach.symbol
                    and stored.session_date between reach.first_read and reach.last_read
                where not exists (
                    select 1 from new
                    where new.symbol = stored.symbol and new.session_date = stored.session_date
                )
            ),
            moves as (
                select symbol, session_date, price, is_new,
                    lag(is_new) over by_day as follows_new,
                    lag(session_date) over by_day as previous_date,
                    lag(price) over by_day as previous_price,
                    price / lag(price) over by_day - 1 as change
                from (select * from new union all select * from kept)
                window by_day as (partition by symbol order by session_date)
            )
            select symbol, previous_date, previous_price, session_date, price, change
            from moves
            where (is_new or follows_new) and change is not null
                and not (change between $low and $high)
            order by symbol, session_date
            """,
            {"low": low, "high": high},
        ).fetchall()


def adjustment_changed(con: duckdb.DuckDBPyConnection, symbol: str, frame: pd.DataFrame) -> bool:
    """True when the frame's adjusted closes disagree with stored ones on shared sessions."""
    return symbol in symbols_adjusted(con, {symbol: frame})


def symbols_adjusted(
    con: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame]
) -> set[str]:
    """The symbols whose frame's adjusted closes disagree with stored ones on shared
    sessions (a dividend or split re-based the history), from one query over all the
    frames."""
    if all(frame.empty for frame in frames.values()):
        return set()
    with _incoming_prices(con, frames):
        rows = con.execute(
            """
            select distinct stored.symbol
            from raw.prices as stored
            inner join incoming_prices as new
                on stored.symbol = new.symbol
                and stored.session_date = cast(new.session_date as date)
            where new.adj_close is not null and stored.adj_close is not null
                and abs(stored.adj_close - new.adj_close) > ? * abs(stored.adj_close)
            """,
            [ADJUSTMENT_TOLERANCE],
        ).fetchall()
    return {symbol for (symbol,) in rows}


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
    with _registered(con, "incoming_rates", incoming):
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
