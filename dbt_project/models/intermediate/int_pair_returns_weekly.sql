-- Pair-aligned weekly returns on ISO weeks keyed by their last session: a row only where
-- both legs have a price at week_ending, legs compounded over the same weeks.
with

comparisons as (
    select * from {{ ref('int_comparisons') }}
),

weekly as (
    select * from {{ ref('int_prices_weekly') }}
),

aligned as (
    select
        comparisons.pair_id,
        comparisons.comparison_kind,
        comparisons.long_symbol,
        comparisons.short_symbol,
        long_leg.week_ending,
        long_leg.price as long_price,
        short_leg.price as short_price,
    from comparisons
    inner join weekly as long_leg on long_leg.symbol = comparisons.long_symbol
    inner join weekly as short_leg
        on short_leg.symbol = comparisons.short_symbol
        and short_leg.week_ending = long_leg.week_ending
),

one_week as (
    select
        *,
        long_price / lag(long_price) over by_pair - 1 as long_return_1w,
        short_price / lag(short_price) over by_pair - 1 as short_return_1w,
    from aligned
    window by_pair as (partition by pair_id order by week_ending)
),

compounded as (
    select
        *,
        long_return_1w - short_return_1w as spread_1w,
        {{ compounded_return('long_return_1w', 4, 'pair_id', 'week_ending') }} as long_return_4w,
        {{ compounded_return('short_return_1w', 4, 'pair_id', 'week_ending') }} as short_return_4w,
        {{ compounded_return('long_return_1w', 13, 'pair_id', 'week_ending') }} as long_return_13w,
        {{ compounded_return('short_return_1w', 13, 'pair_id', 'week_ending') }} as short_return_13w,
    from one_week
),

spreads as (
    select
        *,
        long_return_4w - short_return_4w as spread_4w,
        long_return_13w - short_return_13w as spread_13w,
        {{ leader_of('spread_1w') }} as leader,
        long_price / short_price as rs_line,
    from compounded
)

select * from spreads
