"""marts.stock_performance_weekly on the sample market, checked against values worked out
here from the raw prices and the raw calendar, not from the models' SQL."""

import csv
import itertools
import math
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.paths import DBT_PROJECT_DIR
from tests.conftest import E2E_END

pytestmark = pytest.mark.slow

MART = "marts.stock_performance_weekly"
MAG7 = {"AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "META"}


def _seed(name: str) -> list[dict[str, str]]:
    with (DBT_PROJECT_DIR / "seeds" / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _stocks() -> dict[str, str]:
    """Stock symbol -> its sector ETF, from the instruments seed."""
    rows = _seed("instruments")
    etf_of = {row["sector"]: row["symbol"] for row in rows if row["role"] == "sector"}
    return {row["symbol"]: etf_of[row["sector"]] for row in rows if row["kind"] == "stock"}


def _week_endings(con: duckdb.DuckDBPyConnection) -> set[date]:
    """The last XNYS session of every ISO week in the raw calendar."""
    last: dict[tuple[int, int], date] = {}
    for (session,) in con.execute("select session_date from raw.sessions").fetchall():
        key = session.isocalendar()[:2]
        last[key] = max(last.get(key, session), session)
    return set(last.values())


def _prices(con: duckdb.DuckDBPyConnection, symbol: str) -> dict[date, float]:
    return dict(
        con.execute(
            "select session_date, coalesce(adj_close, close) from raw.prices where symbol = ?",
            [symbol],
        ).fetchall()
    )


def _weekly_closes(con: duckdb.DuckDBPyConnection, symbol: str) -> list[tuple[date, float]]:
    prices = _prices(con, symbol)
    return sorted((day, prices[day]) for day in _week_endings(con) if day in prices)


def _compounded_13w(closes: list[tuple[date, float]], week: date) -> float:
    """prod(1 + weekly return) - 1 over the 13 weeks ending at `week`."""
    index = [day for day, _ in closes].index(week)
    window = [price for _, price in closes[index - 13 : index + 1]]
    return math.prod(now / before for before, now in itertools.pairwise(window)) - 1


@pytest.fixture(scope="module")
def warehouse(built):
    path, _result, _instance = built
    with duckdb.connect(str(path), read_only=True) as con:
        yield con


def test_aapl_in_the_last_week_worked_by_hand(warehouse):
    week = E2E_END  # a Friday, so the last completed week of the sample
    aapl = _weekly_closes(warehouse, "AAPL")
    xlk = _weekly_closes(warehouse, "XLK")
    spx = _weekly_closes(warehouse, "SPX")
    assert aapl[-1][0] == week
    expected_13w = _compounded_13w(aapl, week)
    daily = _prices(warehouse, "AAPL")
    year_end = max(day for day in daily if day.year == week.year - 1)
    closes = [price for _, price in aapl]
    row = warehouse.execute(
        f"select sector, sector_symbol, price, return_1w, return_13w, relative_to_sector_13w, "
        f"relative_to_spx_13w, return_ytd, drawdown_from_high, drawdown_from_52w_high, "
        f"is_record_close from {MART} where symbol = 'AAPL' and week_ending = ?",
        [week],
    ).fetchone()
    assert row[:3] == ("Information Technology", "XLK", pytest.approx(closes[-1], rel=1e-15))
    assert row[3] == pytest.approx(closes[-1] / closes[-2] - 1, abs=1e-12)
    assert row[4] == pytest.approx(expected_13w, abs=1e-12)
    assert row[5] == pytest.approx(expected_13w - _compounded_13w(xlk, week), abs=1e-12)
    assert row[6] == pytest.approx(expected_13w - _compounded_13w(spx, week), abs=1e-12)
    assert row[7] == pytest.approx(closes[-1] / daily[year_end] - 1, abs=1e-12)
    assert row[8] == pytest.approx(closes[-1] / max(closes) - 1, abs=1e-12)
    assert row[9] == pytest.approx(closes[-1] / max(closes[-52:]) - 1, abs=1e-12)
    assert row[10] == (closes[-1] > max(closes[:-1]))


def test_ranks_follow_the_13_week_returns_of_all_stocks(warehouse):
    week = E2E_END
    returns = {
        symbol: _compounded_13w(_weekly_closes(warehouse, symbol), week) for symbol in _stocks()
    }
    ranks = dict(
        warehouse.execute(
            f"select symbol, rank_13w from {MART} where week_ending = ?", [week]
        ).fetchall()
    )
    expected = {
        symbol: 1 + sum(other > value for other in returns.values())
        for symbol, value in returns.items()
    }
    assert ranks == expected


def test_one_row_per_stock_per_completed_week_with_a_price(warehouse):
    week_endings = _week_endings(warehouse)
    expected = {
        (symbol, day)
        for symbol in _stocks()
        for day in _prices(warehouse, symbol)
        if day in week_endings
    }
    rows = warehouse.execute(f"select symbol, week_ending from {MART}").fetchall()
    assert len(rows) == len(set(rows))
    assert set(rows) == expected
    assert {symbol for symbol, _ in rows} == set(_stocks())
    assert max(day for _, day in rows) == E2E_END


def test_each_stock_has_the_sector_etf_of_its_sector(warehouse):
    pairs = dict(warehouse.execute(f"select distinct symbol, sector_symbol from {MART}").fetchall())
    assert pairs == _stocks()


def test_basket_ids_name_the_mag7_members_and_are_empty_for_the_others(warehouse):
    members: dict[str, list[str]] = defaultdict(list)
    for row in _seed("baskets"):
        members[row["symbol"]].append(row["basket_id"])
    assert set(members) == MAG7
    baskets = dict(warehouse.execute(f"select distinct symbol, basket_ids from {MART}").fetchall())
    assert baskets == {symbol: "mag7" if symbol in MAG7 else "" for symbol in _stocks()}


def test_the_mart_is_published_with_its_descriptions(built):
    path, _result, _instance = built
    serving: Path = path.parent / "serving"
    with duckdb.connect(str(serving / "serving.duckdb"), read_only=True) as published:
        (comment,) = published.execute(
            "select comment from duckdb_tables() where schema_name = 'marts' "
            "and table_name = 'stock_performance_weekly'"
        ).fetchone()
        undocumented = published.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' "
            "and table_name = 'stock_performance_weekly' and coalesce(comment, '') = ''"
        ).fetchall()
        (rows,) = published.execute(f"select count(*) from {MART}").fetchone()
        (parquet_rows,) = published.execute(
            "select count(*) from read_parquet(?)",
            [str(serving / "parquet" / "stock_performance_weekly.parquet")],
        ).fetchone()
    assert comment.startswith("Weekly performance of every stock")
    assert undocumented == []
    assert rows == parquet_rows > 0
