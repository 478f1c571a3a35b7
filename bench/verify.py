"""Equality of a baseline with the marts on a sample of pairs, so every race is fair.

Floats are compared with a relative tolerance (pandas' rolling statistics and the
telescoped compounded returns differ from DuckDB's in the last bits), everything else
exactly, nulls as equal."""

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from bench.pandas_common import DAILY_COLUMNS, STREAK_COLUMNS

RTOL = 1e-6
ATOL = 1e-9
DAILY_KEY = ["pair_id", "session_date"]
STREAK_KEY = ["pair_id", "frequency", "streak_start"]


@dataclass
class Check:
    """The outcome of one comparison: rows compared and the differences found."""

    name: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rows > 0 and not self.problems


def sample_pairs(warehouse: str, count: int = 6) -> list[str]:
    """A fixed, spread-out sample: rut_vs_spx and generated pairs across the list."""
    con = duckdb.connect(warehouse, read_only=True)
    ids = [r[0] for r in con.execute("select pair_id from universe.pairs order by 1").fetchall()]
    con.close()
    step = max(1, len(ids) // count)
    chosen = {"rut_vs_spx", *ids[::step][:count]}
    return sorted(chosen & set(ids))


def mart_rows(warehouse: str, table: str, pair_ids: list[str], catalog: str = "") -> pd.DataFrame:
    con = duckdb.connect(warehouse, read_only=True)
    columns = DAILY_COLUMNS if table == "divergence_daily" else STREAK_COLUMNS
    prefix = f"{catalog}." if catalog else ""
    frame = con.execute(
        f"select {', '.join(columns)} from {prefix}marts.{table} where pair_id in "
        f"(select unnest(?::varchar[]))",
        [pair_ids],
    ).df()
    con.close()
    return frame


def _normal(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if "date" in column or column in ("streak_start", "streak_end"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame.sort_values(key, ignore_index=True)


def compare(name: str, expected: pd.DataFrame, actual: pd.DataFrame, key: list[str]) -> Check:
    """Row by row and column by column: `expected` (the mart) against `actual`."""
    check = Check(name, rows=len(expected))
    expected, actual = _normal(expected, key), _normal(actual, key)
    if len(expected) != len(actual):
        check.problems.append(f"{len(expected)} rows in the mart, {len(actual)} in the baseline")
        return check
    for column in expected.columns:
        left, right = expected[column], actual[column]
        if pd.api.types.is_float_dtype(left) or pd.api.types.is_float_dtype(right):
            a = left.astype("float64").to_numpy()
            b = pd.to_numeric(right, errors="coerce").astype("float64").to_numpy()
            same = np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            a = left.astype(object).where(left.notna(), None).to_numpy()
            b = right.astype(object).where(right.notna(), None).to_numpy()
            same = np.array([x == y for x, y in zip(a, b, strict=True)])
        if not same.all():
            row = int(np.flatnonzero(~same)[0])
            where = ", ".join(str(expected.loc[row, k]) for k in key)
            check.problems.append(
                f"{column}: {int((~same).sum())} rows differ, first at ({where}): "
                f"mart {a[row]!r}, baseline {b[row]!r}"
            )
    return check


def check_daily(warehouse: str, pair_ids: list[str], actual: pd.DataFrame, name: str) -> Check:
    expected = mart_rows(warehouse, "divergence_daily", pair_ids)
    return compare(name, expected, actual[actual["pair_id"].isin(pair_ids)], DAILY_KEY)


def check_streaks(warehouse: str, pair_ids: list[str], actual: pd.DataFrame, name: str) -> Check:
    expected = mart_rows(warehouse, "outperformance_streaks", pair_ids)
    return compare(name, expected, actual[actual["pair_id"].isin(pair_ids)], STREAK_KEY)
