"""Publish the marts to a separate, read-only serving database and to Parquet.

The pipeline writes only the warehouse. Publishing builds a complete new serving file
next to the old one (marts and universe seeds, with their column types and the table and
column comments dbt persisted), checkpoints it by detaching, and moves it into place with
an atomic rename: a reader has either the old file open or the new one, never a mix.
Each mart's Parquet file is replaced the same way. A `meta.publication` table says when
the publication was made and how recent its data is.
"""

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

# Not marts.duckdb: DuckDB names the catalog after the file, and a catalog "marts" would
# make every "marts.<table>" reference ambiguous for readers.
SERVING_FILE = "serving.duckdb"
PUBLISHED_SCHEMAS = ("marts", "universe")


@dataclass(frozen=True)
class Publication:
    serving_path: Path
    parquet_dir: Path
    tables: dict[str, int]
    published_at: datetime
    data_through: date | None


def _quoted_path(path: Path) -> str:
    # ATTACH and COPY take no parameters; the path comes from configuration, not users.
    return "'" + str(path).replace("'", "''") + "'"


def _comment(con: duckdb.DuckDBPyConnection, target: str, text: str | None) -> None:
    if text:
        con.execute(f"comment on {target} is " + "'" + text.replace("'", "''") + "'")


def publish(con: duckdb.DuckDBPyConnection, serving_dir: Path, run_id: str = "") -> Publication:
    """Copy the published schemas of the warehouse `con` into a new serving file."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir = serving_dir / "parquet"
    parquet_dir.mkdir(exist_ok=True)
    target = serving_dir / SERVING_FILE
    temporary = serving_dir / f".{SERVING_FILE}.{uuid.uuid4().hex}.tmp"
    tables = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        "where database_name = current_database() and schema_name in ('marts', 'universe') "
        "order by schema_name, table_name"
    ).fetchall()
    (data_through,) = con.execute(
        "select max(session_date) from marts.market_pulse_daily"
    ).fetchone()
    published_at = datetime.now(UTC).replace(tzinfo=None)
    counts: dict[str, int] = {}
    con.execute(f"attach {_quoted_path(temporary)} as serving_build")
    try:
        for schema in (*PUBLISHED_SCHEMAS, "meta"):
            con.execute(f"create schema serving_build.{schema}")
        for schema, table, comment in tables:
            name = f"{schema}.{table}"
            con.execute(f"create table serving_build.{name} as select * from {name}")
            _comment(con, f"table serving_build.{name}", comment)
            for column, column_comment in con.execute(
                "select column_name, comment from duckdb_columns() "
                "where database_name = current_database() and schema_name = ? "
                "and table_name = ?",
                [schema, table],
            ).fetchall():
                _comment(con, f'column serving_build.{name}."{column}"', column_comment)
            (counts[name],) = con.execute(f"select count(*) from {name}").fetchone()
        con.execute(
            "create table serving_build.meta.publication as select "
            "?::timestamp as published_at, ?::date as data_through, ?::varchar as run_id",
            [published_at, data_through, run_id],
        )
    except BaseException:
        con.execute("detach serving_build")
        temporary.unlink(missing_ok=True)
        raise
    con.execute("detach serving_build")  # detaching checkpoints the file
    os.replace(temporary, target)
    for schema, table, _comment_text in tables:
        if schema != "marts":
            continue
        staged = parquet_dir / f".{table}.{uuid.uuid4().hex}.tmp"
        con.execute(
            f"copy (select * from marts.{table}) to {_quoted_path(staged)} (format parquet)"
        )
        os.replace(staged, parquet_dir / f"{table}.parquet")
    return Publication(target, parquet_dir, counts, published_at, data_through)
