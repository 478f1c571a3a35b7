-- Weekly divergence of each pair on ISO weeks keyed by their last session: leg returns
-- and spreads over 1, 4 and 13 weeks, the week's leader and the streak it extends.
with

returns as (
    select * from {{ ref('int_pair_returns_weekly') }} where comparison_kind = 'pair'
),

streaks as (
    select pair_id, period_end, streak_leader, streak_length
    from {{ ref('int_pair_streaks') }}
    where frequency = 'weekly'
),

final as (
    select
        returns.pair_id::varchar as pair_id,
        returns.week_ending::date as week_ending,
        long_symbol::varchar as long_symbol,
        short_symbol::varchar as short_symbol,
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
        leader::varchar as leader,
        streaks.streak_leader::varchar as streak_leader,
        streaks.streak_length::integer as streak_length,
    from returns
    left join streaks
        on streaks.pair_id = returns.pair_id
        and streaks.period_end = returns.week_ending
)

select * from final
