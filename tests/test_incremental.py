"""Incremental builds: after new sessions and a restatement of old prices, the models
built incrementally equal a full rebuild of the same raw data, table by table.

Every text, date, integer and boolean value must match exactly. Floating values must match
to 1e-12 relative: DuckDB evaluates rolling aggregates (product, avg, stddev, corr over
trailing rows) with segment trees whose summation order depends on the length of the
partition, so even two full builds over histories of different lengths differ in the
last bits for the same session (measured: at most 2e-14 here).
"""

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import copy_of_built
from tests.dbt_cli import run_dbt, target_path
from tests.table_equality import assert_same_contents, table_contents

pytestmark = [pytest.mark.slow, pytest.mark.long]

CHECKED_SCHEMAS = ("staging", "intermediate", "marts")
SCHEMA_FILTER = "where schema_name in (" + ", ".join(f"'{s}'" for s in CHECKED_SCHEMAS) + ")"


def dbt(warehouse: Path, tmp_path: Path, *args: str, exclude: tuple[str, ...] = ()) -> None:
    """`dbt build` as the nightly runs it, without the unit tests (they check SQL against
    hand-made rows, not the warehouse: tests/test_dbt_unit_tests.py runs them)."""
    done = run_dbt(
        warehouse, tmp_path, "build", *args, "--exclude", "resource_type:unit_test", *exclude
    )
    assert done.returncode == 0, done.stdout + done.stderr


def checksums(warehouse: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            f"select schema_name, table_name from duckdb_tables() {SCHEMA_FILTER} order by 1, 2"
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(
                f"select count(*), sum(hash(t)) from {schema}.{table} t"
            ).fetchone()
            for schema, table in tables
        }


def contents(warehouse: Path) -> dict[str, pd.DataFrame]:
    return table_contents(warehouse, SCHEMA_FILTER)


def history_hash(warehouse: Path, table: str, before: str) -> tuple[int, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"select count(*), sum(hash(t)) from {table} t where session_date < ?", [before]
        ).fetchone()


def recompute_points(warehouse: Path) -> dict[str, object]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select model_name, prices_ingested_through from meta.incremental_state"
            ).fetchall()
        )


def checked_from(warehouse: Path) -> dict[str, str | None]:
    """Per incremental model, the earliest value its last build wrote (tests check from it)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select model_name, checked_column, checked_from::varchar from meta.incremental_state"
        ).fetchall()
    return {model: f"{column} {since}" for model, column, since in rows}


@pytest.fixture
def warehouse(built, tmp_path) -> Path:
    """A copy of the shared full build."""
    return copy_of_built(built, tmp_path)


@pytest.fixture(scope="module")
def held_back_build(built, tmp_path_factory) -> Path:
    """The shared build with the last five sessions held back in main.held_back, rebuilt in
    full from what is left (one full build for the tests that start there)."""
    folder = tmp_path_factory.mktemp("held_back")
    copy = copy_of_built(built, folder)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "create table main.held_back as "
            "select * from raw.prices where session_date > '2024-03-28'"
        )
        con.execute("delete from raw.prices where session_date > '2024-03-28'")
    dbt(copy, folder, "--full-refresh")
    return copy


@pytest.fixture
def held_back(held_back_build, tmp_path) -> Path:
    """A copy of held_back_build of the test's own."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(held_back_build, copy)
    return copy


