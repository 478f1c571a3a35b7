"""A short, readable account of what the warehouse holds, printed at the end of a run."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

DATE_COLUMNS = ("session_date", "observation_date", "as_of_date", "week_ending")


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
        stats = []
        for schema, name, table_type in objects:
            columns = {
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ?",
                    [schema, name],
                ).fetchall()
            }
            date_column = next((c for c in DATE_COLUMNS if c in columns), None)
            span = f", min({date_column}), max({date_column})" if date_column else ""
            # Names come from the catalog, quoted as identifiers.
            row = con.execute(f'select count(*){span} from "{schema}"."{name}"').fetchone()
            first, last = (row[1], row[2]) if date_column else (None, None)
            kind = "view" if table_type == "VIEW" else "table"
            stats.append(TableStats(schema, name, kind, row[0], first, last))
    return stats


def print_summary(path: Path, status: str, seconds: float, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Warehouse {path}", title_justify="left")
    table.add_column("table")
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
