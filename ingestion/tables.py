"""The raw tables, column by column: names, types, NOT NULL and primary keys, once.

Everything else is derived from these definitions: the DDL (`RawTable.ddl`), the types
the loader casts a frame to (`RawTable.column_types`) and the frame schemas checked at the
provider boundary (`ingestion.schemas`). Every table a refresh loads also stamps each row
with the time and the id of the load that wrote it (`STAMP_COLUMNS`); `raw.load_log`
records each load.
"""

from dataclasses import dataclass

SCHEMA = "raw"


@dataclass(frozen=True)
class Column:
    """One column of a raw table."""

    name: str
    sql_type: str  # as DuckDB stores it
    nullable: bool = False


STAMP_COLUMNS = (Column("ingested_at", "timestamp"), Column("load_id", "varchar"))


@dataclass(frozen=True)
class RawTable:
    """One table of the raw schema. `columns` are those a provider's frame holds, in
    table order; with `stamped`, the `STAMP_COLUMNS` follow them."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    stamped: bool = True

    @property
    def stored_columns(self) -> tuple[Column, ...]:
        return (*self.columns, *STAMP_COLUMNS) if self.stamped else self.columns

    @property
    def column_types(self) -> dict[str, str]:
        return {column.name: column.sql_type for column in self.stored_columns}

    def column(self, name: str) -> Column:
        return next(column for column in self.stored_columns if column.name == name)

    @property
    def ddl(self) -> str:
        """`create table if not exists`; a one-column key is declared on its column."""
        inline = len(self.primary_key) == 1
        lines = []
        for column in self.stored_columns:
            line = f"{column.name} {column.sql_type}"
            line += "" if column.nullable else " not null"
            line += " primary key" if inline and column.name in self.primary_key else ""
            lines.append(line)
        if not inline:
            lines.append(f"primary key ({', '.join(self.primary_key)})")
        # Laid out as the statements always were: bench/data.py removes the key clause of
        # raw.prices by its text.
        body = ",\n".join(f"            {line}" for line in lines)
        return f"\n        create table if not exists {SCHEMA}.{self.name} (\n{body}\n        )"


def logged_name(table: str) -> str:
    """How raw.load_log's `asset` column names a table: `raw/<table>`."""
    return f"{SCHEMA}/{table}"


def _columns(spec: str) -> tuple[Column, ...]:
    """Columns from lines of `name type`, with `null` after the type of a nullable one."""
    columns = []
    for line in spec.strip().splitlines():
        name, sql_type, *rest = line.split()
        if rest not in ([], ["null"]):
            raise ValueError(f"column {line.strip()!r}: only `null` may follow the type")
        columns.append(Column(name, sql_type, nullable=bool(rest)))
    return tuple(columns)


PRICES = RawTable(
    "prices",
    _columns(
        """
        symbol            varchar
        session_date      date
        open              double     null
        high              double     null
        low               double     null
        close             double
        adj_close         double     null
        volume            bigint     null
        source            varchar
        """
    ),
    primary_key=("symbol", "session_date"),
)

RATES = RawTable(
    "rates",
    _columns(
        """
        series_id         varchar
        observation_date  date
        value             double
        source            varchar
        """
    ),
    primary_key=("series_id", "observation_date"),
)

EARNINGS_ESTIMATES = RawTable(
    "earnings_estimates",
    _columns(
        """
        universe          varchar
        fiscal_year       integer
        as_of_date        date
        eps_growth_pct    double
        source            varchar
        """
    ),
    primary_key=("universe", "fiscal_year", "as_of_date"),
)

SESSIONS = RawTable(
    "sessions",
    _columns(
        """
        session_date      date
        market_open_at    timestamp
        market_close_at   timestamp
        is_early_close    boolean
        source            varchar
        """
    ),
    primary_key=("session_date",),
)

LOAD_LOG = RawTable(
    "load_log",
    _columns(
        """
        load_id           varchar
        asset             varchar
        provider          varchar
        window_start      date       null
        window_end        date       null
        rows_received     bigint
        rows_inserted     bigint
        rows_updated      bigint
        rows_unchanged    bigint
        status            varchar
        error             varchar    null
        started_at        timestamp
        finished_at       timestamp
        scope             varchar    null
        """
    ),
    primary_key=("load_id",),
    stamped=False,
)

TABLES: dict[str, RawTable] = {
    table.name: table for table in (PRICES, RATES, EARNINGS_ESTIMATES, SESSIONS, LOAD_LOG)
}
