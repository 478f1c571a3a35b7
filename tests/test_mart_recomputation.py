"""The marts of the sample build against the spec: every rolling window fills, and fills
exactly when its window is full; and every mart equals an independent recomputation
from the staging tables (tests/mart_recomputation.py, pandas and numpy from the formulas
of spec/marts.md), floats to 1e-9, everything else exactly.

The sample market has no tie in the window (two legs never move by exactly the same
fraction), so a second build of the same raw data with two ties put in checks how ties
end streaks and runs.
"""

import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests import mart_recomputation as recomputation
from tests.dbt_cli import run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.long]


def _mart(path: Path, mart: str, order: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select * from marts.{mart} order by {order}").df()


# -- windows ----------------------------------------------------------------------------
# (mart, partition, order, column, the row of its partition on which the column first
# has a value). A pair's or sector's first row has a price but no return, so an N-period
# return first exists on row N + 1; a mean of N values on row N. The z-score needs 252
# values of spread_20d, which starts on row 21: 20 + 252 = 272. The correlation needs 60
# pairs of returns: row 61. rs_ratio needs 10 rs_line values (row 10), rs_momentum 4
# rs_ratio values (rows 10-13), rank_change_4w a rank 4 weeks earlier (rank_13w starts
# with the 13-week return on row 14, so row 18).
ROLLING: list[tuple[str, str | None, str, str, int]] = [
    *[
        ("divergence_daily", "pair_id", "session_date", f"{leg}_{window}", first)
        for window, first in (("1d", 2), ("5d", 6), ("20d", 21))
        for leg in ("long_return", "short_return", "spread")
    ],
    ("divergence_daily", "pair_id", "session_date", "rs_line_sma_50", 50),
    ("divergence_daily", "pair_id", "session_date", "correlation_60d", 61),
    ("divergence_daily", "pair_id", "session_date", "spread_20d_zscore", 272),
    ("divergence_daily", "pair_id", "session_date", "leader", 2),
    ("divergence_daily", "pair_id", "session_date", "is_divergent_day", 2),
    ("divergence_daily", "pair_id", "session_date", "streak_length", 2),
    *[
        ("divergence_weekly", "pair_id", "week_ending", f"{leg}_{weeks}w", weeks + 1)
        for weeks in (1, 4, 13)
        for leg in ("long_return", "short_return", "spread")
    ],
    ("divergence_weekly", "pair_id", "week_ending", "streak_length", 2),
    *[
        ("sector_rotation_weekly", "sector_symbol", "week_ending", f"{leg}_{weeks}w", weeks + 1)
        for weeks in (1, 4, 13)
        for leg in ("sector_return", "benchmark_return", "relative_return")
    ],
    ("sector_rotation_weekly", "sector_symbol", "week_ending", "rs_ratio", 10),
    ("sector_rotation_weekly", "sector_symbol", "week_ending", "rs_momentum", 13),
    ("sector_rotation_weekly", "sector_symbol", "week_ending", "quadrant", 13),
    ("sector_rotation_weekly", "sector_symbol", "week_ending", "previous_quadrant", 14),
    ("sector_rotation_weekly", "sector_symbol", "week_ending", "rank_13w", 14),
    ("sector_rotation_weekly", "sector_symbol", "week_ending", "rank_change_4w", 18),
    # every sector starts on the same week in the sample
    ("sector_leadership_weekly", None, "week_ending", "growth_minus_cyclical_4w", 5),
    ("sector_leadership_weekly", None, "week_ending", "cyclical_minus_defensive_4w", 5),
    ("sector_leadership_weekly", None, "week_ending", "top_sector", 14),
    ("sector_leadership_weekly", None, "week_ending", "bottom_sector", 14),
    *[
        ("stock_performance_weekly", "symbol", "week_ending", column, first)
        for column, first in (
            ("return_1w", 2),
            ("return_4w", 5),
            ("return_13w", 14),
            ("relative_to_sector_13w", 14),
            ("relative_to_spx_13w", 14),
            ("drawdown_from_52w_high", 52),
            ("rank_13w", 14),
            ("rank_change_4w", 18),
        )
    ],
    ("rates_regime_daily", None, "observation_date", "policy_change_bps", 2),
    *[
        ("market_pulse_daily", None, "session_date", f"{index}_return_1d", 2)
        for index in ("rut", "ixic", "ndx", "spx")
    ],
    ("market_pulse_daily", None, "session_date", "rut_vs_ixic_spread_1d", 2),
    ("market_pulse_daily", None, "session_date", "rut_vs_spx_spread_1d", 2),
    ("earnings_outlook", "universe, fiscal_year", "as_of_date", "previous_estimate", 2),
    ("earnings_outlook", "universe, fiscal_year", "as_of_date", "revision", 2),
]


def _first_rows_with_a_value(
    path: Path, mart: str, partition: str | None, order: str, column: str
) -> pd.DataFrame:
    """Per partition: its rows, the first row with a value, and the rows without one."""
    over = f"partition by {partition} " if partition else ""
    groups = f"concat_ws('/', {partition})" if partition else "'all'"
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            f"""
            with numbered as (
                select {groups} as part, {column} is not null as has_value,
                    row_number() over ({over}order by {order}) as row_in_partition
                from marts.{mart}
            )
            select part::varchar as part, count(*) as row_count,
                min(row_in_partition) filter (where has_value) as first_with_value,
                count(*) filter (where not has_value) as rows_without_value
            from numbered group by all order by 1
            """
        ).df()


