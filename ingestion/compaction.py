"""Keeping the warehouse file small: a compacted copy swapped in when the file has grown.

Every nightly build deletes and inserts rows in the incremental tables. DuckDB writes the
new blocks before it frees the old ones and does not give freed space back to the file
system, so the file settles well above the size of a fresh build of the same data (about
1.3x on the sample market). Compaction copies every schema, table, view, constraint and
comment into a new file (`COPY FROM DATABASE`), checks that the copy holds the same rows,
and renames it over the warehouse.

It is safe against a kill at any point: until the rename the warehouse is untouched and
the half-written copy is a hidden temporary file that the next compaction removes; the
rename itself is atomic. The source is checkpointed first and holds no write-ahead log at
the swap, so no log of the old file can be replayed against the new one; the warehouse's
write lock is held throughout, so no other process writes to the old file meanwhile.

`meta.warehouse_compactions` records each compaction (and, the first time, the size seen)
with the size of the file it left: the next check compacts again once the file exceeds
`growth_ratio` times that size, or when forced.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.loader import connect

LOG_TABLE = "meta.warehouse_compactions"
DEFAULT_GROWTH_RATIO = 1.2
COPY_ALIAS = "compacted"
# The log's own row may take a new block of the file (DuckDB's are 256 KiB).
SLACK_BYTES = 2 * 256 * 1024


@dataclass(frozen=True)
class CompactionResult:
    """What one check of the warehouse file did."""

    path: Path
    bytes_before: int
    bytes_after: int
    reference_bytes: int | None  # the size the last compaction left, if any
    compacted: bool
    reason: str  # forced | grown | first check | within limit
    seconds: float

    def summary(self) -> str:
        size = f"{_mb(self.bytes_before)}"
        if self.compacted:
            size += f" -> {_mb(self.bytes_after)} in {self.seconds:.1f} s"
        reference = (
            f" (last compaction left {_mb(self.reference_bytes)})" if self.reference_bytes else ""
        )
        verb = "compacted" if self.compacted else "left as is"
        return f"warehouse {self.path.name} {verb}, {self.reason}: {size}{reference}"


class CompactionError(RuntimeError):
    """The compacted copy did not match the warehouse; the warehouse was left untouched."""


def _mb(size: int | None) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"


def file_bytes(path: Path) -> int:
    """The warehouse's size on disk, its write-ahead log included."""
    wal = path.with_name(path.name + ".wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def temporary_copy(path: Path) -> Path:
    return path.with_name(f".{path.name}.compacting.tmp")


def remove_leftovers(path: Path) -> list[Path]:
    """Delete the copy (and its log) a killed compaction left behind."""
    copy = temporary_copy(path)
    removed = []
    for leftover in (copy, copy.with_name(copy.name + ".wal")):
        if leftover.exists():
            leftover.unlink()
            removed.append(leftover)
    return removed


def _ensure_log(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    con.execute(f'create schema if not exists "{catalog}".meta')
    con.execute(
        f"""
        create table if not exists "{catalog}".{LOG_TABLE} (
            recorded_at timestamp not null,
            reason varchar not null,
            bytes_before bigint not null,
            bytes_after bigint not null,
            seconds double not null
        )
        """
    )


def _record(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    reason: str,
    before: int,
    after: int,
    seconds: float,
) -> None:
    _ensure_log(con, catalog)
    con.execute(
        f'insert into "{catalog}".{LOG_TABLE} values (now()::timestamp, ?, ?, ?, ?)',
        [reason, before, after, seconds],
    )


def _reference_bytes(con: duckdb.DuckDBPyConnection) -> int | None:
    exists = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'warehouse_compactions'"
    ).fetchone()[0]
    if not exists:
        return None
    row = con.execute(
        f"select bytes_after from {LOG_TABLE} order by recorded_at desc limit 1"
    ).fetchone()
    return None if row is None else int(row[0])


def _row_counts(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, int]:
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? order by all",
        [catalog],
    ).fetchall()
    return {
        f"{schema}.{table}": con.execute(
            f'select count(*) from "{catalog}"."{schema}"."{table}"'
        ).fetchone()[0]
        for schema, table in tables
    }


