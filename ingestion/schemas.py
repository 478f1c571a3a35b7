"""Frame schemas at the provider boundary, checked with pandera.

Every provider returns one of three frames. They are validated before anything touches
the warehouse; a frame that fails raises `FrameValidationError` naming the provider,
the symbol or series, the date and the row of every problem found.

prices     symbol, session_date, open, high, low, close, adj_close, volume, source
           key (symbol, session_date); prices in the instrument's currency; open, high,
           low, adj_close and volume may be missing (an index has no volume) but when
           present high >= max(open, close) >= min(open, close) >= low > 0 and volume >= 0.
rates      series_id, observation_date, value (percent, as FRED publishes), source
           key (series_id, observation_date); missing observations are absent rows.
estimates  universe, fiscal_year, as_of_date, eps_growth_pct (percent), source
           key (universe, fiscal_year, as_of_date).
sessions   session_date, market_open_at, market_close_at (UTC), is_early_close, source
           the XNYS calendar, from exchange_calendars.
"""

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

MAX_REPORTED_PROBLEMS = 20


@dataclass(frozen=True)
class Dataset:
    name: str
    keys: tuple[str, ...]
    values: tuple[str, ...]
    schema: pa.DataFrameSchema

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


_positive = pa.Check.gt(0)
_text_key = pa.Column(str, checks=pa.Check.str_length(1, 40), nullable=False)

PRICES = Dataset(
    name="prices",
    keys=("symbol", "session_date"),
    values=("open", "high", "low", "close", "adj_close", "volume"),
    schema=pa.DataFrameSchema(
        {
            "symbol": _text_key,
            "session_date": pa.Column("datetime64[ns]", nullable=False, coerce=True),
            "open": pa.Column(float, _positive, nullable=True, coerce=True),
            "high": pa.Column(float, _positive, nullable=True, coerce=True),
            "low": pa.Column(float, _positive, nullable=True, coerce=True),
            "close": pa.Column(float, _positive, nullable=False, coerce=True),
            "adj_close": pa.Column(float, _positive, nullable=True, coerce=True),
            "volume": pa.Column("Int64", pa.Check.ge(0), nullable=True, coerce=True),
            "source": _text_key,
        },
        checks=[
            pa.Check(_high_ok, error="high >= max(open, close)"),
            pa.Check(_low_ok, error="min(open, close) >= low"),
        ],
        unique=["symbol", "session_date"],
        strict=True,
        ordered=False,
    ),
)

RATES = Dataset(
    name="rates",
    keys=("series_id", "observation_date"),
    values=("value",),
    schema=pa.DataFrameSchema(
        {
            "series_id": _text_key,
            "observation_date": pa.Column("datetime64[ns]", nullable=False, coerce=True),
            "value": pa.Column(float, pa.Check.in_range(-5.0, 50.0), nullable=False, coerce=True),
            "source": _text_key,
        },
        unique=["series_id", "observation_date"],
        strict=True,
    ),
)

ESTIMATES = Dataset(
    name="estimates",
    keys=("universe", "fiscal_year", "as_of_date"),
    values=("eps_growth_pct",),
    schema=pa.DataFrameSchema(
        {
            "universe": _text_key,
            "fiscal_year": pa.Column("int64", pa.Check.in_range(1900, 2200), coerce=True),
            "as_of_date": pa.Column("datetime64[ns]", nullable=False, coerce=True),
            "eps_growth_pct": pa.Column(
                float, pa.Check.in_range(-100.0, 1000.0), nullable=False, coerce=True
            ),
            "source": _text_key,
        },
        unique=["universe", "fiscal_year", "as_of_date"],
        strict=True,
    ),
)

SESSIONS = Dataset(
    name="sessions",
    keys=("session_date",),
    values=("market_open_at", "market_close_at", "is_early_close"),
    schema=pa.DataFrameSchema(
        {
            "session_date": pa.Column("datetime64[ns]", nullable=False, coerce=True),
            "market_open_at": pa.Column("datetime64[ns]", nullable=False, coerce=True),
            "market_close_at": pa.Column("datetime64[ns]", nullable=False, coerce=True),
            "is_early_close": pa.Column(bool, nullable=False, coerce=True),
            "source": _text_key,
        },
        checks=pa.Check(lambda f: f["market_close_at"] > f["market_open_at"], error="close > open"),
        unique=["session_date"],
        strict=True,
    ),
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


def _problems(frame: pd.DataFrame, dataset: Dataset, cases: pd.DataFrame) -> list[str]:
    """One sentence per (row, rule), in row order."""
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
    return [problems[key] for key in sorted(problems, key=lambda key: key[0])]


def validate(frame: pd.DataFrame, dataset: Dataset, provider: str) -> pd.DataFrame:
    """Return the frame coerced to its schema, or raise FrameValidationError."""
    # Row positions in messages must be unambiguous, whatever index the provider built.
    frame = frame.reset_index(drop=True)
    try:
        checked = dataset.schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        problems = _problems(frame, dataset, exc.failure_cases)
        raise FrameValidationError(
            provider, dataset.name, problems[:MAX_REPORTED_PROBLEMS], len(problems)
        ) from None
    return checked.loc[:, list(dataset.columns)].reset_index(drop=True)
