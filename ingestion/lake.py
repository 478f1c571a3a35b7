"""The raw tables as Parquet files, for engines that read files rather than the DuckDB file.

When the models build on Spark (WAREHOUSE_ENGINE=spark), each raw table is exported after
every load to LAKE_DIR/raw/<table>/data.parquet, which Spark reads as the table `raw.<table>`
(dbt_project/macros/cross_engine/lake.sql). The loader stays the one writer of the DuckDB
file; the export writes a hidden file beside the published one and renames it over it, so
a reader sees the old table or the new one, never half of either (Spark skips files whose
names start with a dot).
"""

import os
from pathlib import Path

import duckdb

PARQUET_NAME = "data.parquet"


def raw_table_file(lake_dir: Path, table: str) -> Path:
    return lake_dir / "raw" / table / PARQUET_NAME


def export_raw_table(con: duckdb.DuckDBPyConnection, table: str, lake_dir: Path) -> Path:
    """Write raw.`table` to the lake and swap it in; returns the published file."""
    target = raw_table_file(lake_dir, table)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{PARQUET_NAME}.{os.getpid()}.tmp")
    quoted = str(staged).replace("'", "''")
    try:
        con.execute(f"copy raw.{table} to '{quoted}' (format parquet)")
        with staged.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return target
