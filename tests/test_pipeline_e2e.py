"""End to end: every asset materialized by Dagster into a temporary warehouse, with real dbt."""

import json
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import exchange_calendars as xcals
import numpy as np
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from orchestration.recovery import PID_TAG
from tests.command_line import command_line_run
from tests.conftest import E2E_END, E2E_HISTORY_START, MANIFEST, materialize_sample

pytestmark = [pytest.mark.slow, pytest.mark.long]

# Sample-market closes of RUT around Good Friday 2024 (deterministic), and the return
# between them worked by hand: (1065.89 - 1079.28) / 1079.28 = -13.39 / 1079.28.
RUT_CLOSE_2024_03_28 = 1079.28
RUT_CLOSE_2024_04_01 = 1065.89
RUT_RETURN_2024_04_01 = -13.39 / 1079.28

KEYS = {
    "raw.prices": "symbol, session_date",
    "raw.rates": "series_id, observation_date",
    "raw.earnings_estimates": "universe, fiscal_year, as_of_date",
    "raw.sessions": "session_date",
    "staging.stg_market__prices": "symbol, session_date",
    "staging.stg_fred__rates": "series_id, observation_date",
    "staging.stg_estimates__eps_growth": "universe, fiscal_year, as_of_date",
    "staging.stg_calendar__sessions": "session_date",
}


def _xnys_sessions(start: date, end: date) -> int:
    calendar = xcals.get_calendar("XNYS", start="2020-01-01", end="2026-12-31")
    return len(calendar.sessions_in_range(start.isoformat(), end.isoformat()))


def _checksums(path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            table: con.execute(
                f"select count(*), sum(hash(t)) from {table} t"  # hash of every column
            ).fetchone()
            for table in KEYS
        }


def _mart_checksums(path) -> dict[str, tuple]:
    """Row count and a hash of every column of every row, per mart."""
    with duckdb.connect(str(path), read_only=True) as con:
        marts = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        return {
            mart: con.execute(f"select count(*), sum(hash(t)) from marts.{mart} t").fetchone()
            for mart in marts
        }


def _count(path, sql: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_the_run_succeeds_with_every_dbt_test_passing(built):
    _path, result, _instance = built
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) >= 40
    assert [e.check_name for e in evaluations if not e.passed] == []
    names = {e.check_name for e in evaluations}
    assert {"every_symbol_loaded", "every_series_loaded", "every_universe_loaded"} <= names


def test_row_counts_per_table(built):
    path, _result, _instance = built
    sessions = _xnys_sessions(E2E_HISTORY_START, E2E_END)
    # 2021: Sep 21 (Labor Day) + Oct 21 + Nov 21 (Thanksgiving) + Dec 22 (Christmas Eve
    # observed) = 85; 2022: 20 + 19 + 23 + 20 + 21 + 21 + 20 + 23 + 21 + 21 + 21 + 21 = 251;
    # 2023: 20 + 19 + 23 + 19 + 22 + 21 + 20 + 23 + 20 + 22 + 21 + 20 = 250; 2024: Jan 21
    # + Feb 20 + Mar 20 (Good Friday) + Apr 1-5 5 = 66, counted by hand from a calendar.
    assert sessions == 85 + 251 + 250 + 66 == 652
    assert _count(path, "select count(*) from raw.prices") == 36 * sessions
    calendar_days = (E2E_END - E2E_HISTORY_START).days + 1
    # Weekdays less thirty federal holidays: 2021-09-06, 10-11, 11-11, 11-25, 12-24
    # (Christmas observed) and 12-31 (New Year's Day 2022, a Saturday, observed); 2022-01-17,
    # 02-21, 05-30, 06-20, 07-04, 09-05, 10-10, 11-11, 11-24, 12-26; 2023-01-02, 01-16, 02-20,
    # 05-29, 06-19, 07-04, 09-04, 10-09, 11-10, 11-23, 12-25; 2024-01-01, 01-15 and 02-19.
    business_days = int(np.busday_count(E2E_HISTORY_START, E2E_END + timedelta(days=1))) - 30
    assert _count(path, "select count(*) from raw.rates") == 3 * calendar_days + 2 * business_days
    # First session of each month Sep 2021..Apr 2024 (32), three universes, two fiscal years.
    assert _count(path, "select count(*) from raw.earnings_estimates") == 32 * 3 * 2
    assert _count(path, "select count(*) from raw.sessions") == _xnys_sessions(
        E2E_HISTORY_START, date(2025, 12, 31)
    )
    # One load per symbol, series and universe, and one for the calendar: 36 + 5 + 3 + 1.
    assert _count(path, "select count(*) from raw.load_log where status = 'success'") == 45
    assert _count(path, "select count(*) from staging.stg_market__prices") == 36 * sessions
    assert _count(path, "select count(*) from universe.instruments") == 36