@pytest.mark.parametrize(
    ("mart", "partition", "order", "column", "first"),
    ROLLING,
    ids=[f"{mart}.{column}" for mart, _p, _o, column, _f in ROLLING],
)
def test_a_rolling_column_is_null_exactly_until_its_window_is_full(
    built, mart, partition, order, column, first
):
    path, _result, _instance = built
    rows = _first_rows_with_a_value(path, mart, partition, order, column)
    assert len(rows) > 0
    # the sample has a price for every symbol on every session: once full, always full
    expected = rows.assign(first_with_value=first, rows_without_value=first - 1)
    assert rows["row_count"].min() > first, f"{mart}: the sample window is too short"
    assert rows.to_dict("records") == expected.to_dict("records")


def test_month_and_year_to_date_spreads_start_after_the_first_month_and_year(built):
    path, _result, _instance = built
    daily = _mart(path, "divergence_daily", "pair_id, session_date")
    first_day = daily.groupby("pair_id")["session_date"].transform("min")
    in_first_month = daily["session_date"].dt.to_period("M") == first_day.dt.to_period("M")
    in_first_year = daily["session_date"].dt.year == first_day.dt.year
    # 2021-09-01 .. 2021-09-30 have no August in the data, 2021 has no 2020 year end
    assert daily.loc[in_first_month, "session_date"].max() == pd.Timestamp("2021-09-30")
    assert daily["spread_mtd"].isna().equals(in_first_month)
    assert daily["spread_ytd"].isna().equals(in_first_year)
    pulse = _mart(path, "market_pulse_daily", "session_date")
    assert pulse["rut_vs_spx_spread_ytd"].isna().equals(pulse["session_date"].dt.year == 2021)


def test_the_weekly_streak_of_the_pulse_starts_with_the_second_week(built):
    path, _result, _instance = built
    pulse = _mart(path, "market_pulse_daily", "session_date")
    # The first week (ending Friday 2021-09-03) has no weekly return, so no leader; the
    # second ends on Friday 2021-09-10.
    with_streak = pulse["rut_vs_spx_weekly_streak_length"].notna()
    assert pulse.loc[with_streak, "session_date"].min() == pd.Timestamp("2021-09-10")
    assert with_streak.equals(pulse["session_date"] >= pd.Timestamp("2021-09-10"))


def test_days_since_the_last_policy_change_start_with_the_first_change(built):
    path, _result, _instance = built
    regime = _mart(path, "rates_regime_daily", "observation_date")
    # The sample Fed's first change inside the window: a hike effective 2021-09-21.
    first_change = regime.loc[regime["policy_change_bps"].fillna(0) != 0, "observation_date"].min()
    assert first_change == pd.Timestamp("2021-09-21")
    before = regime["observation_date"] < first_change
    assert regime["days_since_last_change"].isna().equals(before)
    assert regime.loc[~before, "days_since_last_change"].iloc[0] == 0


