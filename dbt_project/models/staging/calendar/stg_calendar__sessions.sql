-- XNYS sessions with their neighbours and the ISO week, month and year they close.
-- week_ending is the last session of the session's ISO week (Mon-Sun), so a week cut
-- short by a holiday ends on its last trading day.
with

source as (
    select * from {{ source('calendar', 'sessions') }}
),

periods as (
    select
        session_date,
        market_open_at,
        market_close_at,
        is_early_close,
        {{ iso_year('session_date') }} as iso_year,
        {{ iso_week('session_date') }} as iso_week,
        cast(date_trunc('month', session_date) as date) as month_start,
        year(session_date) as calendar_year
    from source
),

bounded as (
    select
        *,
        row_number() over (order by session_date) as session_number,
        lag(session_date) over (order by session_date) as previous_session_date,
        lead(session_date) over (order by session_date) as next_session_date,
        max(session_date) over (partition by iso_year, iso_week) as week_ending,
        max(session_date) over (partition by month_start) as month_ending,
        max(session_date) over (partition by calendar_year) as year_ending
    from periods
),

flagged as (
    select
        *,
        session_date = week_ending as is_week_end,
        session_date = month_ending as is_month_end,
        session_date = year_ending as is_year_end
    from bounded
)

select * from flagged
