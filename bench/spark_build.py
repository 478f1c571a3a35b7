"""The Spark build of one benchmark size: the same raw tables, the same dbt project.

The raw tables of the size's DuckDB warehouse are exported to its lake as the pipeline
does (`ingestion.lake.export_raw_table`, one Parquet file per table), and dbt builds
seeds, models and data tests on a local Spark session (the project's `spark` profile
output: `method: session`, `local[*]`). A nightly appends one session through the loader,
exports `raw.prices` again and runs `dbt build`, which on Spark rebuilds every model as a
table (without Delta or Iceberg there is no incremental strategy to use).
"""

import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bench import data, dbt_steps
from bench.pandas_common import DAILY_COLUMNS, STREAK_COLUMNS
from bench.project import BenchProject
from ingestion.lake import export_raw_table
from orchestration.dbt_environment import dbt_environment


def lake_dir(project: BenchProject) -> Path:
    return project.root / "lake"


def spark_environment(project: BenchProject) -> dict[str, str]:
    """What dbt needs to build this size on Spark: its lake and a Java runtime."""
    return dbt_environment(
        project.warehouse, {"WAREHOUSE_ENGINE": "spark", "LAKE_DIR": str(lake_dir(project))}
    )


def export_raw_tables(project: BenchProject, tables: tuple[str, ...] = ()) -> float:
    """Export `tables` (default: every raw table) to the lake; returns the seconds taken."""
    con = duckdb.connect(str(project.warehouse), read_only=True)
    try:
        names = tables or tuple(
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' order by 1"
            ).fetchall()
        )
        started = time.perf_counter()
        for table in names:
            export_raw_table(con, table, lake_dir(project))
        return time.perf_counter() - started
    finally:
        con.close()


def full_build(project: BenchProject) -> dict[str, Any]:
    """A fresh lake: export every raw table, then `dbt build --full-refresh` on Spark."""
    lake = lake_dir(project)
    if lake.exists():
        shutil.rmtree(lake)
    export_seconds = export_raw_tables(project)
    started = time.perf_counter()
    dbt_steps.run_dbt(
        project,
        "build",
        "--full-refresh",
        *dbt_steps.NIGHTLY_SELECTION,
        target="spark",
        env=spark_environment(project),
    )
    build_seconds = time.perf_counter() - started
    timings = dbt_steps.node_timings(project)
    return {
        "seconds": export_seconds + build_seconds,
        "export_seconds": export_seconds,
        "build_seconds": build_seconds,
        "by_kind": dbt_steps.seconds_by_kind(timings),
        "nodes": {k: float(v["seconds"]) for k, v in timings.items()},
    }


def nightly(project: BenchProject, session_root: Path, session: str) -> dict[str, float]:
    """One session appended through the loader, raw.prices exported, `dbt build` on Spark."""
    frame = data.session_rows(session_root, date.fromisoformat(session))
    con = data.open_existing(project.warehouse)
    append = data.ingest_with_loader(con, iter([frame]))
    con.close()
    export_seconds = export_raw_tables(project, ("prices",))
    started = time.perf_counter()
    dbt_steps.run_dbt(
        project,
        "build",
        *dbt_steps.NIGHTLY_SELECTION,
        target="spark",
        env=spark_environment(project),
    )
    build_seconds = time.perf_counter() - started
    return {
        "seconds": append.seconds + export_seconds + build_seconds,
        "append_seconds": append.seconds,
        "export_seconds": export_seconds,
        "build_seconds": build_seconds,
    }


def lake_mart_rows(project: BenchProject, table: str, pair_ids: list[str]) -> pd.DataFrame:
    """The rows of a mart that Spark wrote, for the sample pairs (read with DuckDB)."""
    columns = DAILY_COLUMNS if table == "divergence_daily" else STREAK_COLUMNS
    files = str(lake_dir(project) / "marts" / table / "*.parquet").replace("'", "''")
    con = duckdb.connect()
    try:
        return con.execute(
            f"select {', '.join(columns)} from read_parquet('{files}') "
            "where pair_id in (select unnest(?::varchar[]))",
            [pair_ids],
        ).df()
    finally:
        con.close()
