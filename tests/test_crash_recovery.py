"""SIGKILL in the middle of a load, of `dbt build` and of a publication: afterwards the
warehouse opens, every table (every symbol or series of a raw table) holds its old or its
new content, the serving file is the last complete publication, and the next run ends with
exactly the marts of a run that was never interrupted.

The pipeline is the real one (`python -m orchestration.run refresh_all_job` with its Dagster
instance and dagster.yaml), run through tests/crash_run.py, which stops it at a chosen
point and says so by creating a marker file; the test then kills its whole process group
(dbt included), as a crash of the machine or container would. Every kill point is a
place in the run's own work (inside a load's transaction, inside a dbt model's
transaction, half-way through a publication), never a moment picked by a clock.

`meta.incremental_state` holds one row per incremental model, written in the same
transaction as the model's table: after a kill between two models, some rows are the new
build's and some the old one's. What must hold is per model: its table and its state row
come from the same build.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from ingestion.paths import PROJECT_ROOT
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.long]

CRASH_RUN = PROJECT_ROOT / "tests" / "crash_run.py"
HISTORY_START = "2024-02-01"
OLD_END, NEW_END = "2024-03-15", "2024-03-28"
RUN_TIMEOUT = 900  # a safety net against a hang, never a moment to act on
STATE_TABLE = "meta.incremental_state"
# Killed inside this model's transaction: the models it reads are built, it is not.
KILLED_MODEL = "int_pair_streaks"
BUILT_BEFORE = ("stg_market__prices", "int_pair_returns_daily")
# Raw tables are loaded key by key, each in its own transaction: compared per key.
RAW_KEYS = {
    "raw.prices": "symbol",
    "raw.rates": "series_id",
    "raw.earnings_estimates": "universe",
    "raw.sessions": "'XNYS'",
}
# Each incremental model writes its own rows of this table in its own transaction.
MARKS_TABLE = "meta.incremental_marks"
KEYS = {**RAW_KEYS, MARKS_TABLE: "model_name"}
# when and by which load or build a row was written, not what it holds
RUN_COLUMNS = ("ingested_at", "load_id", "recomputed_at")


def _env(root: Path, end: str) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(root / "dagster_home"),
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "LANDING_DIR": str(root / "landing"),
        "HISTORY_START": HISTORY_START,
        "SAMPLE_END_DATE": end,
        "DO_NOT_TRACK": "1",
    }


def _new_root(root: Path) -> Path:
    (root / "dagster_home").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", root / "dagster_home")
    return root


def _live_members(group: int) -> list[int]:
    """Processes of a process group that have not exited yet.

    A zombie holds no locks, but a killed process's leader thread can turn zombie while its
    other threads are still closing the process's files (DuckDB's lock among them): a
    process counts as gone only once every one of its threads is a zombie or dead."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdecimal():
            continue
        fields = _stat_fields(entry / "stat")
        if fields is None or int(fields[2]) != group:
            continue
        try:
            tasks = list((entry / "task").iterdir())
        except OSError:  # gone since
            continue
        states = [found[0] for task in tasks if (found := _stat_fields(task / "stat"))]
        if any(state not in ("Z", "X") for state in states):
            members.append(int(entry.name))
    return members