def test_each_event_study_spread_exists_once_its_sessions_have_happened(built):
    path, _result, _instance = built
    events = _mart(path, "policy_events", "event_date")
    assert len(events) == 9  # two hikes in 2021, seven cuts from 2022-11-02
    for sessions in (21, 63, 126):
        spread = events[f"rut_vs_spx_spread_{sessions}s"]
        assert spread.notna().any()
        assert spread.notna().equals(events["sessions_after_event"] >= sessions)
    # The last cut, 2023-09-21, is a session; 135 sessions follow it up to 2024-04-05.
    last = events.iloc[-1]
    assert (last["event_date"], last["event_session_date"]) == (pd.Timestamp("2023-09-21"),) * 2
    assert last["sessions_after_event"] == 135


def test_the_window_holds_a_hike_to_cut_turn_and_later_cuts(built):
    path, _result, _instance = built
    events = _mart(path, "policy_events", "event_date")
    flags = dict(
        zip(events["event_date"].dt.date.astype(str), events["is_first_cut_of_cycle"], strict=True)
    )
    assert flags == {
        "2021-09-21": False,  # hike
        "2021-11-02": False,  # hike
        "2022-11-02": True,  # a cut after a hike
        **dict.fromkeys(
            ["2022-12-14", "2023-02-01", "2023-05-04", "2023-06-15", "2023-07-27", "2023-09-21"],
            False,
        ),
    }


# -- recomputation ----------------------------------------------------------------------
# The spec's public columns, which the recomputation must cover; the marts' other
# columns are compared too whenever the recomputation has them.
SPEC_COLUMNS: dict[str, list[str]] = {
    "divergence_daily": ["long_symbol", "short_symbol", "long_price", "short_price",
                         "long_return_1d", "short_return_1d", "spread_1d", "spread_5d",
                         "spread_20d", "spread_mtd", "spread_ytd", "rs_line", "rs_line_sma_50",
                         "correlation_60d", "spread_20d_zscore", "leader", "is_divergent_day",
                         "streak_leader", "streak_length"],
    "divergence_weekly": ["long_return_1w", "short_return_1w", "spread_1w", "spread_4w",
                          "spread_13w", "leader", "streak_leader", "streak_length"],
    "outperformance_streaks": ["leader", "streak_end", "length", "long_return", "short_return",
                               "cumulative_spread", "is_current", "rank_in_history"],
    "streak_status": ["as_of", "current_leader", "current_length", "current_streak_start",
                      "current_rank", "longest_length_long", "longest_length_short"],
    "sector_rotation_weekly": ["benchmark_symbol", "sector", "style", "sector_return_1w",
                               "benchmark_return_1w", "relative_return_1w", "relative_return_4w",
                               "relative_return_13w", "rs_line", "rs_ratio", "rs_momentum",
                               "quadrant", "previous_quadrant", "rank_13w", "rank_change_4w"],
    "sector_leadership_weekly": ["leading_count", "weakening_count", "lagging_count",
                                 "improving_count", "top_sector", "bottom_sector",
                                 "growth_minus_cyclical_4w", "cyclical_minus_defensive_4w"],
    "rates_regime_daily": ["fed_target_lower", "fed_target_upper", "fed_effective", "ust_2y",
                           "ust_10y", "curve_2s10s", "policy_change_bps", "policy_action",
                           "cuts_ytd", "hikes_ytd", "days_since_last_change"],
    "policy_events": ["action", "change_bps", "target_lower", "target_upper",
                      "is_first_cut_of_cycle", "rut_vs_spx_spread_21s", "rut_vs_spx_spread_63s",
                      "rut_vs_spx_spread_126s"],
    "earnings_outlook": ["eps_growth_estimate", "previous_estimate", "revision", "source"],
    "earnings_growth_gap": ["small_cap_growth", "large_cap_growth", "tech_growth",
                            "small_minus_large"],
    "market_pulse_daily": ["rut_close", "ixic_close", "ndx_close", "spx_close", "rut_return_1d",
                           "ixic_return_1d", "ndx_return_1d", "spx_return_1d",
                           "rut_vs_ixic_spread_1d", "rut_vs_spx_spread_1d",
                           "rut_vs_spx_spread_ytd", "rut_vs_spx_weekly_streak_leader",
                           "rut_vs_spx_weekly_streak_length", "fed_target_upper", "curve_2s10s",
                           "small_minus_large_growth", "rut_is_record_close"],
    "stock_performance_weekly": ["sector", "sector_symbol", "price", "return_1w", "return_4w",
                                 "return_13w", "return_ytd", "relative_to_sector_13w",
                                 "relative_to_spx_13w", "drawdown_from_high",
                                 "drawdown_from_52w_high", "is_record_close", "rank_13w",
                                 "rank_change_4w", "basket_ids"],
}  # fmt: skip
MARTS = sorted(recomputation.MART_KEYS)


