-- Outperformance runs as gaps and islands: over each pair's ordered periods (daily
-- sessions and weekly week_endings), a new run starts whenever the leader changes. A
-- tie period forms no run (streak_length 0) and so ends the run before it.
with

daily as (
    select * from {{ ref('int_pair_returns_daily') }}
),

weekly as (
    select * from {{ ref('int_pair_returns_weekly') }}
),

periods as (
    select
        pair_id,
        'daily' as frequency,
        session_date as period_end,
        long_return_1d as long_return,
        short_return_1d as short_return,
        leader,
    from daily
    where leader is not null
    union all
    select
        pair_id,
        'weekly' as frequency,
        week_ending as period_end,
        long_return_1w as long_return,
        short_return_1w as short_return,
        leader,
    from weekly
    where leader is not null
),

run_starts as (
    select
        *,
        case when leader is distinct from lag(leader) over by_period then 1 else 0 end
            as starts_run,
    from periods
    window by_period as (partition by pair_id, frequency order by period_end)
),

runs as (
    select
        *,
        sum(starts_run) over (
            partition by pair_id, frequency order by period_end rows unbounded preceding
        ) as run_number,
    from run_starts
),

positioned as (
    select
        pair_id,
        frequency,
        period_end,
        long_return,
        short_return,
        leader,
        run_number,
        leader as streak_leader,
        case
            when leader = 'tie' then 0
            else row_number() over (partition by pair_id, frequency, run_number order by period_end)
        end as streak_length,
    from runs
)

select * from positioned
