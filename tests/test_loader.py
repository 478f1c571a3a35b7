"""The DuckDB loader: counts, idempotency, restatements, rollback, incremental windows."""

from datetime import date

import duckdb
import pandas as pd
import pytest

from ingestion.calendar import sessions_before, sessions_between
from ingestion.config import Settings
from ingestion.loader import (
    LoadError,
    check_counts,
    check_touched,
    load_frame,
)
from ingestion.planning import plan_windows
from ingestion.providers.sample import SampleProvider
from ingestion.refresh import refresh_prices, refresh_rates
from ingestion.schemas import PRICES, Dataset, validate


def _settings(warehouse_path, end: str, start: str = "2024-01-02") -> Settings:
    return Settings.from_env(
        {"WAREHOUSE_PATH": str(warehouse_path), "HISTORY_START": start, "SAMPLE_END_DATE": end}
    )


def _prices(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["symbol", "session_date", "close"])
    frame["open"] = frame["close"]
    frame["high"] = frame["close"] + 1
    frame["low"] = frame["close"] - 1
    frame["adj_close"] = frame["close"]
    frame["volume"] = 1000
    frame["source"] = "test"
    return validate(frame, PRICES, "test")


def _content(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from raw.{table} order by all").fetchall()


def _load(con, frame):
    return load_frame(
        con,
        table="prices",
        dataset=PRICES,
        frame=frame,
        asset="raw/prices",
        provider="test",
        window=(date(2024, 1, 2), date(2024, 1, 4)),
    )


FIRST = [("RUT", "2024-01-02", 100.0), ("RUT", "2024-01-03", 101.0), ("SPX", "2024-01-02", 50.0)]


def test_first_load_inserts_every_row_and_logs_it(con):
    result = _load(con, _prices(FIRST))
    assert (result.received, result.inserted, result.updated, result.unchanged) == (3, 3, 0, 0)
    assert con.execute("select count(*) from raw.prices").fetchone() == (3,)
    log = con.execute(
        "select asset, provider, window_start, window_end, rows_received, rows_inserted, "
        "rows_updated, rows_unchanged, status, error from raw.load_log"
    ).fetchall()
    assert log == [
        ("raw/prices", "test", date(2024, 1, 2), date(2024, 1, 4), 3, 3, 0, 0, "success", None)
    ]


def test_reload_changes_nothing(con):
    _load(con, _prices(FIRST))
    before = _content(con, "prices")
    result = _load(con, _prices(FIRST))
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 3)
    # Same rows, same values, same ingested_at and load_id: the table is byte-for-byte equal.
    assert _content(con, "prices") == before


def test_restated_value_is_updated_and_logged(con):
    first = _load(con, _prices(FIRST))
    restated = [
        ("RUT", "2024-01-02", 100.0),
        ("RUT", "2024-01-03", 102.5),
        ("RUT", "2024-01-04", 103.0),
    ]
    result = _load(con, _prices(restated))
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 1)
    rows = con.execute(
        "select session_date, close, load_id from raw.prices where symbol = 'RUT' order by 1"
    ).fetchall()
    assert rows == [
        (date(2024, 1, 2), 100.0, first.load_id),
        (date(2024, 1, 3), 102.5, result.load_id),
        (date(2024, 1, 4), 103.0, result.load_id),
    ]
    assert con.execute(
        "select rows_inserted, rows_updated, rows_unchanged from raw.load_log where load_id = ?",
        [result.load_id],
    ).fetchone() == (1, 1, 1)


def test_failed_load_leaves_the_table_untouched(con):
    _load(con, _prices(FIRST))
    before = _content(con, "prices")
    # A restatement plus a row that breaks NOT NULL: the update happens first inside the
    # transaction, then the insert fails, and the whole load must roll back.
    bad = _prices([("RUT", "2024-01-03", 999.0), ("NDX", "2024-01-02", 10.0)])
    bad.loc[1, "close"] = None
    with pytest.raises(LoadError, match=r"raw\.prices"):
        _load(con, bad)
    assert _content(con, "prices") == before
    status, error = con.execute(
        "select status, error from raw.load_log order by started_at desc limit 1"
    ).fetchone()
    assert status == "failed"
    assert "close" in error.lower()


def test_refresh_is_incremental_with_a_lookback(con, warehouse_path, universe):
    provider = SampleProvider(universe)
    quiet = lambda _message: None  # noqa: E731
    first = refresh_prices(con, provider, universe, _settings(warehouse_path, "2024-03-28"), quiet)
    sessions = sessions_between(date(2024, 1, 2), date(2024, 3, 28))
    assert first.inserted == len(sessions) * len(universe.symbols)

    # Five sessions back from 2024-03-28 is 2024-03-21; Good Friday 03-29 is skipped.
    later = _settings(warehouse_path, "2024-04-05")
    windows = plan_windows(
        con,
        "prices",
        "symbol",
        "session_date",
        universe.symbols,
        later.history_start,
        later.end_date,
        lambda last: sessions_before(last, later.lookback_sessions),
    )
    assert list(windows) == [(date(2024, 3, 21), date(2024, 4, 5))]
    second = refresh_prices(con, provider, universe, later, quiet)
    assert second.window == (date(2024, 3, 21), date(2024, 4, 5))
    new_sessions = sessions_between(date(2024, 4, 1), date(2024, 4, 5))
    assert second.inserted == len(new_sessions) * len(universe.symbols)
    assert second.unchanged == 6 * len(universe.symbols)
    assert second.updated == 0


