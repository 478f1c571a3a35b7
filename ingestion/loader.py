"""Bulk, transactional, idempotent loads of validated frames into the raw schema.

A load registers the frame with DuckDB and compares it with the stored rows in SQL:
new keys are inserted, keys whose values changed are updated (a restatement), and rows
that are the same are left alone, keeping their original `ingested_at` and `load_id`.
All of it, and the `raw.load_log` row that records it, commits in one transaction, so a
failed load leaves the table exactly as it was. Table and column names and types come
from the definitions in code (`ingestion.tables`, `ingestion.schemas`), never from input.

Every load accounts for each row it received: inserted + updated + unchanged must equal
the rows received, and the UPDATE and INSERT must touch exactly the rows counted. A load
whose counts disagree raises LoadError naming the table and the counts, and rolls back.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from ingestion.schemas import Dataset
from ingestion.tables import LOAD_LOG, TABLES

# The DDL of every raw table, by name, from its one definition in `ingestion.tables`.
RAW_TABLES: dict[str, str] = {name: table.ddl for name, table in TABLES.items()}
# The incoming rows with their change, for the length of one load (a temporary table).
STAGED = "staged_rows"


class WarehouseError(RuntimeError):
    """The warehouse file cannot be opened or written; the message says which and why."""


class LoadError(RuntimeError):
    """A load failed and was rolled back; the table holds what it held before. `load_id`
    is the raw.load_log row that recorded the failure, when one was written."""

    def __init__(self, message: str, load_id: str | None = None) -> None:
        super().__init__(message)
        self.load_id = load_id


@dataclass(frozen=True)
class LoadResult:
    load_id: str
    table: str
    received: int
    inserted: int
    updated: int
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def _summed(count: str) -> property:
    def total(self: "LoadTotals") -> int:
        return sum(getattr(result, count) for result in self.load_results())

    return property(total, doc=f"Rows {count}, summed over the loads.")


class LoadTotals:
    """The row counts of a report's loads (`load_results`), summed."""

    received = _summed("received")
    inserted = _summed("inserted")
    updated = _summed("updated")
    unchanged = _summed("unchanged")

    def load_results(self) -> Iterable[LoadResult]:
        raise NotImplementedError

    def changes(self) -> str:
        """`N inserted, N updated, N unchanged`, as the summaries say it."""
        return f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, creating its folder, with errors that name the path."""
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(
                f"cannot create the warehouse folder {path.parent}: {exc}"
            ) from exc
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from exc


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for ddl in RAW_TABLES.values():
        con.execute(ddl)
    scope = LOAD_LOG.column("scope")  # not in warehouses older than it
    con.execute(
        f"alter table raw.{LOAD_LOG.name} add column if not exists {scope.name} {scope.sql_type}"
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_load_id() -> str:
    return uuid.uuid4().hex


def _select_list(table: str, dataset: Dataset) -> str:
    """The frame's columns, each cast to the type the table stores it as."""
    types = TABLES[table].column_types
    return ", ".join(f"cast({column} as {types[column]}) as {column}" for column in dataset.columns)


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    dataset: Dataset,
    frame: pd.DataFrame,
    load_id: str,
    ingested_at: datetime,
) -> LoadResult:
    """Insert new keys and update changed rows of `raw.<table>`; caller owns the transaction.

    The frame is compared with the stored rows in one join, which stages each row with
    its change (`i` new key, `u` changed values, `n` unchanged); the counts and the INSERT
    read that staging table, and only an UPDATE (a restatement) joins the stored rows again."""
    if table not in RAW_TABLES:
        raise ValueError(f"unknown raw table {table!r}")
    target = f"raw.{table}"
    keys = dataset.keys
    compared = (*dataset.values, "source")
    on = " and ".join(f"t.{k} = s.{k}" for k in keys)
    differs = " or ".join(f"t.{c} is distinct from s.{c}" for c in compared)
    selected = _select_list(table, dataset)
    con.register("incoming_frame", frame)
    try:
        con.execute(f"drop table if exists {STAGED}")
        con.execute(
            f"""
            create temp table {STAGED} as
            select
                s.*,
                case when t.{keys[0]} is null then 'i' when {differs} then 'u' else 'n' end
                    as _row_change
            from (select {selected} from incoming_frame) s
            left join {target} t on {on}
            """
        )
    finally:
        con.unregister("incoming_frame")
    inserted, updated, unchanged = con.execute(
        f"""
        select
            count(*) filter (where _row_change = 'i'),
            count(*) filter (where _row_change = 'u'),
            count(*) filter (where _row_change = 'n')
        from {STAGED}
        """
    ).fetchone()
    check_counts(target, len(frame), inserted, updated, unchanged)
    if updated:
        assignments = ", ".join(f"{c} = s.{c}" for c in compared)
        touched = _changed_rows(
            con.execute(
                f"""
                update {target} t set {assignments}, ingested_at = ?, load_id = ?
                from {STAGED} s where s._row_change = 'u' and {on}
                """,
                [ingested_at, load_id],
            )
        )
        check_touched(target, "updated", updated, touched)
    if inserted:
        columns = ", ".join(dataset.columns)
        touched = _changed_rows(
            con.execute(
                f"""
                insert into {target} ({columns}, ingested_at, load_id)
                select {columns}, ?, ? from {STAGED} where _row_change = 'i'
                """,
                [ingested_at, load_id],
            )
        )
        check_touched(target, "inserted", inserted, touched)
    con.execute(f"drop table {STAGED}")
    return LoadResult(load_id, table, len(frame), inserted, updated, unchanged)


