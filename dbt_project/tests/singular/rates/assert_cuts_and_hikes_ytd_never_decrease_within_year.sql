-- Asserts that, within each calendar year, cuts_ytd and hikes_ytd of rates_regime_daily
-- never decrease from one row to the next (they may only reset on the first row of a new
-- year). Returns the offending rows.
with

regime as (
    select observation_date, cuts_ytd, hikes_ytd from {{ ref('rates_regime_daily') }}
),

with_previous as (
    select
        *,
        lag(cuts_ytd) over by_year as previous_cuts_ytd,
        lag(hikes_ytd) over by_year as previous_hikes_ytd
    from regime
    window by_year as (partition by year(observation_date) order by observation_date)
)

select *
from with_previous
where cuts_ytd < previous_cuts_ytd
    or hikes_ytd < previous_hikes_ytd
