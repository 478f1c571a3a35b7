-- One wide row per XNYS session for dashboards: the four indexes, the small-cap spreads,
-- the Magnificent 7 basket, the weekly rut_vs_spx and rut_vs_mag7 streaks, the Fed and the
-- curve, and the earnings-growth gap.
-- Values published on other schedules (weeks, business days, monthly snapshots) are
-- the latest on or before the session: the row whose span (from its date to the next
-- row's) holds the session.
with

calendar as (
    select session_date from {{ ref('stg_calendar__sessions') }}
),

index_prices as (
    select symbol, session_date, close, high, daily_return
    from {{ ref('stg_market__prices') }}
    where symbol in ('RUT', 'IXIC', 'NDX', 'SPX')
),

mag7 as (
    select session_date, daily_return
    from {{ ref('int_basket_levels') }}
    where basket_id = 'mag7'
),

daily_pairs as (
    select pair_id, session_date, spread_1d, spread_ytd
    from {{ ref('divergence_daily') }}
    where pair_id in ('rut_vs_ixic', 'rut_vs_spx', 'rut_vs_mag7')
),

{% for name, pair_id in [('spx', 'rut_vs_spx'), ('mag7', 'rut_vs_mag7')] %}
{{ name }}_weekly_streaks as (
    select
        week_ending,
        {{ valid_until('week_ending') }} as valid_until,
        streak_leader,
        streak_length
    from {{ ref('divergence_weekly') }}
    where pair_id = '{{ pair_id }}'
),
{% endfor %}

policy as (
    select
        observation_date,
        {{ valid_until('observation_date') }} as valid_until,
        fed_target_upper
    from {{ ref('rates_regime_daily') }}
    where fed_target_upper is not null
),

curve as (
    select
        observation_date,
        {{ valid_until('observation_date') }} as valid_until,
        curve_2s10s
    from {{ ref('rates_regime_daily') }}
    where curve_2s10s is not null
),

growth_gap as (
    select
        as_of_date,
        {{ valid_until('as_of_date', partition_by='fiscal_year') }} as valid_until,
        fiscal_year,
        small_minus_large
    from {{ ref('earnings_growth_gap') }}
    where small_minus_large is not null
),

sessions as (
    select calendar.session_date
    from calendar
    where calendar.session_date between (select min(session_date) from index_prices)
        and (select max(session_date) from index_prices)
),

indexes as (
    select
        sessions.session_date,
        max(close) filter (where symbol = 'RUT') as rut_close,
        max(close) filter (where symbol = 'IXIC') as ixic_close,
        max(close) filter (where symbol = 'NDX') as ndx_close,
        max(close) filter (where symbol = 'SPX') as spx_close,
        max(high) filter (where symbol = 'RUT') as rut_high,
        max(daily_return) filter (where symbol = 'RUT') as rut_return_1d,
        max(daily_return) filter (where symbol = 'IXIC') as ixic_return_1d,
        max(daily_return) filter (where symbol = 'NDX') as ndx_return_1d,
        max(daily_return) filter (where symbol = 'SPX') as spx_return_1d
    from sessions
    left join index_prices using (session_date)
    group by sessions.session_date
),

spreads as (
    select
        indexes.*,
        mag7.daily_return as mag7_return_1d,
        rut_vs_ixic.spread_1d as rut_vs_ixic_spread_1d,
        rut_vs_spx.spread_1d as rut_vs_spx_spread_1d,
        rut_vs_spx.spread_ytd as rut_vs_spx_spread_ytd,
        rut_vs_mag7.spread_1d as rut_vs_mag7_spread_1d,
        -- "Record" means above every earlier close in the data; the first close is not one.
        rut_close > coalesce(
            max(rut_close) over (
                order by indexes.session_date rows between unbounded preceding and 1 preceding
            ),
            cast('infinity' as double)
        ) as rut_is_record_close,
        -- the intraday record, likewise against every earlier high (null without a high)
        rut_high > coalesce(
            max(rut_high) over (
                order by indexes.session_date rows between unbounded preceding and 1 preceding
            ),
            cast('infinity' as double)
        ) as rut_is_record_high
    from indexes
    left join mag7 on mag7.session_date = indexes.session_date
    left join daily_pairs as rut_vs_ixic
        on rut_vs_ixic.pair_id = 'rut_vs_ixic'
        and rut_vs_ixic.session_date = indexes.session_date
    left join daily_pairs as rut_vs_spx
        on rut_vs_spx.pair_id = 'rut_vs_spx'
        and rut_vs_spx.session_date = indexes.session_date
    left join daily_pairs as rut_vs_mag7
        on rut_vs_mag7.pair_id = 'rut_vs_mag7'
        and rut_vs_mag7.session_date = indexes.session_date
),

with_streak as (
    select
        spreads.*,
        spx_streak.streak_leader as rut_vs_spx_weekly_streak_leader,
        spx_streak.streak_length as rut_vs_spx_weekly_streak_length,
        mag7_streak.streak_leader as rut_vs_mag7_weekly_streak_leader,
        mag7_streak.streak_length as rut_vs_mag7_weekly_streak_length
    from spreads
    {{ left_join_as_of('spx_weekly_streaks', 'spx_streak', 'spreads.session_date', 'week_ending') }}
    {{ left_join_as_of('mag7_weekly_streaks', 'mag7_streak', 'spreads.session_date', 'week_ending') }}
),

with_rates as (
    select
        with_streak.*,
        policy.fed_target_upper,
        curve.curve_2s10s
    from with_streak
    {{ left_join_as_of('policy', 'policy', 'with_streak.session_date') }}
    {{ left_join_as_of('curve', 'curve', 'with_streak.session_date') }}
),

with_growth as (
    select
        with_rates.*,
        growth_gap.small_minus_large as small_minus_large_growth
    from with_rates
    {{ left_join_as_of(
        'growth_gap', 'growth_gap', 'with_rates.session_date', 'as_of_date',
        equal=[('year(with_rates.session_date)', 'fiscal_year')]
    ) }}
),

final as (
    select
        cast(session_date as date) as session_date,
        cast(rut_close as double) as rut_close,
        cast(ixic_close as double) as ixic_close,
        cast(ndx_close as double) as ndx_close,
        cast(spx_close as double) as spx_close,
        cast(rut_return_1d as double) as rut_return_1d,
        cast(ixic_return_1d as double) as ixic_return_1d,
        cast(ndx_return_1d as double) as ndx_return_1d,
        cast(spx_return_1d as double) as spx_return_1d,
        cast(rut_vs_ixic_spread_1d as double) as rut_vs_ixic_spread_1d,
        cast(rut_vs_spx_spread_1d as double) as rut_vs_spx_spread_1d,
        cast(rut_vs_spx_spread_ytd as double) as rut_vs_spx_spread_ytd,
        cast(rut_vs_spx_weekly_streak_leader as string) as rut_vs_spx_weekly_streak_leader,
        cast(rut_vs_spx_weekly_streak_length as integer) as rut_vs_spx_weekly_streak_length,
        cast(fed_target_upper as double) as fed_target_upper,
        cast(curve_2s10s as double) as curve_2s10s,
        cast(small_minus_large_growth as double) as small_minus_large_growth,
        cast(rut_is_record_close as boolean) as rut_is_record_close,
        cast(mag7_return_1d as double) as mag7_return_1d,
        cast(rut_vs_mag7_spread_1d as double) as rut_vs_mag7_spread_1d,
        cast(rut_vs_mag7_weekly_streak_leader as string) as rut_vs_mag7_weekly_streak_leader,
        cast(rut_vs_mag7_weekly_streak_length as integer) as rut_vs_mag7_weekly_streak_length,
        cast(rut_is_record_high as boolean) as rut_is_record_high
    from with_growth
)

select * from final