def test_a_new_symbol_starts_at_history_start(con, warehouse_path, universe):
    provider = SampleProvider(universe)
    settings = _settings(warehouse_path, "2024-01-31")
    quiet = lambda _message: None  # noqa: E731
    refresh_rates(con, provider, universe, settings, quiet)
    con.execute("delete from raw.rates where series_id = 'DGS10'")
    windows = plan_windows(
        con,
        "rates",
        "series_id",
        "observation_date",
        universe.series_ids,
        settings.history_start,
        settings.end_date,
        lambda last: last,
    )
    assert windows[(date(2024, 1, 2), date(2024, 1, 31))] == ["DGS10"]


def _stored(con, symbol: str) -> list[tuple]:
    return con.execute(
        "select session_date, open, close, adj_close, volume, load_id from raw.prices "
        "where symbol = ? order by session_date",
        [symbol],
    ).fetchall()


def _logged(con, load_id: str) -> tuple:
    return con.execute(
        "select rows_received, rows_inserted, rows_updated, rows_unchanged, status "
        "from raw.load_log where load_id = ?",
        [load_id],
    ).fetchone()


def test_a_missing_value_restated_to_a_value_is_updated(con):
    """null -> 100.5 is a change: `<>` would call it neither changed nor unchanged."""
    first = _prices(FIRST)
    first.loc[0, ["open", "adj_close"]] = None  # RUT 2024-01-02
    first["volume"] = pd.array([None, None, None], dtype="Int64")  # an index: no volume
    loaded = _load(con, first)
    restated = first.copy()
    restated.loc[0, ["open", "adj_close"]] = [100.5, 100.25]
    result = _load(con, restated)
    assert (result.received, result.inserted, result.updated, result.unchanged) == (3, 0, 1, 2)
    assert _logged(con, result.load_id) == (3, 0, 1, 2, "success")
    assert _stored(con, "RUT") == [
        (date(2024, 1, 2), 100.5, 100.0, 100.25, None, result.load_id),
        (date(2024, 1, 3), 101.0, 101.0, 101.0, None, loaded.load_id),
    ]


def test_a_value_restated_to_missing_is_updated(con):
    """100.0 -> null is a change too, and rows missing the same values stay unchanged."""
    first = _prices(FIRST)
    first["volume"] = pd.array([None, None, None], dtype="Int64")
    loaded = _load(con, first)
    restated = first.copy()
    restated.loc[1, ["open", "adj_close"]] = None  # RUT 2024-01-03
    result = _load(con, restated)
    assert (result.received, result.inserted, result.updated, result.unchanged) == (3, 0, 1, 2)
    assert _logged(con, result.load_id) == (3, 0, 1, 2, "success")
    assert _stored(con, "RUT") == [
        (date(2024, 1, 2), 100.0, 100.0, 100.0, None, loaded.load_id),
        (date(2024, 1, 3), None, 101.0, None, None, result.load_id),
    ]
    again = _load(con, restated)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_counts_that_do_not_add_up_fail_the_load_and_change_nothing(con):
    """A dataset keyed more loosely than its table matches each new row to several stored
    rows: the comparison then counts more rows than were received, and the load must stop
    before writing anything rather than apply the wrong updates."""
    _load(con, _prices(FIRST))
    before = _content(con, "prices")
    loose = Dataset(
        name="prices",
        keys=("symbol",),
        values=("session_date", *PRICES.values),
        schema=PRICES.schema,
    )
    restated = _prices([("RUT", "2024-01-02", 90.0), ("RUT", "2024-01-03", 91.0)])
    with pytest.raises(LoadError) as caught:
        load_frame(
            con,
            table="prices",
            dataset=loose,
            frame=restated[list(loose.columns)],
            asset="raw/prices",
            provider="test",
            window=(date(2024, 1, 2), date(2024, 1, 3)),
        )
    assert str(caught.value) == (
        "provider 'test': loading 2 rows into raw.prices for 2024-01-02 .. 2024-01-03 failed, "
        "nothing was changed: raw.prices: the counts do not add up: received 2 rows but "
        "inserted 0 + updated 4 + unchanged 0 = 4"
    )
    assert _content(con, "prices") == before
    assert con.execute(
        "select rows_received, rows_inserted, rows_updated, rows_unchanged, status from "
        "raw.load_log order by started_at desc limit 1"
    ).fetchone() == (2, 0, 0, 0, "failed")


def test_the_count_checks_name_table_and_counts():
    check_counts("raw.rates", 3, 1, 1, 1)
    check_touched("raw.rates", "updated", 2, 2)
    check_touched("raw.rates", "updated", 2, None)  # nothing reported: nothing to compare
    with pytest.raises(LoadError) as caught:
        check_counts("raw.rates", 3, 0, 0, 2)
    assert str(caught.value) == (
        "raw.rates: the counts do not add up: received 3 rows but inserted 0 + updated 0 + "
        "unchanged 2 = 2"
    )
    with pytest.raises(LoadError) as caught:
        check_touched("raw.rates", "inserted", 2, 1)
    assert (
        str(caught.value)
        == "raw.rates: 2 rows were counted as inserted but the statement inserted 1"
    )