def _stat_fields(stat: Path) -> list[str] | None:
    """state, ppid, pgrp, ... of a /proc stat file (None once the process or thread is gone);
    comm may hold spaces, so split after it."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _wait_for_group_exit(group: int, timeout: float = 60.0) -> None:
    """SIGKILL is delivered at once but a large process takes a moment to exit and
    release its file lock: wait until every member of the group is gone."""
    wait_for(lambda: not _live_members(group), f"process group {group} to exit", timeout)


def _run(root: Path, end: str, point: str = "none") -> tuple[str, str]:
    """Run refresh_all_job; with a crash point, SIGKILL it there. Returns (stdout, marker)."""
    marker = root / f"reached-{point.replace(':', '-')}"
    marker.unlink(missing_ok=True)
    log = root / f"run-{point.replace(':', '-')}-{time.monotonic_ns()}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, str(CRASH_RUN), point, str(marker), "refresh_all_job"],
            cwd=PROJECT_ROOT,
            env=_env(root, end),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: dbt is killed with it
        )
        try:
            if point == "none":
                assert process.wait(timeout=RUN_TIMEOUT) == 0, log.read_text()[-4000:]
                return log.read_text(), ""
            wait_for(
                lambda: marker.exists() or process.poll() is not None,
                f"the run to reach {point}",
                RUN_TIMEOUT,
            )
            assert marker.exists(), f"ended before {point}: {log.read_text()[-4000:]}"
            os.killpg(process.pid, signal.SIGKILL)
            assert process.wait(timeout=60) == -signal.SIGKILL
            _wait_for_group_exit(process.pid)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return log.read_text(), marker.read_text().strip()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> str:
    schema, name = table.split(".")
    names = [
        column
        for (column,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
            "order by column_index",
            [schema, name],
        ).fetchall()
        if column not in RUN_COLUMNS
    ]
    return ", ".join(f'"{column}"' for column in names)


def _state(path: Path, read_only: bool = False) -> dict[str, dict[str, tuple]]:
    """Per table a content checksum: per key for raw tables (per model for the marks),
    whole for dbt's tables.
    The warehouse is opened for writing, as the next run would: that replays its WAL."""
    state: dict[str, dict[str, tuple]] = {}
    with duckdb.connect(str(path), read_only=read_only) as con:
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() where schema_name in "
                "('raw', 'staging', 'intermediate', 'marts', 'universe', 'meta') "
                "and table_name not in ('load_log', 'warehouse_compactions') "
                "and schema_name || '.' || table_name <> ? order by all",
                [STATE_TABLE],
            ).fetchall()
        ]
        for table in tables:
            columns = _columns(con, table)
            key = KEYS.get(table, "'all'")
            state[table] = {
                str(group): (count, digest)
                for group, count, digest in con.execute(
                    f"select {key}, count(*), sum(hash(struct_pack({columns}))) "
                    f"from {table} group by all"
                ).fetchall()
            }
    return state


def _incremental_state(path: Path) -> dict[str, dict]:
    """The rows of meta.incremental_state by model, and the newest raw price load."""
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"select * from {STATE_TABLE}")
        names = [column[0] for column in cursor.description]
        rows = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
        (through,) = con.execute("select max(ingested_at) from raw.prices").fetchone()
    return {"rows": rows, "prices_ingested_through": through}


def _models_match_their_state(state, incremental, old, old_incremental, new, new_incremental):
    """Per incremental model: its table, its state row and its marks are all the old
    build's, or all the new one's. A new row is the new build's own: it points at the prices this
    warehouse holds and checks what the uninterrupted build checked, pending until a run
    passes its tests. Returns model -> 'old' | 'new'."""
    tables = {table.split(".")[1]: table for table in state}
    verdicts = {}
    for model in sorted(set(old_incremental["rows"]) | set(new_incremental["rows"])):
        row, before = incremental["rows"][model], old_incremental["rows"][model]
        table = tables[model]
        marks = state.get(MARKS_TABLE, {}).get(model)
        if row == before:
            assert state[table] == old[table], f"{model}: old state row but a new table"
            assert marks == old.get(MARKS_TABLE, {}).get(model), f"{model}: new marks"
            verdicts[model] = "old"
            continue
        reference = new_incremental["rows"][model]
        assert state[table] == new[table], f"{model}: new state row but not the new table"
        assert marks == new.get(MARKS_TABLE, {}).get(model), f"{model}: not the new marks"
        assert row["built_at"] > before["built_at"], model
        assert (row["checked_column"], row["checked_from"]) == (
            reference["checked_column"],
            reference["checked_from"],
        ), model
        assert row["unverified_from"] in (row["checked_from"], None), model
        if model != "outperformance_streaks":  # it follows int_pair_streaks' stamps instead
            assert row["prices_ingested_through"] == incremental["prices_ingested_through"]
        verdicts[model] = "new"
    return verdicts


def _marts(state: dict[str, dict[str, tuple]]) -> dict[str, dict[str, tuple]]:
    return {table: value for table, value in state.items() if table.startswith("marts.")}


def _old_or_new(state, old, new) -> dict[str, int]:
    """Asserts every table (every key of a raw table) is as before or as after; counts them."""
    counts = {"old": 0, "new": 0}
    for table in sorted(set(old) | set(new)):
        for key in sorted(set(old.get(table, {})) | set(new.get(table, {}))):
            found = state.get(table, {}).get(key)
            before, after = old.get(table, {}).get(key), new.get(table, {}).get(key)
            assert found in (before, after), f"{table} [{key}] is neither old nor new: {found}"
            counts["new" if found == after and before != after else "old"] += 1
    return counts


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    """A warehouse published through OLD_END, and the state an uninterrupted run to NEW_END
    gives from there (built in a copy)."""
    work = _new_root(tmp_path_factory.mktemp("crashed"))
    _run(work, OLD_END)
    reference = _new_root(tmp_path_factory.mktemp("uninterrupted"))
    shutil.copy(work / "warehouse.duckdb", reference / "warehouse.duckdb")
    old = _state(work / "warehouse.duckdb")
    old_incremental = _incremental_state(work / "warehouse.duckdb")
    old_serving = _state(work / "serving" / "serving.duckdb")
    _run(reference, NEW_END)
    new = _state(reference / "warehouse.duckdb")
    new_incremental = _incremental_state(reference / "warehouse.duckdb")
    new_serving = _state(reference / "serving" / "serving.duckdb")
    return work, (old, old_incremental), (new, new_incremental), old_serving, new_serving


def _serving_marts(work: Path) -> dict:
    return _marts(_state(work / "serving" / "serving.duckdb", read_only=True))


# An analyst's session: one read-only connection to the serving file, held open from before
# a refresh until after it, reading the same mart at the start and at the end.
ANALYST = r"""
import os, sys, time
import duckdb
serving, stop, out = sys.argv[1:4]
con = duckdb.connect(serving, read_only=True)
sql = ("select count(*), sum(hash(t)), (select data_through from meta.publication) "
       "from marts.divergence_daily t")
