-- One row per outperformance run of each pair, daily and weekly: when it started and
-- ended, how long it lasted, what each leg returned over it, and how it ranks in the
-- pair's history. Tie periods belong to no run.
with

streaks as (
    select s.*
    from {{ ref('int_pair_streaks') }} as s
    inner join {{ ref('pairs') }} as p using (pair_id)
),

latest as (
    select pair_id, frequency, max(period_end) as latest_period_end
    from streaks
    group by all
),

runs as (
    select
        pair_id,
        frequency,
        run_number,
        any_value(leader) as leader,
        min(period_end) as streak_start,
        max(period_end) as streak_end,
        count(*) as length,
        product(1 + long_return) - 1 as long_return,
        product(1 + short_return) - 1 as short_return,
    from streaks
    where leader <> 'tie'
    group by pair_id, frequency, run_number
),

ranked as (
    select
        runs.pair_id::varchar as pair_id,
        runs.frequency::varchar as frequency,
        runs.streak_start::date as streak_start,
        runs.streak_end::date as streak_end,
        runs.leader::varchar as leader,
        runs.length::integer as length,
        runs.long_return::double as long_return,
        runs.short_return::double as short_return,
        (runs.long_return - runs.short_return)::double as cumulative_spread,
        (runs.streak_end = latest.latest_period_end)::boolean as is_current,
        rank() over (
            partition by runs.pair_id, runs.frequency, runs.leader order by runs.length desc
        )::integer as rank_in_history,
    from runs
    inner join latest using (pair_id, frequency)
)

select * from ranked
