"""Every mart of the spec exists in the marts schema with every spec column and its grain."""

import duckdb
import pytest

pytestmark = pytest.mark.slow

# From spec/marts.md: mart -> (grain, public columns). The marts may add more columns.
SPEC: dict[str, tuple[list[str], list[str]]] = {
    "divergence_daily": (
        ["pair_id", "session_date"],
        [
            "long_symbol",
            "short_symbol",
            "long_price",
            "short_price",
            "long_return_1d",
            "short_return_1d",
            "spread_1d",
            "spread_5d",
            "spread_20d",
            "spread_mtd",
            "spread_ytd",
            "rs_line",
            "rs_line_sma_50",
            "correlation_60d",
            "spread_20d_zscore",
            "leader",
            "is_divergent_day",
            "streak_leader",
            "streak_length",
            "rs_line_drawdown",
            "sessions_since_rs_high",
        ],
    ),
    "divergence_weekly": (
        ["pair_id", "week_ending"],
        [
            "long_return_1w",
            "short_return_1w",
            "spread_1w",
            "spread_4w",
            "spread_13w",
            "leader",
            "streak_leader",
            "streak_length",
        ],
    ),
    "outperformance_streaks": (
        ["pair_id", "frequency", "streak_start"],
        [
            "leader",
            "streak_end",
            "length",
            "long_return",
            "short_return",
            "cumulative_spread",
            "is_current",
            "rank_in_history",
        ],
    ),
    "streak_status": (
        ["pair_id", "frequency"],
        [
            "as_of",
            "current_leader",
            "current_length",
            "current_streak_start",
            "current_rank",
            "longest_length_long",
            "longest_length_short",
        ],
    ),
    "relative_cycles": (
        ["pair_id", "peak_date"],
        [
            "peak_rs_line",
            "trough_date",
            "trough_rs_line",
            "depth",
            "recovery_date",
            "sessions_to_trough",
            "sessions_underwater",
            "is_current",
            "rank_by_duration",
        ],
    ),
    "sector_rotation_weekly": (
        ["sector_symbol", "week_ending"],
        [
            "benchmark_symbol",
            "sector",
            "style",
            "sector_return_1w",
            "benchmark_return_1w",
            "relative_return_1w",
            "relative_return_4w",
            "relative_return_13w",
            "rs_line",
            "rs_ratio",
            "rs_momentum",
            "quadrant",
            "previous_quadrant",
            "rank_13w",
            "rank_change_4w",
        ],
    ),
    "sector_leadership_weekly": (
        ["week_ending"],
        [
            "leading_count",
            "weakening_count",
            "lagging_count",
            "improving_count",
            "top_sector",
            "bottom_sector",
            "growth_minus_cyclical_4w",
            "cyclical_minus_defensive_4w",
        ],
    ),
    "stock_performance_weekly": (
        ["symbol", "week_ending"],
        [
            "sector",
            "sector_symbol",
            "price",
            "return_1w",
            "return_4w",
            "return_13w",
            "return_ytd",
            "relative_to_sector_13w",
            "relative_to_spx_13w",
            "drawdown_from_high",
            "drawdown_from_52w_high",
            "is_record_close",
            "rank_13w",
            "rank_change_4w",
            "basket_ids",
        ],
    ),
    "rates_regime_daily": (
        ["observation_date"],
        [
            "fed_target_lower",
            "fed_target_upper",
            "fed_effective",
            "ust_2y",
            "ust_10y",
            "curve_2s10s",
            "policy_change_bps",
            "policy_action",
            "cuts_ytd",
            "hikes_ytd",
            "days_since_last_change",
        ],
    ),
    "policy_events": (
        ["event_date"],
        [
            "action",
            "change_bps",
            "target_lower",
            "target_upper",
            "is_first_cut_of_cycle",
            "rut_vs_spx_spread_21s",
            "rut_vs_spx_spread_63s",
            "rut_vs_spx_spread_126s",
        ],
    ),
    "earnings_outlook": (
        ["as_of_date", "universe", "fiscal_year"],
        ["eps_growth_estimate", "previous_estimate", "revision", "source"],
    ),
    "earnings_growth_gap": (
        ["as_of_date", "fiscal_year"],
        ["small_cap_growth", "large_cap_growth", "tech_growth", "small_minus_large"],
    ),
    "market_pulse_daily": (
        ["session_date"],
        [
            "rut_close",
            "ixic_close",
            "ndx_close",
            "spx_close",
            "rut_return_1d",
            "ixic_return_1d",
            "ndx_return_1d",
            "spx_return_1d",
            "rut_vs_ixic_spread_1d",
            "rut_vs_spx_spread_1d",
            "rut_vs_spx_spread_ytd",
            "rut_vs_spx_weekly_streak_leader",
            "rut_vs_spx_weekly_streak_length",
            "fed_target_upper",
            "curve_2s10s",
            "small_minus_large_growth",
            "rut_is_record_close",
        ],
    ),
}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
    ]


@pytest.mark.parametrize("mart", sorted(SPEC))
def test_mart_has_spec_columns_and_a_unique_grain(built, mart):
    path, _result, _instance = built
    grain, columns = SPEC[mart]
    with duckdb.connect(str(path), read_only=True) as con:
        present = _columns(con, mart)
        assert [c for c in grain + columns if c not in present] == []
        keys = ", ".join(grain)
        rows, distinct_keys, null_keys = con.execute(
            f"select count(*), count(distinct ({keys})), "
            f"count(*) filter (where {' or '.join(f'{k} is null' for k in grain)}) "
            f"from marts.{mart}"
        ).fetchone()
    assert rows > 0
    assert (distinct_keys, null_keys) == (rows, 0)


def test_every_mart_is_a_dagster_asset_in_the_marts_group():
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for mart in SPEC:
        node = graph.get(AssetKey(["marts", mart]))
        assert node.group_name == "marts"
        assert node.description
