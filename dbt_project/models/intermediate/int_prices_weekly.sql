-- Each instrument's price at the last session of every ISO week (week_ending). A week
-- whose last session has no price for the instrument (the week still running, or a
-- hole in the data) has no row: weekly returns never use a mid-week price.
with

prices as (
    select symbol, session_date, price from {{ ref('int_leg_price_points') }}
),

calendar as (
    select session_date, week_ending from {{ ref('stg_calendar__sessions') }}
),

week_closes as (
    select
        prices.symbol,
        calendar.week_ending,
        prices.price
    from prices
    inner join calendar
        on prices.session_date = calendar.session_date
        and calendar.session_date = calendar.week_ending
)

select * from week_closes