def test_every_mart_and_seed_carries_its_descriptions_as_comments(built):
    """persist_docs writes the yml's descriptions on every build: what BI tools and the
    serving copy show. Each documented table and column, compared with the manifest."""
    path, _result, _instance = built
    manifest = json.loads(MANIFEST.read_text())
    persisted = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
        and node["config"].get("persist_docs", {}).get("columns")
    ]
    assert len([n for n in persisted if n["resource_type"] == "model"]) == 13
    assert len([n for n in persisted if n["resource_type"] == "seed"]) == 5
    with duckdb.connect(str(path), read_only=True) as con:
        for node in persisted:
            where = [node["schema"], node["alias"]]
            (comment,) = con.execute(
                "select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                where,
            ).fetchone()
            assert comment == node["description"], node["name"]
            comments = dict(
                con.execute(
                    "select column_name, comment from duckdb_columns() "
                    "where schema_name = ? and table_name = ?",
                    where,
                ).fetchall()
            )
            described = {name: column["description"] for name, column in node["columns"].items()}
            assert described, node["name"]
            assert {name: comments[name] for name in described} == described, node["name"]


@pytest.mark.parametrize("table", sorted(KEYS))
def test_keys_are_unique_and_not_null(built, table):
    path, _result, _instance = built
    keys = KEYS[table]
    duplicates = _count(
        path, f"select count(*) from (select {keys} from {table} group by all having count(*) > 1)"
    )
    nulls = _count(
        path,
        f"select count(*) from {table} where "
        + " or ".join(f"{k} is null" for k in keys.split(", ")),
    )
    assert (duplicates, nulls) == (0, 0)


def test_staging_returns_on_hand_checked_rows(built):
    path, _result, _instance = built
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            """
            select session_date, close, price, previous_session_date, daily_return
            from staging.stg_market__prices
            where symbol = 'RUT' and session_date in ('2021-09-01', '2024-03-28', '2024-04-01')
            order by session_date
            """
        ).fetchall()
    first, before_good_friday, after_good_friday = rows
    # The first loaded session has no previous price.
    assert first[3:] == (None, None)
    # Sample market closes pinned for RUT (deterministic); the return across Good Friday
    # runs from Thursday 2024-03-28 to Monday 2024-04-01.
    assert before_good_friday[1] == pytest.approx(RUT_CLOSE_2024_03_28)
    assert after_good_friday[1] == pytest.approx(RUT_CLOSE_2024_04_01)
    assert after_good_friday[2] == after_good_friday[1]  # no adj_close in the sample: price = close
    assert after_good_friday[3] == date(2024, 3, 28)
    assert after_good_friday[4] == pytest.approx(RUT_RETURN_2024_04_01, abs=1e-12)


def test_materialization_metadata_reports_rows_window_and_provider(built):
    _path, result, _instance = built
    prices = next(
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key.to_user_string() == "raw/prices"
    ).materialization.metadata
    assert prices["provider"].value == "sample"
    assert prices["dagster/row_count"].value == 36 * 652
    assert prices["rows_inserted"].value == 36 * 652
    assert prices["window_start"].value == "2021-09-01"
    assert prices["window_end"].value == "2024-04-05"


def test_a_second_run_inserts_nothing_and_changes_nothing(built):
    path, _result, instance = built
    before = _checksums(path)
    marts_before = _mart_checksums(path)
    second = materialize_sample(path, instance)
    assert second.success
    inserted = {
        m.asset_key.to_user_string(): m.materialization.metadata["rows_inserted"].value
        for m in second.get_asset_materialization_events()
        if m.asset_key.path[0] == "raw"
    }
    updated = {
        m.asset_key.to_user_string(): m.materialization.metadata["rows_updated"].value
        for m in second.get_asset_materialization_events()
        if m.asset_key.path[0] == "raw"
    }
    assert set(inserted) == {"raw/prices", "raw/rates", "raw/earnings_estimates", "raw/sessions"}
    assert set(inserted.values()) == {0}
    assert set(updated.values()) == {0}
    assert _checksums(path) == before
    # The marts were rebuilt by the second run, to the same contents.
    assert len(marts_before) == 13
    assert _mart_checksums(path) == marts_before


RAW_TABLES = {
    AssetKey(["raw", table]) for table in ("earnings_estimates", "prices", "rates", "sessions")
}


def _materialized(instance: DagsterInstance, run_id: str) -> set[AssetKey]:
    events = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    return {event.dagster_event.asset_key for event in events}


