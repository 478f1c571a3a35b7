"""Publish the marts to a separate, read-only serving database and to Parquet.

The pipeline writes only the warehouse. Publishing builds a complete new serving file
next to the old one (marts and universe seeds, with their column types and the table and
column comments dbt persisted) in a storage format DuckDB 1.0 and later read, checkpoints
it by detaching, and moves it into place with an atomic rename: a reader has either the
old file open or the new one, never a mix. Each mart's Parquet file, documented in its
key-value metadata (the mart's and every column's description, the publication's
`data_through`), is replaced the same way. A `meta.publication` table says when the
publication was made, how recent its data is and what the build was made from.

A publication that fails (a full disk, a write error) or is killed half-way never replaces
anything: the previous serving file stays in place, and the half-written temporary files are
removed, at once on an error or by the next publication after a crash.
"""

import contextlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from serving.paths import PARQUET_DIR, SERVING_FILE

PUBLISHED_SCHEMAS = ("marts", "universe")
TEMPORARY_SUFFIX = ".tmp"
# BI tools bundle older DuckDB engines: DuckDB 1.0 through 1.5 read storage version 64 and
# refuse the newer default. Version 64 holds everything the marts use (the column types,
# table and column comments); the warehouse itself keeps DuckDB's current format.
SERVING_STORAGE_VERSION = "v1.0.0"


# A column's name and the comment dbt persisted for it.
Column = tuple[str, str | None]


class PublishError(RuntimeError):
    """The publication could not be written; the previous one is still being served."""


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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment(con: duckdb.DuckDBPyConnection, target: str, text: str | None) -> None:
    if text:
        con.execute(f"comment on {target} is {_literal(text)}")


def _column_comments(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[Column]]:
    """Each published table's columns with the comments dbt persisted, in column order:
    one catalog query for the publication's comments and Parquet metadata alike."""
    columns: dict[tuple[str, str], list[Column]] = {}
    for schema, table, column, comment in con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns() "
        "where database_name = current_database() and list_contains(?, schema_name) "
        "order by schema_name, table_name, column_index",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall():
        columns.setdefault((schema, table), []).append((column, comment))
    return columns


def _parquet_metadata(
    columns: list[Column],
    comment: str | None,
    published_at: datetime,
    data_through: date | None,
) -> str:
    """The KV_METADATA option documenting one mart: its description and each column's.

    Parquet keeps key-value metadata per file (its schema elements have none), so each
    column's description is stored under `description:<column>`.
    """
    entries = {
        "description": comment or "",
        "published_at": published_at.isoformat(),
        "data_through": data_through.isoformat() if data_through else "",
    }
    for column, column_comment in columns:
        entries[f"description:{column}"] = column_comment or ""
    return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in entries.items()) + "}"


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def remove_leftovers(serving_dir: Path) -> list[Path]:
    """Delete temporary files an interrupted publication left behind; returns them.

    Only names this module creates are touched (a dot, then `.tmp` or `.tmp.wal` at the end).
    Publications run one at a time (the warehouse pool), so none of them is in use.
    """
    found = [
        path
        for folder in (serving_dir, serving_dir / PARQUET_DIR)
        if folder.is_dir()
        for path in folder.iterdir()
        if path.name.startswith(".")
        and path.name.endswith((TEMPORARY_SUFFIX, TEMPORARY_SUFFIX + ".wal"))
        and path.is_file()
    ]
    _remove(*found)
    return found


def publish(
    con: duckdb.DuckDBPyConnection,
    serving_dir: Path,
    run_id: str = "",
    built_from: str | None = None,
) -> Publication:
    """Copy the published schemas of the warehouse `con` into a new serving file.

    `built_from` is the fingerprint of the build's inputs the marts come from, kept in
    `meta.publication` so that a refresh with nothing new can leave the publication be.
    It reads and writes through a cursor of `con`, a transaction of its own: what the
    caller has not committed is not published, and a transaction the caller has open is
    left as it is, neither committed nor rolled back."""
    cursor = con.cursor()
    try:
        return _publish(cursor, serving_dir, run_id, built_from)
    finally:
        cursor.close()


def _publish(
    con: duckdb.DuckDBPyConnection, serving_dir: Path, run_id: str, built_from: str | None
) -> Publication:
    try:
        serving_dir.mkdir(parents=True, exist_ok=True)
        parquet_dir = serving_dir / PARQUET_DIR
        parquet_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot create the serving folder {serving_dir}: {exc}") from exc
    remove_leftovers(serving_dir)
    target = serving_dir / SERVING_FILE
    temporary = serving_dir / f".{SERVING_FILE}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
    tables = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        "where database_name = current_database() and list_contains(?, schema_name) "
        "order by schema_name, table_name",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    columns = _column_comments(con)
    (data_through,) = con.execute(
        "select max(session_date) from marts.market_pulse_daily"
    ).fetchone()
    published_at = datetime.now(UTC).replace(tzinfo=None)
    counts: dict[str, int] = {}
    try:
        publication = (published_at, data_through, run_id, built_from)
        _build(con, temporary, tables, columns, publication, counts)
        os.replace(temporary, target)
    except (duckdb.Error, OSError) as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("detach database if exists serving_build")
        _remove(temporary, Path(f"{temporary}.wal"))
        raise PublishError(
            f"publishing to {serving_dir} failed, the previous publication is still served: {exc}"
        ) from exc
    except BaseException:
        _remove(temporary, Path(f"{temporary}.wal"))
        raise
    for schema, table, comment in tables:
        if schema != "marts":
            continue
        staged = parquet_dir / f".{table}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
        metadata = _parquet_metadata(columns[schema, table], comment, published_at, data_through)
        try:
            con.execute(
                f"copy (select * from marts.{table}) to {_quoted_path(staged)} "
                f"(format parquet, kv_metadata {metadata})"
            )
            os.replace(staged, parquet_dir / f"{table}.parquet")
        except (duckdb.Error, OSError) as exc:
            _remove(staged)
            raise PublishError(
                f"writing {parquet_dir / table}.parquet failed, the previous file is kept: {exc}"
            ) from exc
    return Publication(target, parquet_dir, counts, published_at, data_through)


def _build(
    con: duckdb.DuckDBPyConnection,
    temporary: Path,
    tables: list[tuple[str, str, str | None]],
    columns: dict[tuple[str, str], list[Column]],
    publication: tuple[datetime, date | None, str, str | None],
    counts: dict[str, int],
) -> None:
    """Write every published table, its comments and meta.publication into `temporary`, in
    one transaction (each statement committing on its own took twice as long)."""
    con.execute(
        f"attach {_quoted_path(temporary)} as serving_build "
        f"(storage_version '{SERVING_STORAGE_VERSION}')"
    )
    try:
        con.begin()
        for schema in (*PUBLISHED_SCHEMAS, "meta"):
            con.execute(f"create schema serving_build.{schema}")
        for schema, table, comment in tables:
            name = f"{schema}.{table}"
            (counts[name],) = con.execute(
                f"create table serving_build.{name} as select * from {name}"
            ).fetchone()
            _comment(con, f"table serving_build.{name}", comment)
            for column, column_comment in columns.get((schema, table), []):
                _comment(con, f'column serving_build.{name}."{column}"', column_comment)
        con.execute(
            "create table serving_build.meta.publication as select "
            "?::timestamp as published_at, ?::date as data_through, ?::varchar as run_id, "
            "?::varchar as built_from",
            list(publication),
        )
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        with contextlib.suppress(duckdb.Error):
            con.execute("detach serving_build")
        raise
    con.execute("detach serving_build")  # detaching checkpoints the file