first = con.execute(sql).fetchone()
open(out, "w").write(repr(first) + "\n")
while not os.path.exists(stop):
    time.sleep(0.1)
open(out, "a").write(repr(con.execute(sql).fetchone()) + "\n")
con.close()
"""


def test_killed_in_a_load_in_dbt_and_in_a_publication_then_the_next_run_completes(states):
    work, (old, old_incremental), (new, new_incremental), old_serving, new_serving = states
    assert _marts(old) != _marts(new)  # the refresh has something to change
    warehouse = work / "warehouse.duckdb"

    def models_match(state):
        incremental = _incremental_state(warehouse)
        return _models_match_their_state(
            state, incremental, old, old_incremental, new, new_incremental
        )

    # 1. Killed with a load's rows written but not committed.
    _, where = _run(work, NEW_END, "load:20")
    table, key = where.split(" ", 1)
    state = _state(warehouse)
    counts = _old_or_new(state, old, new)
    assert state[f"raw.{table}"][key] == old[f"raw.{table}"][key] != new[f"raw.{table}"][key]
    assert counts["new"] > 0  # earlier loads of the run committed and stayed
    assert set(models_match(state).values()) == {"old"}
    assert _serving_marts(work) == _marts(old_serving)

    # 2. Killed inside a model's transaction, its rows and its state row written: raw is
    # complete, the models before it are the new build, it and the models after it the
    # old one; no table is half-built and no state row belongs to another build's table.
    out, where = _run(work, NEW_END, f"dbt:{KILLED_MODEL}")
    assert where == KILLED_MODEL
    assert "was interrupted; marked failed" in out  # the killed run gave its slot back
    state = _state(warehouse)
    assert {t: v for t, v in state.items() if t.startswith("raw.")} == {
        t: v for t, v in new.items() if t.startswith("raw.")
    }
    _old_or_new(state, old, new)
    verdicts = models_match(state)
    assert verdicts[KILLED_MODEL] == "old"
    assert {verdicts[model] for model in BUILT_BEFORE} == {"new"}
    # Their tests never ran: the rows they wrote stay pending for the next build to check.
    pending = _incremental_state(warehouse)["rows"]
    assert all(pending[model]["unverified_from"] is not None for model in BUILT_BEFORE)
    assert verdicts["outperformance_streaks"] == verdicts["divergence_daily"] == "old"
    assert _serving_marts(work) == _marts(old_serving)

    # An analyst opens the serving file and keeps the connection through steps 3 and 4.
    stop, seen = work / "analyst-stop", work / "analyst.txt"
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(work / "serving" / "serving.duckdb"), stop, seen]
    )
    wait_for(lambda: seen.exists() or analyst.poll() is not None, "the analyst's first read")
    assert analyst.poll() is None

    # 3. Killed half-way through writing the new serving file: the old one is still served.
    _run(work, NEW_END, "publish:12")
    state = _state(warehouse)
    assert _marts(state) == _marts(new)
    assert set(models_match(state).values()) == {"new"}
    assert _serving_marts(work) == _marts(old_serving)
    assert [p.name for p in (work / "serving").glob(".serving.duckdb.*.tmp")]

    # 4. The next run completes: the marts and the publication of an uninterrupted run.
    out, _ = _run(work, NEW_END)
    assert "refresh_all_job succeeded" in out
    assert _marts(_state(warehouse)) == _marts(new)
    assert _serving_marts(work) == _marts(new_serving)
    assert not list((work / "serving").glob(".*.tmp*"))
    # The analyst's connection outlived the swap, reading the old publication throughout.
    stop.touch()
    assert analyst.wait(timeout=60) == 0
    first, last = seen.read_text().splitlines()
    assert first == last
    assert "datetime.date(2024, 3, 15)" in first
    with DagsterInstance.from_config(str(work / "dagster_home")) as instance:
        statuses = [run.status for run in reversed(instance.get_runs())]
    # Each refresh is a loads run, then a build run once the loads succeeded.
    ok, failed = DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE
    assert statuses == [ok, ok] + [failed] + [ok, failed] * 2 + [ok, ok]
