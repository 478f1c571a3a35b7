"""Frame schemas at the provider boundary, checked with pandera.

Every provider returns one of three frames. They are validated before anything touches
the warehouse; a frame that fails raises `FrameValidationError` naming the provider,
the symbol or series, the date and the row of every problem found. The rules are at least
as strict as the dbt tests of the staging models, so a row the warehouse would reject
stops here, with its key, instead of failing a dbt test after it was stored. A frame's
columns, their types and its key are those of its raw table (`ingestion.tables`); the
rules below are added to them here.

prices     symbol, session_date, open, high, low, close, adj_close, volume, source
           key (symbol, session_date); prices in the instrument's currency; open, high,
           low, adj_close and volume may be missing (an index has no volume) but when
           present high >= max(open, close) >= min(open, close) >= low > 0, prices are
           finite and volume >= 0. session_date is an XNYS session, not after today in
           New York (a future session has no close).
rates      series_id, observation_date, value (percent, as FRED publishes, -1 .. 25),
           source; key (series_id, observation_date); missing observations are absent
           rows; observation_date is not after today in New York.
estimates  universe, fiscal_year (1990 .. 2100), as_of_date, eps_growth_pct (percent),
           source; key (universe, fiscal_year, as_of_date); as_of_date is not after
           today in New York.
sessions   session_date, market_open_at, market_close_at (UTC), is_early_close, source
           the XNYS calendar, from exchange_calendars.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ingestion import tables
from ingestion.calendar import future_date_problem, session_date_problem, today_in_new_york, xnys
from ingestion.pandera_import import SchemaErrors, pa

MAX_REPORTED_PROBLEMS = 20


@dataclass(frozen=True)
class Dataset:
    """What a provider frame holds, how it is checked, and the raw table it loads into."""

    name: str
    keys: tuple[str, ...]
    values: tuple[str, ...]
    schema: pa.DataFrameSchema
    table: str = ""
    # The key a refresh asks for (symbol, series, universe), and the date of each row,
    # checked against the clock and the calendar by `validate`.
    scope_column: str = ""
    date_column: str = ""
    sessions_only: bool = False
    not_after_today: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, *self.values, "source")


def _ge_or_missing(frame: pd.DataFrame, left: pd.Series, right: pd.Series) -> pd.Series:
    return (left >= right) | left.isna() | right.isna()


def _high_ok(frame: pd.DataFrame) -> pd.Series:
    upper = frame[["open", "close"]].max(axis=1)
    return _ge_or_missing(frame, frame["high"], upper)


def _low_ok(frame: pd.DataFrame) -> pd.Series:
    lower = frame[["open", "close"]].min(axis=1)
    return _ge_or_missing(frame, lower, frame["low"])


# The frame's dtype for each stored type; a nullable integer column is pandas' Int64.
FRAME_TYPES: dict[str, object] = {
    "varchar": str,
    "date": "datetime64[ns]",
    "timestamp": "datetime64[ns]",
    "double": float,
    "integer": "int64",
    "bigint": "int64",
    "boolean": bool,
}
_TEXT = [pa.Check.str_length(1, 40)]
_positive = pa.Check.gt(0)
_finite = pa.Check(lambda values: np.isfinite(values) | values.isna(), name="finite")
_price_checks = [_positive, _finite]


def _frame_column(column: tables.Column, checks: list[pa.Check]) -> pa.Column:
    """Text (keys and sources, 1 to 40 characters) is checked as given; every other column
    is coerced to its frame dtype."""
    dtype = FRAME_TYPES[column.sql_type]
    if dtype == "int64" and column.nullable:
        dtype = "Int64"
    if column.sql_type == "varchar":
        return pa.Column(dtype, [*_TEXT, *checks], nullable=column.nullable)
    return pa.Column(dtype, checks or None, nullable=column.nullable, coerce=True)


def _dataset(
    name: str,
    table: tables.RawTable,
    checks: dict[str, list[pa.Check]],
    frame_checks: list[pa.Check] | None = None,
    *,
    scope_column: str = "",
    date_column: str = "",
    sessions_only: bool = False,
    not_after_today: bool = False,
) -> Dataset:
    """The Dataset of a raw table: its key is the table's primary key, its columns the
    table's frame columns, each with the `checks` given for it by name."""
    columns = {column.name: column for column in table.columns}
    unknown = sorted(set(checks) - set(columns))
    if unknown:
        raise ValueError(f"raw.{table.name} has no column(s) {unknown} to check")
    schema = pa.DataFrameSchema(
        {n: _frame_column(column, checks.get(n, [])) for n, column in columns.items()},
        checks=frame_checks,
        unique=list(table.primary_key),
        strict=True,
    )
    return Dataset(
        name=name,
        keys=table.primary_key,
        values=tuple(n for n in columns if n not in table.primary_key and n != "source"),
        schema=schema,
        table=table.name,
        scope_column=scope_column,
        date_column=date_column,
        sessions_only=sessions_only,
        not_after_today=not_after_today,
    )


PRICES = _dataset(
    "prices",
    tables.PRICES,
    {
        **dict.fromkeys(("open", "high", "low", "close", "adj_close"), _price_checks),
        "volume": [pa.Check.ge(0)],
    },
    [
        pa.Check(_high_ok, error="high >= max(open, close)"),
        pa.Check(_low_ok, error="min(open, close) >= low"),
    ],
    scope_column="symbol",
    date_column="session_date",
    sessions_only=True,
    not_after_today=True,
)

