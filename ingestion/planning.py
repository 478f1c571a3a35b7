"""Which window of dates to ask a provider for, key by key, given what is stored.

A refresh asks from the last stored date minus a lookback (so restatements of the last
few sessions are picked up and counted as updates) to the end date; keys with nothing
stored, or stored from another provider, start at HISTORY_START. A backfill of a date
range re-reads at least that whole range. Keys that need the same window are asked for
together.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from ingestion.calendar import sessions_before
from ingestion.config import Settings
from ingestion.schemas import Dataset

ESTIMATE_LOOKBACK = timedelta(days=62)
Window = tuple[date, date]


@dataclass(frozen=True)
class Reach:
    """How far back a plan reaches: a key with rows stored restarts at `step_back` of its
    last stored date (never before `history_start`), any other key at `history_start`; all
    end at `end`. With `provider`, a key whose latest row came from another source starts
    over."""

    history_start: date
    end: date
    step_back: Callable[[date], date]
    provider: str | None = None


def plan(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, keys: list[str], reach: Reach
) -> dict[Window, list[str]]:
    """Group `keys` of the dataset's table by the window each needs; keys already complete
    past `reach.end` are left out."""
    stored = _latest(con, dataset.table, dataset.scope_column, dataset.date_column)
    return _group(stored, keys, reach)


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
    """`plan` for a table named by its key and date columns rather than by a Dataset."""
    stored = _latest(con, table, key_column, date_column)
    return _group(stored, keys, Reach(history_start, end, step_back, provider))


def daily_reach(settings: Settings, provider: str, window_start: date | None = None) -> Reach:
    """A daily table's: the lookback in sessions, widened to a backfill from `window_start`."""

    def step_back(last: date) -> date:
        start = sessions_before(last, settings.lookback_sessions)
        return start if window_start is None else min(start, window_start)

    return Reach(settings.history_start, settings.end_date, step_back, provider)


def estimates_reach(settings: Settings) -> Reach:
    """Estimate snapshots: `ESTIMATE_LOOKBACK` before the last one stored, whoever sent it."""
    return Reach(settings.history_start, settings.end_date, lambda last: last - ESTIMATE_LOOKBACK)


def _latest(
    con: duckdb.DuckDBPyConnection, table: str, key_column: str, date_column: str
) -> dict[str, tuple[date, str]]:
    """Key -> (last stored date, the source of that row)."""
    return {
        key: (last, source)
        for key, last, source in con.execute(
            f"select {key_column}, max({date_column}), arg_max(source, {date_column}) "
            f"from raw.{table} group by all"
        ).fetchall()
    }


def _group(
    stored: dict[str, tuple[date, str]], keys: list[str], reach: Reach
) -> dict[Window, list[str]]:
    windows: dict[Window, list[str]] = defaultdict(list)
    for key in keys:
        last, source = stored.get(key, (None, None))
        switched = reach.provider is not None and source is not None and source != reach.provider
        if last is None or switched:
            start = reach.history_start
        else:
            start = max(reach.history_start, reach.step_back(last))
        if start <= reach.end:
            windows[(start, reach.end)].append(key)
    return dict(windows)