def test_incremental_build_after_new_sessions_and_a_restatement_equals_a_full_build(
    held_back, tmp_path
):
    # The last five sessions held back, the models built in full from what is left.
    warehouse = held_back
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (held,) = con.execute("select count(*) from main.held_back").fetchone()
    assert held == 36 * 5
    assert set(checked_from(warehouse).values()) == {
        "session_date 0001-01-01",
        "period_end 0001-01-01",
        "streak_start 0001-01-01",
        "week_ending 0001-01-01",
        "peak_date 0001-01-01",
    }
    before = checksums(warehouse)
    untouched = {
        table: history_hash(warehouse, table, "2023-08-01")
        for table in (
            "staging.stg_market__prices",
            "intermediate.int_pair_returns_daily",
            "marts.divergence_daily",
        )
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (last,) = con.execute("select max(session_date) from marts.divergence_daily").fetchone()
    assert str(last) == "2024-03-28"

    # An incremental run with nothing new changes nothing.
    dbt(warehouse, tmp_path)
    assert checksums(warehouse) == before
    # ... and writes nothing, so its data tests had no rows to check
    assert set(checked_from(warehouse).values()) == {
        "session_date None",
        "period_end None",
        "streak_start None",
        "week_ending None",
        "peak_date None",
    }

    # Five new sessions arrive, and SPX is restated on three sessions of August 2023.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into raw.prices "
            "select * replace (now()::timestamp as ingested_at) from main.held_back"
        )
        con.execute("drop table main.held_back")
        (restated,) = con.execute(
            "update raw.prices set open = open * 1.01, high = high * 1.01, low = low * 1.01, "
            "close = close * 1.01, adj_close = adj_close * 1.01, "
            "ingested_at = now()::timestamp "
            "where symbol = 'SPX' and session_date between '2023-08-01' and '2023-08-03'"
        ).fetchone()
    assert restated == 3
    # ... and IWM is restated to half its price on one session of a stretch below the high
    # of iwm_vs_qqq's rs_line, which makes that session the lowest of its period.
    with duckdb.connect(str(warehouse)) as con:
        dip, dip_rs_line, dip_high = con.execute(
            "select session_date, rs_line, rs_line_high from marts.divergence_daily "
            "where pair_id = 'iwm_vs_qqq' and session_date >= '2023-10-16' "
            "and sessions_since_rs_high > 0 order by session_date limit 1"
        ).fetchone()
        con.execute(
            "update raw.prices set open = open / 2, high = high / 2, low = low / 2, "
            "close = close / 2, adj_close = adj_close / 2, ingested_at = now()::timestamp "
            "where symbol = 'IWM' and session_date = ?",
            [dip],
        )
    # The two marts that read prices themselves are first built alone, on upstream tables
    # that have not caught up: the build after them must still bring them level.
    alone = run_dbt(
        warehouse,
        tmp_path,
        "run",
        "--select",
        "relative_cycles",
        "stock_performance_weekly",
        "--exclude",
        "resource_type:seed",
    )
    assert alone.returncode == 0, alone.stdout
    dbt(warehouse, tmp_path)
    incremental = checksums(warehouse)
    incremental_contents = contents(warehouse)
    state = recompute_points(warehouse)
    # The restated SPX sessions are the earliest rows written, in every model; the runs
    # are rebuilt from the start of the run that was going on then.
    written = checked_from(warehouse)
    rebuilt_runs_from = written.pop("outperformance_streaks")
    assert "streak_start 2023-06-01" <= rebuilt_runs_from < "streak_start 2023-08-01"
    # the periods from the last high of rs_line before the restatement
    assert written.pop("relative_cycles") < "peak_date 2023-08-01"
    assert written == {
        "stg_market__prices": "session_date 2023-08-01",
        "int_pair_returns_daily": "session_date 2023-08-01",
        "int_pair_streaks": "period_end 2023-08-01",
        "divergence_daily": "session_date 2023-08-01",
        # the ISO week of the restated sessions ends on Friday 2023-08-04
        "int_pair_returns_weekly": "week_ending 2023-08-04",
        "divergence_weekly": "week_ending 2023-08-04",
        "stock_performance_weekly": "week_ending 2023-08-04",
    }
    # Rows before the first restated session were kept, not recomputed.
    for table, expected in untouched.items():
        assert history_hash(warehouse, table, "2023-08-01") == expected, table

    full = tmp_path / "full.duckdb"
    shutil.copyfile(warehouse, full)
    dbt(full, tmp_path, "--full-refresh")
    assert_same_contents(incremental_contents, contents(full))
    # ... and the restatements did reach the marts: the halved IWM session is the trough
    # of its period, which starts from the high of rs_line it was below
    cycles = incremental_contents["marts.relative_cycles"]
    at_dip = pd.to_datetime(cycles["trough_date"]) == pd.Timestamp(dip)
    (period,) = cycles[(cycles["pair_id"] == "iwm_vs_qqq") & at_dip].itertuples()
    assert period.trough_rs_line == pytest.approx(dip_rs_line / 2, rel=1e-12)
    assert period.peak_rs_line == pytest.approx(dip_high, rel=1e-12)
    assert period.depth == pytest.approx(dip_rs_line / 2 / dip_high - 1, rel=1e-12)
    # SPX pairs differ from before
    assert incremental["marts.divergence_daily"] != before["marts.divergence_daily"]
    # six pairs (one of them on the mag7 basket), five new sessions
    assert incremental["marts.divergence_daily"][0] == before["marts.divergence_daily"][0] + 30
    assert set(state) == {
        "stg_market__prices",
        "int_pair_returns_daily",
        "int_pair_streaks",
        "divergence_daily",
        "outperformance_streaks",
        "int_pair_returns_weekly",
        "divergence_weekly",
        "relative_cycles",
        "stock_performance_weekly",
    }


