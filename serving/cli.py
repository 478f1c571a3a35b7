"""`warehouse`: a read-only command line for analysts over the published serving database.

The serving file (env `SERVING_PATH`, else `serving.duckdb` in the serving folder: SERVING_DIR,
or `serving/` beside the warehouse, i.e. `data/serving/serving.duckdb` by default)
is always attached READ_ONLY, which is the guarantee that nothing here can change it.
On top of that, every connection disables external access (no reading or writing other files,
no attaching, no extensions) and locks its configuration, and `query` accepts only a single
SELECT or EXPLAIN statement; DuckDB's own read-only refusals are reported with the same message.

Commands:
    warehouse query "SQL" [--format table|csv|json]
    warehouse marts [--format table|csv|json]
    warehouse describe MART [--format table|csv|json]

Identifiers are never built from user input: mart names are looked up in the DuckDB catalog,
and only names read back from the catalog are ever quoted into SQL.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ingestion.config import serving_dir_from_env, warehouse_path_from_env
from ingestion.paths import resolve_from_root
from serving.paths import SERVING_FILE

SERVING_ALIAS = "serving"
READ_ONLY_MESSAGE = "error: the serving warehouse is read-only"
ALLOWED_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
FORMATS = ("table", "csv", "json")
# Piped table output is laid out for this many columns; a terminal's own width otherwise.
PIPED_WIDTH = 100
_GRAIN = re.compile(r"\bgrain:\s*(.+?)\s*(?:\.(?=\s|$)|\n|$)", re.IGNORECASE)


class CliError(Exception):
    """A failure reported to the user as one line on stderr, with exit code 2."""


def serving_path(override: str | None = None) -> Path:
    """The serving file: `--serving`, else env SERVING_PATH, else the project default."""
    chosen = override or os.environ.get("SERVING_PATH")
    if chosen:
        return resolve_from_root(chosen)
    return serving_dir_from_env(warehouse_path_from_env()) / SERVING_FILE


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the serving file read-only, with external access disabled and settings locked.

    The file is attached READ_ONLY under the alias `serving` (then made the default and the
    empty in-memory database detached) rather than opened with `duckdb.connect(path,
    read_only=True)`: the file is called marts.duckdb, so DuckDB would name its catalog
    `marts` and every `marts.table` reference would be ambiguous with schema `marts`.
    """
    if not path.is_file():
        raise CliError(f"error: no serving warehouse at {path}; run `make run` first")
    con = duckdb.connect(":memory:")
    try:
        # ATTACH takes no parameters; the path is the operator's own, quoted as a literal.
        literal = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"attach {literal} as {SERVING_ALIAS} (read_only)")
        con.execute(f"use {SERVING_ALIAS}")
        con.execute("detach memory")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except duckdb.Error as exc:
        con.close()
        raise CliError(f"error: cannot open serving warehouse at {path}: {_one_line(exc)}") from exc
    return con


def _one_line(exc: BaseException) -> str:
    """DuckDB's message up to its source excerpt ("LINE 1: ..."), folded onto one line."""
    lines: list[str] = []
    for line in str(exc).splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines) or type(exc).__name__


def _query_error(exc: duckdb.Error) -> CliError:
    message = str(exc)
    if "read-only mode" in message or "configuration has been locked" in message:
        return CliError(READ_ONLY_MESSAGE)
    if isinstance(exc, duckdb.PermissionException):
        return CliError(f"error: external access is disabled for queries: {_one_line(exc)}")
    return CliError(f"error: {_one_line(exc)}")


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one SELECT/EXPLAIN statement; anything else is refused before it reaches DuckDB."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise _query_error(exc) from exc
    if not statements:
        raise CliError("error: no SQL statement given")
    if len(statements) > 1:
        raise CliError(f"error: expected one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in ALLOWED_STATEMENTS:
        raise CliError(f"{READ_ONLY_MESSAGE} ({kind.name} statements are refused; use SELECT)")
    try:
        result = con.execute(sql)
        columns = [column[0] for column in result.description or []]
        rows = result.fetchall() if columns else []
    except duckdb.Error as exc:
        raise _query_error(exc) from exc
    return columns, rows


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def mart_tables(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """Table name -> table comment for every table in schema `marts`, from the catalog."""
    rows = con.execute(
        "select table_name, comment from duckdb_tables() "
        "where database_name = current_database() and schema_name = 'marts' "
        "order by table_name"
    ).fetchall()
    return dict(rows)


def grain_of(comment: str | None) -> str:
    """The text after "Grain:" in a table comment, up to the end of its sentence; else ''."""
    match = _GRAIN.search(comment or "")
    return match.group(1) if match else ""


def _publication(con: duckdb.DuckDBPyConnection) -> tuple[Any, Any]:
    (present,) = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'meta' and table_name = 'publication'"
    ).fetchone()
    if not present:
        return None, None
    row = con.execute(
        "select data_through, published_at from meta.publication order by published_at desc"
    ).fetchone()
    return row if row else (None, None)


def latest_date(con: duckdb.DuckDBPyConnection, mart: str) -> date | None:
    """The newest date in any date or timestamp column of `mart` (its own data_through)."""
    columns = [
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'marts' and table_name = ? "
            "and data_type in ('DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE') "
            "order by column_index",
            [mart],
        ).fetchall()
    ]
    if not columns:
        return None
    newest = ", ".join(f"max({_quote(column)})::date" for column in columns)
    (value,) = con.execute(f"select greatest({newest}) from marts.{_quote(mart)}").fetchone()
    return value