RATES = _dataset(
    "rates",
    tables.RATES,
    # The range of the blocking raw check rates_are_plausible, inside the dbt test's
    # -5 .. 50: a value outside it would stop every mart.
    {"value": [pa.Check.in_range(-1.0, 25.0)]},
    scope_column="series_id",
    date_column="observation_date",
    not_after_today=True,
)

ESTIMATES = _dataset(
    "estimates",
    tables.EARNINGS_ESTIMATES,
    {
        # The range of stg_estimates__eps_growth's test of fiscal_year.
        "fiscal_year": [pa.Check.in_range(1990, 2100)],
        "eps_growth_pct": [pa.Check.in_range(-100.0, 1000.0)],
    },
    scope_column="universe",
    date_column="as_of_date",
    not_after_today=True,
)

SESSIONS = _dataset(
    "sessions",
    tables.SESSIONS,
    {},
    [pa.Check(lambda f: f["market_close_at"] > f["market_open_at"], error="close > open")],
    date_column="session_date",  # scheduled future sessions belong in the calendar
)


class FrameValidationError(ValueError):
    """A provider frame broke its schema; `problems` lists one sentence per bad row."""

    def __init__(self, provider: str, dataset: str, problems: list[str], total: int) -> None:
        self.provider = provider
        self.dataset = dataset
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems)
        more = f"\n  ... and {total - len(problems)} more" if total > len(problems) else ""
        super().__init__(
            f"provider {provider!r} returned an invalid {dataset} frame "
            f"({total} problem(s)):\n{shown}{more}"
        )


def _describe_row(frame: pd.DataFrame, dataset: Dataset, index: object) -> str:
    if index is None or pd.isna(index) or index not in frame.index:
        return "the frame as a whole"
    row = frame.loc[index]
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    position = frame.index.get_loc(index)
    keys = ", ".join(f"{k}={_show(row.get(k))}" for k in dataset.keys if k in row.index)
    return f"row {position} ({keys})" if keys else f"row {position}"


def _values(frame: pd.DataFrame, dataset: Dataset, index: object) -> str:
    if index is None or pd.isna(index) or index not in frame.index:
        return ""
    row = frame.loc[index]
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    shown = [f"{c}={_show(row[c])}" for c in dataset.values if c in row.index]
    return f" [{', '.join(shown)}]"


def _show(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def _position(index: object) -> int:
    try:
        return int(index)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return -1  # a problem of the frame as a whole sorts first


def _problems(frame: pd.DataFrame, dataset: Dataset, cases: pd.DataFrame) -> list[tuple[int, str]]:
    """(row position, sentence) per (row, rule), in row order."""
    problems: dict[tuple[int, str, str], str] = {}
    for case in cases.itertuples(index=False):
        check = str(case.check)
        frame_level = case.schema_context == "DataFrameSchema"
        if "unique" in check:
            rule = f"duplicate key ({', '.join(dataset.keys)})"
            detail = ""
        elif check in ("column_in_schema", "column_in_dataframe"):
            what = "unexpected column" if check == "column_in_schema" else "missing column"
            rule, detail = f"{what} {case.failure_case!r}", ""
        elif frame_level:
            rule, detail = check, _values(frame, dataset, case.index)
        else:
            rule = f"column {case.column!r} failed {check}"
            detail = f" (value {_show(case.failure_case)})"
        where = _describe_row(frame, dataset, case.index)
        order = _position(case.index)
        problems.setdefault((order, where, rule), f"{where}: {rule}{detail}")
    return [(key[0], problems[key]) for key in sorted(problems, key=lambda key: key[0])]


def _date_problems(frame: pd.DataFrame, dataset: Dataset, today: date) -> list[tuple[int, str]]:
    """(row position, sentence) for each date after `today` or, where only sessions may
    be, not an XNYS session. Dates that are not dates at all are pandera's to report."""
    column = dataset.date_column
    if not (dataset.sessions_only or dataset.not_after_today) or column not in frame.columns:
        return []
    days = pd.Series(pd.to_datetime(frame[column], errors="coerce")).dt.normalize()
    suspect = pd.Series(False, index=days.index)
    if dataset.not_after_today:
        suspect |= days > pd.Timestamp(today)
    if dataset.sessions_only:
        suspect |= ~days.isin(xnys().sessions)
    suspect &= days.notna()
    problems = []
    for position in np.flatnonzero(suspect.to_numpy()):
        day = days.iloc[position].date()
        why = (session_date_problem if dataset.sessions_only else future_date_problem)(day, today)
        if why is not None:
            where = _describe_row(frame, dataset, int(position))
            problems.append((int(position), f"{where}: {column} {why}"))
    return problems


def validate(
    frame: pd.DataFrame, dataset: Dataset, provider: str, today: date | None = None
) -> pd.DataFrame:
    """Return the frame coerced to its schema, or raise FrameValidationError. `today`
    (default: today in New York) is the latest date a row may carry."""
    # Row positions in messages must be unambiguous, whatever index the provider built.
    frame = frame.reset_index(drop=True)
    problems: list[tuple[int, str]] = []
    checked: pd.DataFrame | None = None
    try:
        checked = dataset.schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        problems = _problems(frame, dataset, exc.failure_cases)
    problems += _date_problems(frame, dataset, today or today_in_new_york())
    if problems or checked is None:
        problems.sort(key=lambda problem: problem[0])  # stable: schema rules first per row
        shown = [text for _position, text in problems]
        raise FrameValidationError(
            provider, dataset.name, shown[:MAX_REPORTED_PROBLEMS], len(shown)
        )
    return checked.loc[:, list(dataset.columns)].reset_index(drop=True)