def _objects(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple]:
    """Every schema, table, view and column with its type and comment."""
    return con.execute(
        """
        select 'schema', schema_name, '', '', comment from duckdb_schemas()
        where database_name = $1 and not internal
        union all
        select 'view', schema_name, view_name, sql, comment from duckdb_views()
        where database_name = $1 and not internal
        union all
        select 'column', schema_name, table_name || '.' || column_name, data_type, comment
        from duckdb_columns() where database_name = $1 and not internal
        union all
        select 'constraint', schema_name, table_name, constraint_text, ''
        from duckdb_constraints() where database_name = $1
        order by all
        """,
        [catalog],
    ).fetchall()


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _copy(con: duckdb.DuckDBPyConnection, source: str, copy: Path) -> None:
    """Write the compacted copy and check it against the source."""
    quoted = str(copy).replace("'", "''")
    con.execute(f"attach '{quoted}' as {COPY_ALIAS}")
    try:
        con.execute(f'copy from database "{source}" to {COPY_ALIAS}')
        # the log may be new in the copy: compare before recording into it
        if _row_counts(con, COPY_ALIAS) != _row_counts(con, source):
            raise CompactionError(f"the copy of {source} holds other row counts")
        if _objects(con, COPY_ALIAS) != _objects(con, source):
            raise CompactionError(f"the copy of {source} differs in its schemas or comments")
    finally:
        con.execute(f"detach {COPY_ALIAS}")


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchone()[0]


def _swap_in(con: duckdb.DuckDBPyConnection, path: Path, before: int, reason: str) -> int:
    """Copy, record, sync and rename; returns the new file's size."""
    started = time.monotonic()
    source = _catalog(con)
    copy = temporary_copy(path)
    con.execute("checkpoint")
    _copy(con, source, copy)
    after = copy.stat().st_size
    quoted = str(copy).replace("'", "''")
    con.execute(f"attach '{quoted}' as {COPY_ALIAS}")
    try:
        _record(con, COPY_ALIAS, reason, before, after, time.monotonic() - started)
    finally:
        con.execute(f"detach {COPY_ALIAS}")
    if path.with_name(path.name + ".wal").exists() or copy.with_name(copy.name + ".wal").exists():
        raise CompactionError(f"{path}: a write-ahead log is left after the checkpoint")
    _sync(copy)
    os.replace(copy, path)  # still holding the warehouse's lock: nobody writes the old file
    _sync(path.parent)
    return file_bytes(path)


def compact_if_grown(
    path: Path, growth_ratio: float = DEFAULT_GROWTH_RATIO, force: bool = False
) -> CompactionResult:
    """Compact `path` when forced or when it has grown past `growth_ratio` times the size
    the last compaction left; the first check only records the size it finds."""
    if growth_ratio < 1.0:
        raise ValueError(f"growth_ratio must be at least 1.0, not {growth_ratio}")
    started = time.monotonic()
    remove_leftovers(path)
    before = file_bytes(path)
    con = connect(path)
    try:
        con.execute("set enable_progress_bar = false")
        reference = _reference_bytes(con)
        if force:
            reason = "forced"
        elif reference is None:
            _record(con, _catalog(con), "first check", before, before, 0.0)
            con.execute("checkpoint")
            return CompactionResult(path, before, file_bytes(path), None, False, "first check", 0.0)
        elif before > growth_ratio * reference:
            reason = f"grown past {growth_ratio:g}x"
        else:
            return CompactionResult(path, before, before, reference, False, "within limit", 0.0)
        after = _swap_in(con, path, before, reason)
    finally:
        con.close()
    return CompactionResult(
        path, before, after, reference, True, reason, time.monotonic() - started
    )