def test_data_tests_after_an_incremental_build_check_the_rows_it_wrote(held_back, tmp_path):
    warehouse = held_back

    # A duplicate planted deep in history, outside every window of the new session (the
    # z-score's reaches 272 sessions back): the rows a nightly build writes are clean, so
    # its tests pass without reading the old sessions again...
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into marts.divergence_daily select * from marts.divergence_daily "
            "where pair_id = 'rsp_vs_spy' and session_date = '2022-06-01'"
        )
        con.execute(
            "insert into raw.prices "
            "select * replace (now()::timestamp as ingested_at) from main.held_back "
            "where session_date = '2024-04-01'"
        )
    dbt(warehouse, tmp_path)
    assert checked_from(warehouse)["divergence_daily"] == "session_date 2024-04-01"
    compiled = next(target_path(tmp_path).rglob("row_rules_divergence_daily.sql"))
    assert "session_date >= date '2024-04-01'" in compiled.read_text()
    _scoped_run_checks_catch_a_wrong_rank_and_a_lost_current_run(warehouse, tmp_path)

    # ... a full check finds it, naming the test and the failing rows, and leaves every
    # row pending, so that even a plain `dbt test` checks all of them until one passes.
    full = run_dbt(
        warehouse, tmp_path, "test", "--vars", "{full_checks: true}", "-s", "divergence_daily"
    )
    assert full.returncode != 0
    assert "row_rules_divergence_daily" in full.stdout
    assert "Got 2 results" in full.stdout  # both rows of the duplicated key
    assert pending_from(warehouse) == "0001-01-01"
    plain = run_dbt(warehouse, tmp_path, "test", "-s", "divergence_daily")
    assert plain.returncode != 0
    assert "row_rules_divergence_daily" in plain.stdout

    # Repaired, the tests pass and the rows count as verified.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from marts.divergence_daily "
            "where pair_id = 'rsp_vs_spy' and session_date = '2022-06-01' "
            "and rowid = (select max(rowid) from marts.divergence_daily "
            "where pair_id = 'rsp_vs_spy' and session_date = '2022-06-01')"
        )
    repaired = run_dbt(warehouse, tmp_path, "test", "-s", "divergence_daily")
    assert repaired.returncode == 0, repaired.stdout
    assert pending_from(warehouse) is None

    # A bad row among those written is caught by the scoped tests...
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.divergence_daily set spread_1d = spread_1d + 0.01 "
            "where pair_id = 'rut_vs_spx' and session_date = '2024-04-01'"
        )
    scoped = run_dbt(warehouse, tmp_path, "test", "-s", "divergence_daily")
    assert scoped.returncode != 0
    assert "row_rules_divergence_daily" in scoped.stdout
    assert "Got 1 result" in scoped.stdout

    # ... and stays pending: the next nightly build, with no new session, checks it again
    # and fails again rather than moving on.
    again = run_dbt(warehouse, tmp_path, "build", "--exclude", "resource_type:unit_test")
    assert again.returncode != 0
    assert "row_rules_divergence_daily" in again.stdout
    assert pending_from(warehouse) == "2024-04-01"

    # Running only some of a model's tests verifies nothing.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.divergence_daily set spread_1d = spread_1d - 0.01 "
            "where pair_id = 'rut_vs_spx' and session_date = '2024-04-01'"
        )
    some = run_dbt(warehouse, tmp_path, "test", "-s", "test_type:singular,divergence_daily")
    assert some.returncode == 0, some.stdout
    assert pending_from(warehouse) == "2024-04-01"


def _scoped_run_checks_catch_a_wrong_rank_and_a_lost_current_run(
    warehouse: Path, tmp_path: Path
) -> None:
    """The singular test on the runs, scoped to the runs the build wrote: a rank off by one
    on a written run and a current run that lost its flag fail it; a rank off on a run
    written long before is left to full checks. Everything is put back afterwards."""
    singular = ("test", "-s", "assert_run_ranks_and_current_runs_hold")
    clean = run_dbt(warehouse, tmp_path, *singular)
    assert clean.returncode == 0, clean.stdout
    runs = "marts.outperformance_streaks"
    with duckdb.connect(str(warehouse)) as con:
        (since,) = con.execute(
            "select least(checked_from, unverified_from) from meta.incremental_state "
            "where model_name = 'outperformance_streaks'"
        ).fetchone()
        assert "2023-01-01" < str(since) < "2024-04-01"  # the runs the new session continued
        pick = (
            f"select pair_id, frequency, streak_start from {runs} where {{}} order by all limit 1"
        )
        written = con.execute(pick.format("streak_start >= ?"), [since]).fetchone()
        old = con.execute(pick.format("streak_start < ?::date - 400"), [since]).fetchone()
        current = con.execute(pick.format("is_current")).fetchone()
        planted = ((written, "rank_in_history + 1"), (old, "rank_in_history + 1"), (current, None))
        _set_runs(con, planted)
    broken = run_dbt(warehouse, tmp_path, *singular)
    assert broken.returncode != 0
    assert "Got 2 results" in broken.stdout
    with duckdb.connect(str(warehouse)) as con:
        _set_runs(
            con, ((written, "rank_in_history - 1"), (old, "rank_in_history - 1"), (current, None))
        )


