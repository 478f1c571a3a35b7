-- Pair-aligned weekly returns on ISO weeks keyed by their last session: a row only where
-- both legs have a price at week_ending, legs compounded over the same weeks.
-- Incremental: see macros/incremental.sql (13 weeks of lookback for the 13-week return).
{{
    config(
        materialized=history_materialization(),
        checked_column='week_ending',
        unique_key=['pair_id', 'week_ending'],
        pre_hook="{{ create_incremental_state() }}",
        post_hook=[
            "{{ delete_retired_pairs(ref('int_comparisons')) }}",
            "{{ record_marks('pair_id', 'week_ending', ref('int_comparisons')) }}",
            "{{ record_incremental_state() }}",
        ],
    )
}}
-- depends_on: {{ ref('int_leg_price_points') }}
with

comparisons as (
    select * from {{ ref('int_comparisons') }}
),
{% if is_incremental() %}
-- a changed session moves its whole week, whose week_ending is on or after it
previous_build as ({{ previous_build() }}),

changed_symbols as ({{ changed_symbols('previous_build') }}),

stored_pairs as ({{ stored_pairs('week_ending') }}),

recompute_points as (
    {{ recompute_points('comparisons', 'stored_pairs', 'changed_symbols', 'previous_build') }}
),

rows_back as ({{ rows_back('recompute_points', 13, date_column='week_ending') }}),

recompute_bounds as ({{ recompute_bounds('recompute_points', 'rows_back', 13) }}),
{% endif %}

weekly as (
    select * from {{ ref('int_prices_weekly') }}
    {% if is_incremental() %}
    -- a filter on the scan itself, before any join
    where week_ending >= (select min(input_from) from recompute_bounds)
    {% endif %}
),

aligned as (
    select
        comparisons.pair_id,
        comparisons.comparison_kind,
        comparisons.long_symbol,
        comparisons.short_symbol,
        long_leg.week_ending,
        long_leg.price as long_price,
        short_leg.price as short_price
    from comparisons
    inner join weekly as long_leg on long_leg.symbol = comparisons.long_symbol
    inner join weekly as short_leg
        on short_leg.symbol = comparisons.short_symbol
        and short_leg.week_ending = long_leg.week_ending
    {% if is_incremental() %}
    inner join recompute_bounds
        on recompute_bounds.pair_id = comparisons.pair_id
        and long_leg.week_ending >= recompute_bounds.input_from
    {% endif %}
),

one_week as (
    select
        *,
        long_price / lag(long_price) over by_pair - 1 as long_return_1w,
        short_price / lag(short_price) over by_pair - 1 as short_return_1w,
        -- Compounding n weekly returns telescopes to the price ratio over the same rows:
        -- one sort for every horizon, and null until n earlier weeks exist.
        long_price / lag(long_price, 4) over by_pair - 1 as long_return_4w,
        short_price / lag(short_price, 4) over by_pair - 1 as short_return_4w,
        long_price / lag(long_price, 13) over by_pair - 1 as long_return_13w,
        short_price / lag(short_price, 13) over by_pair - 1 as short_return_13w
    from aligned
    window by_pair as (partition by pair_id order by week_ending)
),

spreads as (
    select
        pair_id,
        comparison_kind,
        long_symbol,
        short_symbol,
        week_ending,
        long_price,
        short_price,
        long_return_1w,
        short_return_1w,
        long_return_1w - short_return_1w as spread_1w,
        long_return_4w,
        short_return_4w,
        long_return_13w,
        short_return_13w,
        long_return_4w - short_return_4w as spread_4w,
        long_return_13w - short_return_13w as spread_13w,
        {{ leader_of('spread_1w') }} as leader,
        long_price / short_price as rs_line
    from one_week
)

{{ recomputed_rows('spreads', 'recompute_bounds', 'week_ending') }}