def assert_mart_matches(path: Path, recomputed: dict[str, pd.DataFrame], mart: str) -> None:
    expected, actual = recomputed[mart], recomputation.read_mart(path, mart)
    keys = recomputation.MART_KEYS[mart]
    assert [c for c in SPEC_COLUMNS[mart] if c not in expected.columns] == []
    columns = [c for c in actual.columns if c in expected.columns and c not in keys]
    assert set(SPEC_COLUMNS[mart]) <= set(columns)
    problems = recomputation.differences(expected, actual, keys, columns)
    shown = "\n".join(problems[:20])
    assert problems == [], f"{mart}: {len(problems)} differences, the first:\n{shown}"


@pytest.fixture(scope="module")
def recomputed(built) -> dict[str, pd.DataFrame]:
    path, _result, _instance = built
    return recomputation.recompute(path)


def test_the_sample_build_fills_every_mart(built):
    path, _result, _instance = built
    with duckdb.connect(str(path), read_only=True) as con:
        counts = {
            mart: con.execute(f"select count(*) from marts.{mart}").fetchone()[0] for mart in MARTS
        }
    assert min(counts.values()) > 0, counts


@pytest.mark.parametrize("mart", MARTS)
def test_the_mart_equals_its_recomputation_from_staging(built, recomputed, mart):
    path, _result, _instance = built
    assert_mart_matches(path, recomputed, mart)


# -- ties -------------------------------------------------------------------------------
# RUT and SPX are given their previous prices again on one session and one week end, so
# both legs of rut_vs_spx are unchanged there: a tie. The ties fall inside runs of the
# same leader, so a run that does not end on a tie shows.
DAILY_TIE, DAY_BEFORE = "2023-08-09", "2023-08-08"  # Wednesday, Tuesday
WEEKLY_TIE, WEEK_BEFORE = "2023-12-01", "2023-11-24"  # Fridays


def _give_previous_prices(path: Path, session: str, previous: str) -> int:
    with duckdb.connect(str(path)) as con:
        (changed,) = con.execute(
            """
            update raw.prices p set open = q.open, high = q.high, low = q.low,
                close = q.close, adj_close = q.adj_close, ingested_at = now()::timestamp
            from raw.prices q
            where q.symbol = p.symbol and q.session_date = ?::date
                and p.symbol in ('RUT', 'SPX') and p.session_date = ?::date
            """,
            [previous, session],
        ).fetchone()
    return changed


