"""Compaction of the warehouse file: a grown file is replaced by a checked copy holding the
same schemas, rows, views, constraints and comments; a kill at any point of it leaves the
warehouse as it was (or as compacted), never broken; the weekly schedule forces it."""

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dagster import DagsterInstance, build_schedule_context, materialize

from ingestion.compaction import (
    LOG_TABLE,
    CompactionError,
    compact_if_grown,
    file_bytes,
    temporary_copy,
)
from ingestion.paths import PROJECT_ROOT
from tests.waiting import wait_for

NEW_YORK = ZoneInfo("America/New_York")


def _build(path: Path) -> None:
    """A small warehouse with what the real one holds: schemas, a keyed table, a view,
    table and column comments."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create schema marts")
        con.execute(
            "create table raw.prices (symbol varchar not null, day integer not null, "
            "price double, primary key (symbol, day))"
        )
        con.execute(
            "insert into raw.prices select 'S' || (i % 50), i // 50, i * 0.5 from range(50000) t(i)"
        )
        con.execute("create table marts.daily as select * from raw.prices")
        con.execute("comment on table marts.daily is 'one row per symbol and day'")
        con.execute("comment on column marts.daily.price is 'the close, in dollars'")
        con.execute("create view marts.latest as select max(day) as day from marts.daily")


def _grow(path: Path, nights: int = 8) -> None:
    """More history, then what every nightly build does to an incremental table: delete
    the recent rows and insert them again."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            "insert into raw.prices select 'S' || (i % 50), i // 50, i * 0.5 "
            "from range(50000, 400000) t(i)"
        )
        con.execute("insert into marts.daily select * from raw.prices where day >= 100")
        con.execute("checkpoint")
        for night in range(nights):
            con.execute("delete from marts.daily where day >= ?", [4000 + night * 200])
            con.execute(
                "insert into marts.daily select * from raw.prices where day >= ?",
                [4000 + night * 200],
            )
            con.execute("checkpoint")


def _contents(path: Path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() "
            "where table_name <> 'warehouse_compactions' order by all"
        ).fetchall()
        return {
            "tables": tables,
            "rows": [
                con.execute(f"select count(*), sum(hash(t)) from {s}.{n} t").fetchone()
                for s, n, _ in tables
            ],
            "views": con.execute(
                "select schema_name, view_name, sql from duckdb_views() where not internal"
            ).fetchall(),
            "comments": con.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where comment is not null order by all"
            ).fetchall(),
            "keys": con.execute(
                "select table_name, constraint_text from duckdb_constraints() "
                "where constraint_type = 'PRIMARY KEY'"
            ).fetchall(),
            "latest": con.execute("select day from marts.latest").fetchall(),
        }


def _log(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            f"select reason, bytes_before, bytes_after from {LOG_TABLE} order by recorded_at"
        ).fetchall()