def test_the_command_line_run_is_recorded_and_summarised(tmp_path):
    home = tmp_path / "dagster_home"
    done = command_line_run(tmp_path, HISTORY_START="2024-01-29")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "refresh_all_job succeeded" in done.stdout
    assert "raw.prices" in done.stdout
    # 43 sessions 2024-01-29 .. 03-28, 36 instruments: 1,548 rows.
    prices_row = next(line for line in done.stdout.splitlines() if "raw.prices " in line)
    assert [cell.strip() for cell in prices_row.split("│")[1:6]] == [
        "raw.prices",
        "table",
        "1,548",
        "2024-01-29",
        "2024-03-28",
    ]
    with DagsterInstance.from_config(str(home)) as instance:
        builds, loads = instance.get_runs()  # newest first
        assert [run.job_name for run in (loads, builds)] == ["refresh_all_job"] * 2
        assert loads.is_success
        assert builds.is_success
        # The build run was executed by a fork of the warm dbt process, the loads here.
        assert builds.tags[PID_TAG] != loads.tags[PID_TAG]
        # The loads run covers the three months it loaded, each recorded as materialized.
        assert loads.tags["dagster/asset_partition_range_start"] == "2024-01-01"
        assert loads.tags["dagster/asset_partition_range_end"] == "2024-03-01"
        assert _materialized(instance, loads.run_id) == RAW_TABLES
        built = _materialized(instance, builds.run_id)
        assert AssetKey(["marts", "divergence_daily"]) in built
        assert AssetKey(["serving", "published_marts"]) in built
        assert not built & RAW_TABLES
        months = {"2024-01-01", "2024-02-01", "2024-03-01"}
        for table in ("prices", "rates"):
            assert instance.get_materialized_partitions(AssetKey(["raw", table])) == months
    # The terminal gets a line per step and the summary; the whole log goes to a file.
    lines = done.stdout.splitlines()
    assert len(lines) <= 80, done.stdout
    assert done.stderr == ""
    assert "warning" not in done.stdout.lower()
    log = Path(lines[-1].removeprefix("Log: "))
    assert log.parent == home / "logs"
    assert lines[0] == f"refresh_all_job: the whole log goes to {log}"
    steps = [line.split()[:-3] for line in lines if line.startswith("  ") and "ok" in line]
    assert [" ".join(step) for step in steps] == [
        "load raw/earnings_estimates",
        "load raw/prices",
        "load raw/rates",
        "load raw/sessions",
        "check every_basket_member_priced",
        "check prices_are_ohlc_consistent",
        "check prices_have_no_extreme_moves",
        "check prices_have_no_missing_sessions",
        "check rates_are_plausible",
        "dbt build (seeds, models, marts, tests)",
        "publish the serving file and Parquet",
        "check the warehouse file's size",
        "render the report",
    ]
    whole = log.read_text()
    assert "OK created sql incremental model marts.divergence_daily" in whole
    assert "OK created sql incremental model" not in done.stdout
    # dbt ran in a fork of the warm dbt process started beside the loads, which is gone
    launcher = re.search(r"Running dbt command: `(\S+/warm-dbt-\w+)/dbt build ", whole)
    assert launcher, "the dbt build did not run through the warm dbt launcher"
    assert "warm dbt process not reachable" not in whole
    assert not Path(launcher.group(1)).exists()
    # Run again: nothing new (a new session is built by test_crash_recovery's runs).
    _then_nothing_new(tmp_path, HISTORY_START="2024-01-29")


def _publication(tmp_path: Path) -> tuple:
    serving = tmp_path / "serving" / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(
            "select published_at, built_from, run_id from meta.publication"
        ).fetchone()


def _then_nothing_new(tmp_path: Path, **env: str) -> None:
    """After a first command-line run: a second one with nothing new loads and checks, and
    leaves the build and the publication as they are."""
    home = tmp_path / "dagster_home"
    published = _publication(tmp_path)
    with duckdb.connect(str(tmp_path / "cli.duckdb"), read_only=True) as con:
        built_from, built_by = con.execute(
            "select built_from, run_id from meta.build_inputs"
        ).fetchone()
    # The serving file says which build it holds: the one the dbt step recorded.
    assert (published[1], published[2]) == (built_from, built_by)
    assert len(built_from) == 64

    again = command_line_run(tmp_path, **env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "refresh_all_job succeeded in" in again.stdout
    assert "Nothing new to build: the serving file is already the build of" in again.stdout
    steps = [line.split()[0] for line in again.stdout.splitlines() if line.startswith("  ")]
    assert steps == ["load"] * 4 + ["check"] * 5
    assert _publication(tmp_path) == published
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3
        assert _materialized(instance, runs[0].run_id) == RAW_TABLES
        # The build's checks were never planned in the loads run: none shows as skipped.
        planned = instance.all_logs(
            runs[0].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
        )
        assert {event.dagster_event.event_specific_data.asset_key for event in planned} == {
            AssetKey(["raw", "prices"]),
            AssetKey(["raw", "rates"]),
            AssetKey(["raw", "earnings_estimates"]),
        }


def test_a_failed_command_line_run_names_the_step_and_its_error(tmp_path):
    quiet = command_line_run(tmp_path, PRICES_PROVIDER="nowhere")
    assert quiet.returncode == 1
    failed = [line for line in quiet.stdout.splitlines() if "FAILED" in line]
    assert failed[0].split()[:2] == ["load", "raw/prices"]
    assert "ProviderError: provider 'nowhere' is not known" in quiet.stdout
    assert len(quiet.stdout.splitlines()) <= 80
    # VERBOSE=1: Dagster's own log on the terminal, no file.
    verbose = command_line_run(tmp_path, PRICES_PROVIDER="nowhere", VERBOSE="1")
    assert verbose.returncode == 1
    everything = verbose.stdout + verbose.stderr
    assert " - dagster - " in everything
    assert "STEP_FAILURE" in everything or "Step raw__prices failed" in everything
    assert "Log: " not in verbose.stdout
