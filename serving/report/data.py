"""The frames behind the report's charts, read from the serving database.

Each function takes a read-only connection to the serving file and returns a small
pandas frame; the SQL lives here so the charts never touch the database.
"""

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

STREAK_PAIR = "rut_vs_spx"
SMALL_CAP_PAIR = "rut_vs_spx"
BASKET_PAIR = "rut_vs_mag7"
ROTATION_TRAIL_WEEKS = 5
MOVERS = 5  # stock leaders and laggards shown
# a pair's rs_line as 100 on its first session (within the rows a query selects)
REBASED_RS_LINE = (
    "100 * rs_line / first_value(rs_line) over ("
    "order by session_date rows between unbounded preceding and unbounded following)"
)


@dataclass(frozen=True)
class ReportData:
    published_at: object
    data_through: date
    ytd_spreads: pd.DataFrame
    weekly_streaks: pd.DataFrame
    rotation: pd.DataFrame
    fed_and_spread: pd.DataFrame
    policy_events: pd.DataFrame
    growth_gap: pd.DataFrame
    streak_status: pd.DataFrame
    leading_sectors: pd.DataFrame
    basket_strength: pd.DataFrame
    basket_cycles: pd.DataFrame
    stock_movers: pd.DataFrame


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pd.DataFrame:
    return con.execute(sql, params).df()


def ytd_spreads(con: duckdb.DuckDBPyConnection, through: date) -> pd.DataFrame:
    """spread_ytd of every pair over the calendar year of the last session."""
    return _frame(
        con,
        "select pair_id, session_date, spread_ytd from marts.divergence_daily "
        "where session_date >= make_date(year(?::date), 1, 1) and spread_ytd is not null "
        "order by pair_id, session_date",
        [through],
    )


def weekly_streaks(con: duckdb.DuckDBPyConnection, through: date) -> pd.DataFrame:
    """Every weekly streak of the headline pair through `through`, oldest first."""
    return _frame(
        con,
        "select streak_start, streak_end, leader, length, cumulative_spread, is_current "
        "from marts.outperformance_streaks "
        "where pair_id = ? and frequency = 'weekly' and streak_start <= ?::date "
        "order by streak_start",
        [STREAK_PAIR, through],
    )


def rotation(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The last few weeks of rs_ratio / rs_momentum of every sector ETF."""
    return _frame(
        con,
        "with weeks as ("
        "  select distinct week_ending from marts.sector_rotation_weekly "
        "  where rs_ratio is not null and rs_momentum is not null "
        "  order by week_ending desc limit ?"
        ") "
        "select sector_symbol, sector, week_ending, rs_ratio, rs_momentum, quadrant "
        "from marts.sector_rotation_weekly join weeks using (week_ending) "
        "where rs_ratio is not null and rs_momentum is not null "
        "order by sector_symbol, week_ending",
        [ROTATION_TRAIL_WEEKS],
    )


def fed_and_spread(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The Fed target range by day beside the small-cap pair's relative strength."""
    return _frame(
        con,
        "with spread as ("
        "  select session_date, rs_line from marts.divergence_daily where pair_id = ?"
        "), rebased as ("
        f"  select session_date, {REBASED_RS_LINE} as rs_rebased "
        "  from spread where rs_line is not null"
        ") "
        "select session_date, rs_rebased, fed_target_lower, fed_target_upper "
        "from rebased left join marts.rates_regime_daily "
        "  on rates_regime_daily.observation_date = rebased.session_date "
        "order by session_date",
        [SMALL_CAP_PAIR],
    )


def policy_events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return _frame(
        con,
        "select event_date, action, change_bps, target_lower, target_upper "
        "from marts.policy_events order by event_date",
        [],
    )


def growth_gap(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Growth gaps for the current and the next fiscal year of each estimate snapshot."""
    return _frame(
        con,
        "select as_of_date, fiscal_year - year(as_of_date) as years_ahead, "
        "small_minus_large, tech_minus_small from marts.earnings_growth_gap "
        "where fiscal_year - year(as_of_date) in (0, 1) order by as_of_date",
        [],
    )


def streak_status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return _frame(
        con,
        "select pair_id, frequency, as_of, current_leader, current_length, current_rank "
        "from marts.streak_status order by frequency, pair_id",
        [],
    )


def leading_sectors(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The latest week's sectors, strongest relative strength first."""
    return _frame(
        con,
        "select sector_symbol, sector, week_ending, quadrant, rs_ratio, rs_momentum, rank_13w "
        "from marts.sector_rotation_weekly "
        "where week_ending = (select max(week_ending) from marts.sector_rotation_weekly) "
        "order by rank_13w nulls last, sector_symbol",
        [],
    )


def basket_strength(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """RUT against the Magnificent 7 basket: its relative-strength line, rebased to 100."""
    return _frame(
        con,
        f"select session_date, {REBASED_RS_LINE} as rs_rebased, rs_line_drawdown "
        "from marts.divergence_daily where pair_id = ? and rs_line is not null "
        "order by session_date",
        [BASKET_PAIR],
    )


def basket_cycles(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The underwater stretches of the same line (relative_cycles), oldest first."""
    return _frame(
        con,
        "select peak_date, trough_date, recovery_date, depth, sessions_underwater, "
        "is_current, rank_by_duration from marts.relative_cycles where pair_id = ? "
        "order by peak_date",
        [BASKET_PAIR],
    )


def stock_movers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The latest week's stocks furthest ahead of and behind their sector ETF over 13
    weeks: the leaders first, then the laggards (`side`)."""
    return _frame(
        con,
        "with latest as ("
        "  select * from marts.stock_performance_weekly "
        "  where week_ending = (select max(week_ending) from marts.stock_performance_weekly) "
        "  and relative_to_sector_13w is not null"
        "), ranked as ("
        "  select *, row_number() over (order by relative_to_sector_13w desc, symbol) as up, "
        "  row_number() over (order by relative_to_sector_13w, symbol) as down from latest"
        ") "
        "select case when up <= ? then 'leader' else 'laggard' end as side, symbol, "
        "sector_symbol, week_ending, return_1w, return_13w, relative_to_sector_13w, "
        "drawdown_from_high from ranked where up <= ? or down <= ? "
        "order by relative_to_sector_13w desc, symbol",
        [MOVERS, MOVERS, MOVERS],
    )


def load(con: duckdb.DuckDBPyConnection) -> ReportData:
    published_at, data_through = con.execute(
        "select published_at, data_through from meta.publication"
    ).fetchone()
    if data_through is None:
        raise ValueError("the serving file holds no market data (meta.publication is empty)")
    return ReportData(
        published_at=published_at,
        data_through=data_through,
        ytd_spreads=ytd_spreads(con, data_through),
        weekly_streaks=weekly_streaks(con, data_through),
        rotation=rotation(con),
        fed_and_spread=fed_and_spread(con),
        policy_events=policy_events(con),
        growth_gap=growth_gap(con),
        streak_status=streak_status(con),
        leading_sectors=leading_sectors(con),
        basket_strength=basket_strength(con),
        basket_cycles=basket_cycles(con),
        stock_movers=stock_movers(con),
    )
