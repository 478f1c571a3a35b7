"""Write docs/queries.md: questions analysts ask, the SQL that answers them, and its output.

    python docs/queries.py [WAREHOUSE]    (default: WAREHOUSE_PATH or data/warehouse.duckdb)

`make docs` builds a sample warehouse with a fixed end date first, so the file only
changes when the marts or the sample market do.
"""

import sys
from pathlib import Path

import duckdb

from ingestion.config import warehouse_path_from_env

QUERIES: list[tuple[str, str]] = [
    (
        "Weekly streak status of rut_vs_spx: who leads, for how long, and how that ranks",
        """
select pair_id, as_of, current_leader, current_length, current_streak_start,
       current_rank, longest_length_long, longest_length_short
from marts.streak_status
where pair_id = 'rut_vs_spx' and frequency = 'weekly'
""",
    ),
    (
        "Sectors in the leading quadrant last week",
        """
select sector_symbol, sector, style, round(rs_ratio, 2) as rs_ratio,
       round(rs_momentum, 2) as rs_momentum, rank_13w
from marts.sector_rotation_weekly
where week_ending = (select max(week_ending) from marts.sector_rotation_weekly)
  and quadrant = 'leading'
order by rs_ratio desc
""",
    ),
    (
        "Every Fed cut since 2019 with the small-cap spread 63 sessions later",
        """
select event_date, change_bps, target_upper, is_first_cut_of_cycle,
       round(rut_vs_spx_spread_63s, 4) as rut_vs_spx_spread_63s
from marts.policy_events
where action = 'cut' and event_date >= date '2019-01-01'
order by event_date
""",
    ),
    (
        "The longest runs of small-cap outperformance in each pair's history",
        """
select pair_id, frequency, streak_start, streak_end, length,
       round(cumulative_spread, 4) as cumulative_spread
from marts.outperformance_streaks
where leader = 'long' and rank_in_history = 1
order by pair_id, frequency, streak_start
""",
    ),
    (
        "The last five sessions at a glance",
        """
select session_date, rut_close, spx_close, round(rut_vs_spx_spread_ytd, 4) as spread_ytd,
       rut_vs_spx_weekly_streak_leader as weekly_leader,
       rut_vs_spx_weekly_streak_length as weeks, fed_target_upper, curve_2s10s,
       round(small_minus_large_growth, 4) as small_minus_large_growth, rut_is_record_close
from marts.market_pulse_daily
order by session_date desc
limit 5
""",
    ),
    (
        "Small caps against large caps in expected earnings growth, latest snapshot",
        """
select as_of_date, fiscal_year, round(small_cap_growth, 4) as small_cap_growth,
       round(large_cap_growth, 4) as large_cap_growth, round(tech_growth, 4) as tech_growth,
       round(small_minus_large, 4) as small_minus_large
from marts.earnings_growth_gap
where as_of_date = (select max(as_of_date) from marts.earnings_growth_gap)
order by fiscal_year
""",
    ),
    (
        "How long, and how deep, small caps have lagged the Magnificent 7: the longest "
        "underwater stretches of RUT against the basket",
        """
select peak_date, trough_date, recovery_date, sessions_underwater,
       round(depth, 4) as depth, is_current, rank_by_duration
from marts.relative_cycles
where pair_id = 'rut_vs_mag7'
order by rank_by_duration, peak_date
limit 5
""",
    ),
    (
        "The latest week's biggest stock winners and losers against their sector ETF",
        """
(select 'winner' as side, symbol, sector_symbol, round(return_13w, 4) as return_13w,
        round(relative_to_sector_13w, 4) as vs_sector_13w, basket_ids
 from marts.stock_performance_weekly
 where week_ending = (select max(week_ending) from marts.stock_performance_weekly)
 order by relative_to_sector_13w desc limit 3)
union all
(select 'loser', symbol, sector_symbol, round(return_13w, 4),
        round(relative_to_sector_13w, 4), basket_ids
 from marts.stock_performance_weekly
 where week_ending = (select max(week_ending) from marts.stock_performance_weekly)
 order by relative_to_sector_13w asc limit 3)
""",
    ),
    (
        "Did the Magnificent 7 carry the market? The last five sessions of the basket "
        "against small caps",
        """
select session_date, round(rut_return_1d, 4) as rut_return_1d,
       round(mag7_return_1d, 4) as mag7_return_1d,
       round(rut_vs_mag7_spread_1d, 4) as rut_vs_mag7_spread_1d,
       rut_vs_mag7_weekly_streak_leader, rut_vs_mag7_weekly_streak_length,
       rut_is_record_close, rut_is_record_high
from marts.market_pulse_daily
order by session_date desc
limit 5
""",
    ),
]


def _markdown_table(columns: list[str], rows: list[tuple]) -> str:
    def cell(value: object) -> str:
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render(con: duckdb.DuckDBPyConnection) -> str:
    last_session = con.execute("select max(session_date) from marts.market_pulse_daily").fetchone()[
        0
    ]
    parts = [
        "# Questions analysts ask, answered in SQL",
        "",
        "Generated by `docs/queries.py` (`make docs`) on the built-in sample market, data "
        f"through {last_session}. Every query runs as written against `marts`.",
    ]
    for title, sql in QUERIES:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        parts += [
            "",
            f"## {title}",
            "",
            "```sql",
            sql.strip(),
            "```",
            "",
            _markdown_table(columns, cursor.fetchall()),
        ]
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    warehouse = Path(argv[1]) if len(argv) > 1 else warehouse_path_from_env()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        text = render(con)
    target = Path(__file__).with_name("queries.md")
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} from {warehouse}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