def list_marts(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One row per mart: name, description, grain, rows, its latest date, the publication's."""
    data_through, published_at = _publication(con)
    rows = []
    for name, comment in mart_tables(con).items():
        (count,) = con.execute(f"select count(*) from marts.{_quote(name)}").fetchone()
        rows.append(
            (
                name,
                comment or "",
                grain_of(comment),
                count,
                latest_date(con, name),
                data_through,
                published_at,
            )
        )
    columns = [
        "name",
        "description",
        "grain",
        "rows",
        "latest_date",
        "data_through",
        "published_at",
    ]
    return columns, rows


def output_width() -> int:
    """The terminal's width, or PIPED_WIDTH when stdout is not a terminal."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size((PIPED_WIDTH, 24)).columns
    return PIPED_WIDTH


def render_marts(rows: Sequence[Sequence[Any]], width: int) -> str:
    """The `marts` table for a screen `width` columns wide: one line per mart.

    Names are never broken; descriptions are cut to what fits, with a pointer to
    `warehouse describe` for the whole text.
    """
    published = {(row[5], row[6]) for row in rows}
    data_through, published_at = next(iter(published)) if published else (None, None)
    when = published_at.strftime("%Y-%m-%d %H:%M UTC") if published_at else "never"
    title = f"marts: published {when}" + (
        f", sessions through {data_through.isoformat()}" if data_through else ""
    )
    counts = [f"{row[3]:,}" for row in rows]
    name_width = max((len(row[0]) for row in rows), default=4)
    rows_width = max((len(count) for count in counts), default=4)
    # Four columns: five rules and a space either side of each cell.
    room = width - name_width - max(rows_width, 4) - 10 - 13
    table = Table(caption="Whole descriptions and columns: warehouse describe <name>")
    table.add_column(Text("name"), no_wrap=True, width=name_width)
    table.add_column(Text("rows"), no_wrap=True, justify="right", width=max(rows_width, 4))
    table.add_column(Text("latest"), no_wrap=True, width=10)
    if room >= 12:
        table.add_column(Text("description"), no_wrap=True, width=room)
    for (name, comment, *_rest), count in zip(rows, counts, strict=True):
        latest = _rest[2]
        cells = [Text(name), Text(count), Text(latest.isoformat() if latest else "")]
        if room >= 12:
            first_line = comment.split("\n")[0]
            cells.append(
                Text(first_line if len(first_line) <= room else first_line[: room - 1] + "…")
            )
        table.add_row(*cells)
    console = Console(width=width, record=True, file=_Discard())
    console.print(Text(title))
    console.print(table)
    return console.export_text()


class _Discard:
    """A file that drops what rich prints while it records."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


def describe_mart(
    con: duckdb.DuckDBPyConnection, mart: str
) -> tuple[str, str, list[str], list[tuple[Any, ...]]]:
    """Columns, types and comments of one mart; the name must be a table in the catalog."""
    tables = mart_tables(con)
    wanted = mart.removeprefix("marts.")
    name = wanted if wanted in tables else None
    if name is None:
        folded = [table for table in tables if table.casefold() == wanted.casefold()]
        name = folded[0] if len(folded) == 1 else None
    if name is None:
        known = ", ".join(tables) or "(none)"
        raise CliError(f"error: unknown mart {mart!r}; known marts: {known}")
    rows = con.execute(
        "select column_name, data_type, coalesce(comment, '') from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'marts' "
        "and table_name = ? order by column_index",
        [name],
    ).fetchall()
    return name, tables[name] or "", ["column", "type", "description"], rows


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def emit(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, title: str | None = None
) -> None:
    """Write a result to stdout as a rich table, CSV with a header, or a JSON array."""
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(value) for value in row] for row in rows)
    elif fmt == "json":
        records = [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        json.dump(records, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        # On a terminal rich fits the width; piped output is not wrapped or cut.
        console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 10_000)
        if title:
            console.print(Text(title), soft_wrap=True)
        # Text, not str: rich would read "[...]" in data as markup.
        table = Table()
        for column in columns:
            table.add_column(Text(column), overflow="fold")
        for row in rows:
            table.add_row(*(Text("NULL" if value is None else _text(value)) for value in row))
        console.print(table)


def build_parser() -> argparse.ArgumentParser:
    """The `warehouse` argument parser."""
    parser = argparse.ArgumentParser(
        prog="warehouse", description="Read-only access to the published serving warehouse."
    )
    parser.add_argument(
        "--serving",
        metavar="PATH",
        help="serving DuckDB file (default: $SERVING_PATH, else data/serving/serving.duckdb)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    query = commands.add_parser("query", help="run one read-only SQL query")
    query.add_argument("sql", metavar="SQL")
    marts = commands.add_parser("marts", help="list the marts with row counts and freshness")
    describe = commands.add_parser("describe", help="columns, types and comments of one mart")
    describe.add_argument("mart", metavar="MART")
    for sub in (query, marts, describe):
        sub.add_argument("--format", choices=FORMATS, default="table")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 2 usage or query errors)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on usage errors
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    try:
        con = connect(serving_path(args.serving))
        try:
            if args.command == "query":
                columns, rows = run_query(con, args.sql)
                emit(columns, rows, args.format)
            elif args.command == "marts":
                columns, rows = list_marts(con)
                if args.format == "table":
                    sys.stdout.write(render_marts(rows, output_width()))
                else:
                    emit(columns, rows, args.format)
            else:
                name, comment, columns, rows = describe_mart(con, args.mart)
                title = f"marts.{name}" + (f": {comment}" if comment else "")
                emit(columns, rows, args.format, title=title)
        finally:
            con.close()
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except duckdb.Error as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
