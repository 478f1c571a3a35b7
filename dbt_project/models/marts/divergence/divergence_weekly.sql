-- Weekly divergence of each pair on ISO weeks keyed by their last session: leg returns
-- and spreads over 1, 4 and 13 weeks, the week's leader and the streak it extends.
-- Incremental: see macros/incremental.sql (no window here, so no lookback).
{{
    config(
        materialized=history_materialization(),
        checked_column='week_ending',
        unique_key=['pair_id', 'week_ending'],
        pre_hook="{{ create_incremental_state() }}",
        post_hook=[
            "{{ delete_retired_pairs(ref('pairs')) }}",
            "{{ record_marks('pair_id', 'week_ending', ref('pairs')) }}",
            "{{ record_incremental_state() }}",
        ],
    )
}}
-- depends_on: {{ ref('int_leg_price_points') }}
with

pairs as (
    select pair_id, long_symbol, short_symbol from {{ ref('pairs') }}
),
{% if is_incremental() %}
previous_build as ({{ previous_build() }}),

changed_symbols as ({{ changed_symbols('previous_build') }}),

stored_pairs as ({{ stored_pairs('week_ending') }}),

recompute_points as (
    {{ recompute_points('pairs', 'stored_pairs', 'changed_symbols', 'previous_build') }}
),
{% endif %}

returns as (
    select returns.* from {{ ref('int_pair_returns_weekly') }} as returns
    {% if is_incremental() %}
    inner join recompute_points
        on recompute_points.pair_id = returns.pair_id
        and returns.week_ending >= recompute_points.recompute_from
    {% endif %}
    where returns.comparison_kind = 'pair'
    {% if is_incremental() %}
    -- a filter on the scan itself, before the join
    and returns.week_ending >= (select min(recompute_from) from recompute_points)
    {% endif %}
),

streaks as (
    select pair_id, period_end, streak_leader, streak_length
    from {{ ref('int_pair_streaks') }}
    where frequency = 'weekly'
    {% if is_incremental() %}
    and period_end >= (select min(recompute_from) from recompute_points)
    {% endif %}
),

final as (
    select
        cast(returns.pair_id as string) as pair_id,
        cast(returns.week_ending as date) as week_ending,
        cast(long_symbol as string) as long_symbol,
        cast(short_symbol as string) as short_symbol,
        cast(long_price as double) as long_price,
        cast(short_price as double) as short_price,
        cast(long_return_1w as double) as long_return_1w,
        cast(short_return_1w as double) as short_return_1w,
        cast(spread_1w as double) as spread_1w,
        cast(long_return_4w as double) as long_return_4w,
        cast(short_return_4w as double) as short_return_4w,
        cast(spread_4w as double) as spread_4w,
        cast(long_return_13w as double) as long_return_13w,
        cast(short_return_13w as double) as short_return_13w,
        cast(spread_13w as double) as spread_13w,
        cast(rs_line as double) as rs_line,
        cast(leader as string) as leader,
        cast(streaks.streak_leader as string) as streak_leader,
        cast(streaks.streak_length as integer) as streak_length
    from returns
    left join streaks
        on streaks.pair_id = returns.pair_id
        and streaks.period_end = returns.week_ending
)

select * from final