def _changed_rows(cursor: duckdb.DuckDBPyConnection) -> int | None:
    """The row count DuckDB reports for an UPDATE or INSERT (None if it reports none)."""
    rows = cursor.fetchall()
    return int(rows[0][0]) if rows else None


def check_counts(target: str, received: int, inserted: int, updated: int, unchanged: int) -> None:
    """Every received row is new, changed or unchanged, exactly once."""
    accounted = inserted + updated + unchanged
    if accounted != received:
        raise LoadError(
            f"{target}: the counts do not add up: received {received} rows but inserted "
            f"{inserted} + updated {updated} + unchanged {unchanged} = {accounted}"
        )


def check_touched(target: str, action: str, counted: int, touched: int | None) -> None:
    """The statement changed as many rows as the comparison counted."""
    if touched is not None and touched != counted:
        raise LoadError(
            f"{target}: {counted} rows were counted as {action} but the statement "
            f"{action} {touched}"
        )


def _log(
    con: duckdb.DuckDBPyConnection,
    result: LoadResult,
    asset: str,
    provider: str,
    window: tuple[date | None, date | None],
    status: str,
    error: str | None,
    started_at: datetime,
    scope: str | None = None,
) -> None:
    con.execute(
        """
        insert into raw.load_log (
            load_id, asset, provider, window_start, window_end, rows_received, rows_inserted,
            rows_updated, rows_unchanged, status, error, started_at, finished_at, scope
        ) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            result.load_id,
            asset,
            provider,
            window[0],
            window[1],
            result.received,
            result.inserted,
            result.updated,
            result.unchanged,
            status,
            error,
            started_at,
            _now(),
            scope,
        ],
    )


def load_frame(
    con: duckdb.DuckDBPyConnection,
    *,
    table: str,
    dataset: Dataset,
    frame: pd.DataFrame,
    asset: str,
    provider: str,
    window: tuple[date | None, date | None],
    scope: str | None = None,
    status: str = "success",
) -> LoadResult:
    """Upsert a validated frame and log it, all in one transaction. `scope` names the
    symbol or series loaded; `status` is success, or restated for a full reload."""
    started_at = _now()
    load_id = new_load_id()
    con.begin()
    try:
        result = upsert(con, table, dataset, frame, load_id, started_at)
        _log(con, result, asset, provider, window, status, None, started_at, scope)
        con.commit()
    except Exception as exc:
        con.rollback()
        logged = record_failure(
            con,
            asset=asset,
            provider=provider,
            window=window,
            error=str(exc),
            received=len(frame),
            started_at=started_at,
            load_id=load_id,
            scope=scope,
        )
        raise LoadError(
            f"provider {provider!r}: loading {len(frame)} rows into raw.{table} for "
            f"{window[0]} .. {window[1]} failed, nothing was changed: {exc}",
            load_id=logged,
        ) from exc
    return result


def record_failure(
    con: duckdb.DuckDBPyConnection,
    *,
    asset: str,
    provider: str,
    window: tuple[date | None, date | None],
    error: str,
    received: int = 0,
    started_at: datetime | None = None,
    load_id: str | None = None,
    scope: str | None = None,
) -> str:
    """Log a load that did not happen (fetch, validation or write failed)."""
    failed = LoadResult(load_id or new_load_id(), "", received, 0, 0, 0)
    _log(con, failed, asset, provider, window, "failed", error, started_at or _now(), scope)
    return failed.load_id
