"""Earnings-estimate snapshots as CSV: EPS growth per universe, fiscal year and date.

The format of the files provider's estimates/*.csv and of the files analysts drop in the
landing zone (`ingestion.landing`). Columns, in any order and any case: as_of_date,
universe, fiscal_year, eps_growth_pct and an optional source; any other column is refused.
A repeated (universe, fiscal_year, as_of_date) or an as_of_date after today in New York is
an error naming file and line (`FileFormatError`).
"""

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

from ingestion.calendar import today_in_new_york
from ingestion.providers.csv_reading import (
    FileFormatError,
    check_not_future,
    date_series,
    decode,
    normalise_header,
    parse_date,
    parse_number,
    read_rows,
)
from ingestion.providers.vendor_csv import SOURCE
from ingestion.universe import UNIVERSE_PATTERN

ESTIMATE_COLUMNS = ("as_of_date", "universe", "fiscal_year", "eps_growth_pct")
ESTIMATE_OPTIONAL = ("source",)
_ESTIMATE_KNOWN = frozenset((*ESTIMATE_COLUMNS, *ESTIMATE_OPTIONAL))
YEAR_TEXT = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class EstimateRow:
    """One checked row of an estimates file, with the file and line it came from."""

    universe: str
    fiscal_year: int
    as_of_date: date
    eps_growth_pct: float
    source: str
    file: str
    line: int

    @property
    def key(self) -> tuple[str, int, date]:
        return (self.universe, self.fiscal_year, self.as_of_date)


def read_estimate_rows(
    body: bytes, *, file: str, default_source: str, today: date | None = None
) -> list[EstimateRow]:
    """Every row of an estimates CSV, checked; duplicate keys are an error, and so is an
    as_of_date after `today` (default: today in New York): no snapshot is from the future.

    Columns (any order, any case): as_of_date, universe, fiscal_year, eps_growth_pct and
    an optional source (empty or absent: `default_source`). Other columns are refused,
    so a misspelt one is not silently dropped.
    """
    today = today or today_in_new_york()
    header, rows = read_rows(decode(body, file), file)
    names = [normalise_header(h) for h in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FileFormatError(f"{file}: column(s) {repeated} appear more than once")
    missing = [c for c in ESTIMATE_COLUMNS if c not in names]
    if missing:
        raise FileFormatError(f"{file}: missing column(s) {missing}; header found: {header}")
    unexpected = [h for h, n in zip(header, names, strict=True) if n not in _ESTIMATE_KNOWN]
    if unexpected:
        raise FileFormatError(
            f"{file}: unexpected column(s) {unexpected}; the columns are "
            f"{', '.join(ESTIMATE_COLUMNS)} and optionally source"
        )
    at = {n: i for i, n in enumerate(names)}
    parsed: list[EstimateRow] = []
    seen: dict[tuple[str, int, date], int] = {}
    for line, fields in rows:
        where = f"{file} line {line}"
        row = _estimate_row(fields, at, where, default_source, file, line)
        check_not_future(row.as_of_date, today, where, "as_of_date")
        if row.key in seen:
            raise FileFormatError(
                f"{where}: universe={row.universe}, fiscal_year={row.fiscal_year}, "
                f"as_of_date={row.as_of_date} repeats line {seen[row.key]}"
            )
        seen[row.key] = line
        parsed.append(row)
    return parsed


def _estimate_row(
    fields: list[str], at: dict[str, int], where: str, default_source: str, file: str, line: int
) -> EstimateRow:
    def text(column: str) -> str:
        value = fields[at[column]].strip() if column in at else ""
        if column in ESTIMATE_COLUMNS and not value:
            raise FileFormatError(f"{where}: {column} is empty")
        return value

    as_of = parse_date(text("as_of_date"), where, "as_of_date")
    universe = text("universe")
    if not UNIVERSE_PATTERN.match(universe):
        raise FileFormatError(
            f"{where}: universe {universe!r} is not a universe name "
            "(lower-case letters, digits and _, as in estimate_universes.csv)"
        )
    year_text = text("fiscal_year")
    if not YEAR_TEXT.match(year_text):
        raise FileFormatError(f"{where}: fiscal_year {year_text!r} is not a four-digit year")
    growth = parse_number(text("eps_growth_pct"), where, "eps_growth_pct")
    if growth is None:
        raise FileFormatError(f"{where}: eps_growth_pct is missing")
    return EstimateRow(
        universe=universe,
        fiscal_year=int(year_text),
        as_of_date=as_of,
        eps_growth_pct=growth,
        source=text("source") or default_source,
        file=file,
        line=line,
    )


def estimates_frame(rows: list[EstimateRow], sort: bool = True) -> pd.DataFrame:
    """The ESTIMATES frame of `rows`, sorted by key unless `sort` is False."""
    frame = pd.DataFrame(
        {
            "universe": pd.Series([r.universe for r in rows], dtype="str"),
            "fiscal_year": pd.Series([r.fiscal_year for r in rows], dtype="int64"),
            "as_of_date": date_series(r.as_of_date for r in rows),
            "eps_growth_pct": pd.Series([r.eps_growth_pct for r in rows], dtype="float64"),
            "source": pd.Series([r.source for r in rows], dtype="str"),
        }
    )
    if not sort:
        return frame
    return frame.sort_values(["universe", "fiscal_year", "as_of_date"], ignore_index=True)


def parse_estimates_csv(
    body: bytes, *, file: str, default_source: str = SOURCE, today: date | None = None
) -> pd.DataFrame:
    """An ESTIMATES frame of every row of one estimates CSV."""
    return estimates_frame(
        read_estimate_rows(body, file=file, default_source=default_source, today=today)
    )
