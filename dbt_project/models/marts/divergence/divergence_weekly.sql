-- Weekly divergence of each pair on ISO weeks keyed by their last session: leg returns
-- and spreads over 1, 4 and 13 weeks, the week's leader and the streak it extends.
-- Incremental: see macros/incremental.sql (no window here, so no lookback).
{{
    config(
        materialized='incremental',
        checked_column='week_ending',
        unique_key=['pair_id', 'week_ending'],
        pre_hook="{{ create_incremental_state() }}",
        post_hook=[
            "{{ delete_retired_pairs(ref('pairs')) }}",
            "{{ record_incremental_state() }}",
        ],
    )
}}
-- depends_on: {{ ref('stg_market__price_points') }}
with

pairs as (
    select pair_id, long_symbol, short_symbol from {{ ref('pairs') }}
),
{% if is_incremental() %}
{{ changed_prices_ctes() }},

{{ recompute_points_ctes('pairs', 'week_ending') }},
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
        returns.pair_id::string as pair_id,
        returns.week_ending::date as week_ending,
        long_symbol::string as long_symbol,
        short_symbol::string as short_symbol,
        long_price::double as long_price,
        short_price::double as short_price,
        long_return_1w::double as long_return_1w,
        short_return_1w::double as short_return_1w,
        spread_1w::double as spread_1w,
        long_return_4w::double as long_return_4w,
        short_return_4w::double as short_return_4w,
        spread_4w::double as spread_4w,
        long_return_13w::double as long_return_13w,
        short_return_13w::double as short_return_13w,
        spread_13w::double as spread_13w,
        rs_line::double as rs_line,
        leader::string as leader,
        streaks.streak_leader::string as streak_leader,
        streaks.streak_length::integer as streak_length
    from returns
    left join streaks
        on streaks.pair_id = returns.pair_id
        and streaks.period_end = returns.week_ending
)

select * from final
