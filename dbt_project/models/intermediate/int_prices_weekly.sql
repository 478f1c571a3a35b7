-- Each instrument's and basket's price at the last session of every ISO week
-- (week_ending); see macros/week_closes.sql.
with

week_closes as (
    {{ week_closes(ref('int_leg_price_points'), ref('stg_calendar__sessions')) }}
)

select * from week_closes
