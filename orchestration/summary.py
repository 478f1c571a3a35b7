"""A short, readable account of what the warehouse holds, printed at the end of a run."""

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

DATE_COLUMNS = (
    "session_date",
    "observation_date",
    "as_of_date",
    "week_ending",
    "event_date",
    "period_end",
    "streak_start",
    "as_of",
)


@dataclass(frozen=True)
class TableStats:
    schema: str
    name: str
    kind: str
    rows: int
    first: date | None
    last: date | None


def warehouse_stats(path: Path) -> list[TableStats]:
    """Rows and date range of every table and view outside DuckDB's own schemas."""
    with duckdb.connect(str(path), read_only=True) as con:
        objects = con.execute(
            """
            select table_schema, table_name, table_type
            from information_schema.tables
            where table_schema not in ('information_schema', 'pg_catalog', 'main')
            order by
                case table_schema when 'raw' then 0 when 'universe' then 1
                    when 'staging' then 2 when 'intermediate' then 3 else 4 end,
                table_name
            """
        ).fetchall()
        if not objects:
            return []
        columns: dict[tuple[str, str], set[str]] = {}
        for schema, name, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
        ).fetchall():
            columns.setdefault((schema, name), set()).add(column)
        # One query for all of them: a query each costs more than counting these rows.
        parts = []
        for schema, name, _ in objects:
            found = columns.get((schema, name), set())
            date_column = next((c for c in DATE_COLUMNS if c in found), None)
            span = (
                f'min("{date_column}")::date, max("{date_column}")::date'
                if date_column
                else "null::date, null::date"
            )
            # Names come from the catalog, quoted as identifiers.
            parts.append(f'select count(*), {span} from "{schema}"."{name}"')
        counted = con.execute(
            " union all ".join(f"select {i} as position, * from ({q})" for i, q in enumerate(parts))
            + " order by position"
        ).fetchall()
        stats = [
            TableStats(
                schema,
                name,
                "view" if table_type == "VIEW" else "table",
                rows,
                first,
                last,
            )
            for (schema, name, table_type), (_, rows, first, last) in zip(
                objects, counted, strict=True
            )
        ]
    return stats


def run_loads(path: Path, since: datetime) -> list[tuple]:
    """Per asset and provider, what the loads since `since` (UTC) did."""
    with duckdb.connect(str(path), read_only=True) as con:
        if not con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = 'load_log'"
        ).fetchone()[0]:
            return []
        return con.execute(
            """
            select
                asset,
                provider,
                min(window_start),
                max(window_end),
                sum(rows_inserted),
                sum(rows_updated),
                sum(rows_unchanged),
                count(*) filter (where status <> 'failed'),
                string_agg(coalesce(scope, 'load'), ', ' order by scope)
                    filter (where status = 'failed'),
                string_agg(scope, ', ' order by scope) filter (where status = 'restated'),
            from raw.load_log
            where started_at >= ?
            group by asset, provider
            order by asset, provider
            """,
            [since],
        ).fetchall()


def print_summary(
    path: Path,
    status: str,
    seconds: float,
    since: datetime | None = None,
    console: Console | None = None,
) -> None:
    console = console or Console(width=max(Console().width, 150))
    if not path.exists():
        console.print(f"[bold]{status}[/bold] in {seconds:.1f} s; no warehouse at {path}")
        return
    if since is not None:
        loads = Table(title="Loads in this run", title_justify="left")
        for column in ("asset", "provider", "window", "inserted", "updated", "unchanged", "loads"):
            loads.add_column(
                column, no_wrap=column != "loads", min_width=36 if column == "loads" else None
            )
        for asset, provider, start, end, ins, upd, same, ok, failed, restated in run_loads(
            path, since
        ):
            outcome = f"{ok} ok"
            if restated:
                outcome += f"; history reloaded: {restated}"
            if failed:
                outcome += f"; [bold red]FAILED: {failed}[/bold red]"
            loads.add_row(
                asset, provider, f"{start} .. {end}", f"{ins:,}", f"{upd:,}", f"{same:,}", outcome
            )
        console.print(loads)
    table = Table(title=f"Warehouse {path}", title_justify="left")
    table.add_column("table", no_wrap=True)
    table.add_column("kind")
    table.add_column("rows", justify="right")
    table.add_column("from")
    table.add_column("to")
    for item in warehouse_stats(path):
        table.add_row(
            f"{item.schema}.{item.name}",
            item.kind,
            f"{item.rows:,}",
            str(item.first or ""),
            str(item.last or ""),
        )
    console.print(table)
    console.print(f"[bold]{status}[/bold] in {seconds:.1f} s")
