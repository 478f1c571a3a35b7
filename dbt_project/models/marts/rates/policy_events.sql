-- One row per fed funds target change (cut or hike) of rates_regime_daily, flagged when it
-- opens an easing cycle, with the small-cap event study: RUT return minus SPX return from
-- the close of the first aligned session on or after the event to 21 / 63 / 126 aligned
-- sessions later (aligned session = both RUT and SPX have a price).
with

regime as (
    select * from {{ ref('rates_regime_daily') }}
),

prices as (
    select symbol, session_date, price from {{ ref('stg_market__prices') }}
),

events as (
    select
        observation_date as event_date,
        policy_action as action,
        policy_change_bps as change_bps,
        fed_target_lower as target_lower,
        fed_target_upper as target_upper
    from regime
    where policy_action in ('cut', 'hike')
),

-- A cut opens an easing cycle when the previous event was a hike, or there is none.
cycles as (
    select
        *,
        lag(event_date) over by_event as previous_event_date,
        coalesce(
            action = 'cut' and coalesce(lag(action) over by_event, 'hike') = 'hike',
            false
        ) as is_first_cut_of_cycle
    from events
    window by_event as (order by event_date)
),

-- Sessions where both legs have a price, numbered in order; nothing is forward-filled.
aligned_sessions as (
    select
        rut.session_date,
        rut.price as rut_price,
        spx.price as spx_price,
        cast(row_number() over (order by rut.session_date) as integer) as session_index,
        lag(rut.session_date) over (order by rut.session_date) as previous_session_date
    from prices as rut
    inner join prices as spx
        on spx.session_date = rut.session_date
        and spx.symbol = 'SPX'
    where rut.symbol = 'RUT'
),

last_aligned as (
    select max(session_index) as last_session_index from aligned_sessions
),

-- s0: the first aligned session on or after the event date, the one whose span since the
-- previous aligned session holds it.
anchored as (
    select
        cycles.*,
        s0.session_date as event_session_date,
        s0.session_index as event_session_index,
        s0.rut_price as event_rut_price,
        s0.spx_price as event_spx_price
    from cycles
    left join aligned_sessions as s0
        on s0.session_date >= cycles.event_date
        and cycles.event_date > coalesce(s0.previous_session_date, date '0001-01-01')
),

study as (
    select
        anchored.*,
        cast(last_aligned.last_session_index - anchored.event_session_index as integer)
            as sessions_after_event,
        s21.rut_price / anchored.event_rut_price - 1 as rut_return_21s,
        s21.spx_price / anchored.event_spx_price - 1 as spx_return_21s,
        s63.rut_price / anchored.event_rut_price - 1 as rut_return_63s,
        s63.spx_price / anchored.event_spx_price - 1 as spx_return_63s,
        s126.rut_price / anchored.event_rut_price - 1 as rut_return_126s,
        s126.spx_price / anchored.event_spx_price - 1 as spx_return_126s
    from anchored
    cross join last_aligned
    left join aligned_sessions as s21
        on s21.session_index = anchored.event_session_index + 21
    left join aligned_sessions as s63
        on s63.session_index = anchored.event_session_index + 63
    left join aligned_sessions as s126
        on s126.session_index = anchored.event_session_index + 126
),

final as (
    select
        event_date,
        action,
        change_bps,
        target_lower,
        target_upper,
        is_first_cut_of_cycle,
        previous_event_date,
        event_session_date,
        sessions_after_event,
        rut_return_21s - spx_return_21s as rut_vs_spx_spread_21s,
        rut_return_63s - spx_return_63s as rut_vs_spx_spread_63s,
        rut_return_126s - spx_return_126s as rut_vs_spx_spread_126s,
        rut_return_21s,
        spx_return_21s,
        rut_return_63s,
        spx_return_63s,
        rut_return_126s,
        spx_return_126s
    from study
)

select * from final
