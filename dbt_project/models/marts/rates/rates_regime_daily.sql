-- One row per date on which any FRED series has a value: the fed funds target range and
-- effective rate as of that date (latest value on or before it), the Treasury 2y / 10y
-- yields published that day, the 2s10s curve, and the policy-change bookkeeping
-- (change in the target upper bound, cut / hike / hold, year-to-date counts, days since
-- the last change).
with

rates as (
    select series_id, observation_date, rate_pct from {{ ref('stg_fred__rates') }}
),

observation_dates as (
    select distinct observation_date from rates
),

target_lower as (
    select
        observation_date,
        {{ valid_until('observation_date') }} as valid_until,
        rate_pct
    from rates
    where series_id = 'DFEDTARL'
),

target_upper as (
    select
        observation_date,
        {{ valid_until('observation_date') }} as valid_until,
        rate_pct
    from rates
    where series_id = 'DFEDTARU'
),

effective as (
    select
        observation_date,
        {{ valid_until('observation_date') }} as valid_until,
        rate_pct
    from rates
    where series_id = 'DFF'
),

treasury_2y as (
    select observation_date, rate_pct from rates where series_id = 'DGS2'
),

treasury_10y as (
    select observation_date, rate_pct from rates where series_id = 'DGS10'
),

-- Policy rates as of the date (latest on or before it, by the span each value holds);
-- Treasury yields only when published on that very date.
levels as (
    select
        observation_dates.observation_date,
        target_lower.rate_pct as fed_target_lower,
        target_upper.rate_pct as fed_target_upper,
        effective.rate_pct as fed_effective,
        treasury_2y.rate_pct as ust_2y,
        treasury_10y.rate_pct as ust_10y
    from observation_dates
    {{ left_join_as_of('target_lower', 'target_lower', 'observation_dates.observation_date') }}
    {{ left_join_as_of('target_upper', 'target_upper', 'observation_dates.observation_date') }}
    {{ left_join_as_of('effective', 'effective', 'observation_dates.observation_date') }}
    left join treasury_2y
        on treasury_2y.observation_date = observation_dates.observation_date
    left join treasury_10y
        on treasury_10y.observation_date = observation_dates.observation_date
),

-- Rounded so binary floating-point noise (4.33 - 4.1 = 0.23000000000000043) does not show.
with_changes as (
    select
        *,
        round(ust_10y - ust_2y, 4) as curve_2s10s,
        round(100 * (fed_target_upper - lag(fed_target_upper) over by_date), 2)
            as policy_change_bps
    from levels
    window by_date as (order by observation_date)
),

classified as (
    select
        *,
        case
            when policy_change_bps < 0 then 'cut'
            when policy_change_bps > 0 then 'hike'
            else 'hold'
        end as policy_action,
        cast(year(observation_date) as integer) as calendar_year
    from with_changes
),

counted as (
    select
        observation_date,
        fed_target_lower,
        fed_target_upper,
        fed_effective,
        ust_2y,
        ust_10y,
        curve_2s10s,
        policy_change_bps,
        policy_action,
        calendar_year,
        -- a case inside the window aggregate: Spark has no filter clause on windows
        cast(count(case when policy_action = 'cut' then 1 end) over year_to_date as integer)
            as cuts_ytd,
        cast(count(case when policy_action = 'hike' then 1 end) over year_to_date as integer)
            as hikes_ytd,
        max(case when policy_change_bps <> 0 then observation_date end) over all_to_date
            as last_policy_change_date
    from classified
    window
        year_to_date as (
            partition by calendar_year order by observation_date
            rows between unbounded preceding and current row
        ),
        all_to_date as (
            order by observation_date
            rows between unbounded preceding and current row
        )
),

final as (
    select
        *,
        cast(observation_date - last_policy_change_date as integer) as days_since_last_change
    from counted
)

select * from final