def test_a_grown_file_is_replaced_by_a_smaller_copy_with_the_same_contents(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    _build(path)
    first = compact_if_grown(path)  # the first check only notes the size it finds
    assert (first.compacted, first.reason) == (False, "first check")
    small = first.bytes_before
    assert _log(path) == [("first check", small, small)]
    assert compact_if_grown(path).reason == "within limit"

    _grow(path)
    before, grown = _contents(path), file_bytes(path)
    assert grown > 1.2 * small
    result = compact_if_grown(path)
    assert (result.compacted, result.reason) == (True, "grown past 1.2x")
    assert result.bytes_before == grown
    assert result.bytes_after == file_bytes(path) < 0.8 * grown
    assert _contents(path) == before
    reason, recorded_before, recorded_after = _log(path)[-1]
    assert (reason, recorded_before) == ("grown past 1.2x", grown)
    # the copy's size before its own log row was written into it
    assert abs(recorded_after - result.bytes_after) <= 512 * 1024
    assert not temporary_copy(path).exists()
    assert not path.with_name(path.name + ".wal").exists()

    # Within the limit nothing happens; forced, it compacts again to the same contents.
    assert compact_if_grown(path).reason == "within limit"
    forced = compact_if_grown(path, force=True)
    assert (forced.compacted, forced.reason) == (True, "forced")
    assert _contents(path) == before
    assert [row[0] for row in _log(path)] == ["first check", "grown past 1.2x", "forced"]


def test_a_copy_that_differs_is_refused_and_the_warehouse_kept(tmp_path, monkeypatch):
    import ingestion.compaction as compaction

    path = tmp_path / "warehouse.duckdb"
    _build(path)
    _grow(path, nights=2)
    before, size = _contents(path), path.read_bytes()
    counts = compaction._row_counts

    def one_row_short(con, catalog):
        found = counts(con, catalog)
        if catalog == compaction.COPY_ALIAS:
            found["marts.daily"] -= 1
        return found

    monkeypatch.setattr(compaction, "_row_counts", one_row_short)
    with pytest.raises(CompactionError, match="the copy of warehouse holds other row counts"):
        compact_if_grown(path, force=True)
    assert path.read_bytes() == size
    assert _contents(path) == before


# Stops the compaction at POINT and waits to be killed: `copied` after the copy is written
# and checked, `swapped` right after the rename, `copying` inside the COPY's check.
KILLED_COMPACTION = r"""
import os, sys, time
from pathlib import Path
import ingestion.compaction as compaction

path, point, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])

def stop():
    marker.write_text(point)
    while True:
        time.sleep(1)

if point == "copying":
    counts = compaction._row_counts
    def paused_counts(con, catalog):
        found = counts(con, catalog)
        if catalog == compaction.COPY_ALIAS:
            stop()
        return found
    compaction._row_counts = paused_counts
elif point == "copied":
    sync = compaction._sync
    def paused_sync(target):
        sync(target)
        if target.name.endswith(".tmp"):
            stop()
    compaction._sync = paused_sync
elif point == "swapped":
    replace = os.replace
    def paused_replace(source, target):
        replace(source, target)
        stop()
    compaction.os.replace = paused_replace
compaction.compact_if_grown(path, force=True)
"""


@pytest.mark.parametrize("point", ["copying", "copied", "swapped"])
def test_a_compaction_killed_at_any_point_leaves_a_whole_warehouse(tmp_path, point):
    path = tmp_path / "warehouse.duckdb"
    _build(path)
    _grow(path, nights=2)
    before = _contents(path)
    marker = tmp_path / "reached"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_COMPACTION, str(path), point, str(marker)],
        cwd=PROJECT_ROOT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: marker.exists() or process.poll() is not None, f"compaction {point}")
        assert marker.exists(), f"the compaction ended before {point}"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    # The warehouse opens and holds what it held (compacted or not).
    assert _contents(path) == before
    leftover = temporary_copy(path).exists()
    assert leftover == (point in ("copying", "copied"))
    # The next compaction clears what the killed one left and completes.
    result = compact_if_grown(path, force=True)
    assert result.compacted
    assert not temporary_copy(path).exists()
    assert _contents(path) == before


def test_the_weekly_schedule_forces_a_compaction_through_the_asset(tmp_path):
    from orchestration.definitions import defs
    from orchestration.defs.maintenance.assets import warehouse_file
    from orchestration.defs.maintenance.schedules import weekly_compaction_schedule
    from orchestration.shared import build_resources

    sunday = datetime(2024, 3, 31, 7, 0, tzinfo=NEW_YORK)
    context = build_schedule_context(
        scheduled_execution_time=sunday, repository_def=defs.get_repository_def()
    )
    [request] = weekly_compaction_schedule.evaluate_tick(context).run_requests
    assert request.run_key == "compaction-2024-03-31"
    assert weekly_compaction_schedule.job_name == "maintenance_job"

    path = tmp_path / "warehouse.duckdb"
    _build(path)
    before = _contents(path)
    result = materialize(
        [warehouse_file],
        resources=build_resources(str(path)),
        run_config=request.run_config,
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("maintenance__warehouse_file")
    assert materialization.metadata["compacted"].value is True
    assert materialization.metadata["reason"].value == "forced"
    assert _log(path)[-1][0] == "forced"
    assert _contents(path) == before