def _set_runs(
    con: duckdb.DuckDBPyConnection, changes: tuple[tuple[tuple, str | None], ...]
) -> None:
    """Per run (pair_id, frequency, streak_start): its rank set to the expression given, or
    with None its current flag flipped."""
    for (pair_id, frequency, start), rank in changes:
        change = f"rank_in_history = {rank}" if rank else "is_current = not is_current"
        con.execute(
            "update marts.outperformance_streaks set "
            + change
            + " where pair_id = ? and frequency = ? and streak_start = ?",
            [pair_id, frequency, start],
        )


def _bring_back_dropped_pair(warehouse: Path, table: str, pair_id: str) -> None:
    """The pair kept in main.dropped has no rows left in `table`; it goes back to the seed."""
    with duckdb.connect(str(warehouse)) as con:
        (left,) = con.execute(
            f"select count(*) from {table} where pair_id = ?", [pair_id]
        ).fetchone()
        assert left == 0
        con.execute("insert into universe.pairs select * from main.dropped")
        con.execute("drop table main.dropped")


def pending_from(warehouse: Path) -> str | None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (pending,) = con.execute(
            "select unverified_from::varchar from meta.incremental_state "
            "where model_name = 'divergence_daily'"
        ).fetchone()
    return pending


def _mag7_levels(warehouse: Path) -> pd.Series:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return (
            con.execute(
                "select session_date, short_price from marts.divergence_daily "
                "where pair_id = 'rut_vs_mag7' order by session_date"
            )
            .df()
            .set_index("session_date")["short_price"]
        )


def test_pairs_whose_legs_change_or_that_return_are_rebuilt_whole(warehouse, tmp_path):
    # The seed is edited in the warehouse, so the builds leave it alone.
    no_seeds = ("--exclude", "resource_type:seed")
    # relative_cycles too: built on a divergence_daily that has not caught up either
    runs_only = ("--select", "outperformance_streaks", "relative_cycles", *no_seeds)

    def build_runs_only() -> None:
        # `run`, not `build`: the marts beside it are stale on purpose, their tests would fail
        done = run_dbt(warehouse, tmp_path, "run", *runs_only)
        assert done.returncode == 0, done.stdout

    # `warehouse` is the shared full build: the pairs and the basket as the seeds have them
    seven = _mag7_levels(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # a member leaves the basket: every pair on it is rebuilt from the basket's start
        con.execute("delete from universe.baskets where basket_id = 'mag7' and symbol = 'TSLA'")
        con.execute("update universe.pairs set short_symbol = 'NDX' where pair_id = 'rut_vs_spx'")
        con.execute(
            "create table main.dropped as select * from universe.pairs where pair_id = 'iwm_vs_qqq'"
        )
        con.execute("delete from universe.pairs where pair_id = 'iwm_vs_qqq'")
    # A pair leaves and comes back while only the runs (and underwater periods) are built:
    # its periods upstream never changed, so only the legs last built with tell it is back.
    build_runs_only()
    _bring_back_dropped_pair(warehouse, "marts.outperformance_streaks", "iwm_vs_qqq")
    build_runs_only()
    # Another pair leaves while every model is built, and comes back: each pair model
    # dropped its rows, and must not resume it from the last session it once held.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table main.dropped as select * from universe.pairs where pair_id = 'rsp_vs_spy'"
        )
        con.execute("delete from universe.pairs where pair_id = 'rsp_vs_spy'")
    done = run_dbt(warehouse, tmp_path, "run", *no_seeds)
    assert done.returncode == 0, done.stdout
    _bring_back_dropped_pair(warehouse, "marts.divergence_daily", "rsp_vs_spy")
    dbt(warehouse, tmp_path, exclude=("resource_type:seed",))
    incremental = contents(warehouse)

    full = tmp_path / "full.duckdb"
    shutil.copyfile(warehouse, full)
    dbt(full, tmp_path, "--full-refresh", exclude=("resource_type:seed",))
    assert_same_contents(incremental, contents(full))
    runs = incremental["marts.outperformance_streaks"]
    assert (runs["pair_id"] == "iwm_vs_qqq").sum() > 100
    daily = incremental["marts.divergence_daily"]
    assert set(daily.loc[daily["pair_id"] == "rut_vs_spx", "short_symbol"]) == {"NDX"}
    sessions = (daily["pair_id"] == "rut_vs_ixic").sum()
    assert (daily["pair_id"] == "rsp_vs_spy").sum() == sessions > 600
    six = _mag7_levels(warehouse)
    assert list(six.index) == list(seven.index)
    assert six.iloc[0] == seven.iloc[0] == 100.0
    # from the second session on, the six-member basket is another series altogether
    assert (six.iloc[1:] != seven.iloc[1:]).all()