@pytest.fixture(scope="module")
def tied_build(built, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A copy of the sample build with the ties put in, rebuilt whole by dbt (its data
    tests included); a failed dbt test is reported by its own test below."""
    path, _result, _instance = built
    folder = tmp_path_factory.mktemp("tied")
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(path, copy)
    assert _give_previous_prices(copy, DAILY_TIE, DAY_BEFORE) == 2
    assert _give_previous_prices(copy, WEEKLY_TIE, WEEK_BEFORE) == 2
    done = run_dbt(copy, folder, "build", "--full-refresh", "--exclude", "resource_type:unit_test")
    return copy, done


@pytest.fixture(scope="module")
def tied(tied_build) -> Path:
    return tied_build[0]


def test_the_build_with_ties_passes_every_dbt_test(tied_build):
    _path, done = tied_build
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _rows(path: Path, sql: str) -> list[tuple]:
    """The rows of a query, dates as ISO text."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    return [tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in row) for row in rows]


def test_a_tie_session_and_a_tie_week_end_the_streaks_before_them(tied):
    # RUT led SPX from 2023-08-01 to 08-08 (6 sessions); after the tie it leads again on
    # 08-10 (its return is now over two sessions), a new streak of 1.
    assert _rows(
        tied,
        "select session_date, leader, streak_leader, streak_length from marts.divergence_daily "
        "where pair_id = 'rut_vs_spx' and session_date between '2023-08-08' and '2023-08-10' "
        "order by 1",
    ) == [
        ("2023-08-08", "long", "long", 6),
        ("2023-08-09", "tie", "tie", 0),
        ("2023-08-10", "long", "long", 1),
    ]
    # Weekly: long for the weeks ending 11-10, 11-17 and 11-24, the tie, long again.
    assert _rows(
        tied,
        "select week_ending, leader, streak_leader, streak_length from marts.divergence_weekly "
        "where pair_id = 'rut_vs_spx' and week_ending between '2023-11-24' and '2023-12-08' "
        "order by 1",
    ) == [
        ("2023-11-24", "long", "long", 3),
        ("2023-12-01", "tie", "tie", 0),
        ("2023-12-08", "long", "long", 1),
    ]
    # The tie belongs to no run: the runs end before it and start again after it.
    assert _rows(
        tied,
        "select frequency, streak_start, streak_end, leader, length "
        "from marts.outperformance_streaks where pair_id = 'rut_vs_spx' and ("
        "(frequency = 'daily' and streak_start between '2023-08-01' and '2023-08-10') or "
        "(frequency = 'weekly' and streak_start between '2023-11-10' and '2023-12-08')) "
        "order by 1, 2",
    ) == [
        ("daily", "2023-08-01", "2023-08-08", "long", 6),
        ("daily", "2023-08-10", "2023-08-10", "long", 1),
        ("weekly", "2023-11-10", "2023-11-24", "long", 3),
        ("weekly", "2023-12-08", "2023-12-08", "long", 1),
    ]


@pytest.fixture(scope="module")
def recomputed_with_ties(tied) -> dict[str, pd.DataFrame]:
    return recomputation.recompute(tied)


@pytest.mark.parametrize("mart", MARTS)
def test_with_ties_the_mart_equals_its_recomputation(tied, recomputed_with_ties, mart):
    assert_mart_matches(tied, recomputed_with_ties, mart)


# -- the comparison itself --------------------------------------------------------------
def _one_row(**values: object) -> pd.DataFrame:
    return pd.DataFrame({k: [v] for k, v in values.items()})


@pytest.mark.parametrize(
    ("mart_value", "found"),
    [
        (1.0 + 5e-10, False),  # within 1e-9
        (1.0 + 2e-9, True),
        (None, True),  # a null on one side only
    ],
)
def test_the_comparison_tolerates_1e_9_and_nothing_more(mart_value, found):
    expected = _one_row(k="a", x=1.0)
    actual = _one_row(k="a", x=mart_value).astype({"x": float})
    assert bool(recomputation.differences(expected, actual, ["k"], ["x"])) is found


def test_the_comparison_reports_the_row_and_both_values():
    expected = pd.concat([_one_row(k="a", leader="long"), _one_row(k="b", leader="tie")])
    actual = pd.concat([_one_row(k="a", leader="long"), _one_row(k="c", leader="tie")])
    assert recomputation.differences(expected, actual, ["k"], ["leader"]) == [
        "{'k': 'b'}: only in the recomputation",
        "{'k': 'c'}: only in the mart",
    ]
    actual = _one_row(k="a", leader="short")
    assert recomputation.differences(expected.iloc[:1], actual, ["k"], ["leader"]) == [
        "{'k': 'a'} leader: recomputed 'long', mart 'short'"
    ]
