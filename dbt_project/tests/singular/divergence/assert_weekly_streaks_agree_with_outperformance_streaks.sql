-- The streak on the last week of every weekly run in outperformance_streaks has the run's
-- length and leader, and every non-tie week of divergence_weekly lies inside one run.
-- After incremental builds, only the weeks from the first run or week either model wrote
-- (or left pending) are checked (macros/checked_rows.sql).
-- Threshold: zero rows.
-- It reads several models; Dagster shows it as a check of outperformance_streaks.
{{ config(meta={'dagster': {'ref': {'name': 'outperformance_streaks'}}}) }}
with

runs as (
    select * from {{ ref('outperformance_streaks') }} where frequency = 'weekly'
),

weeks as (
    select * from {{ ref('divergence_weekly') }}
    where {{ checked_rows(['outperformance_streaks', 'divergence_weekly'], 'week_ending') }}
),

run_ends_disagree as (
    select runs.pair_id, runs.streak_end as period_end, 'run end disagrees' as problem
    from runs
    inner join weeks
        on weeks.pair_id = runs.pair_id and weeks.week_ending = runs.streak_end
    where weeks.streak_length <> runs.length or weeks.streak_leader <> runs.leader
),

weeks_outside_runs as (
    select weeks.pair_id, weeks.week_ending as period_end, 'week in no run' as problem
    from weeks
    where weeks.leader in ('long', 'short')
        and not exists (
            select 1
            from runs
            where runs.pair_id = weeks.pair_id
                and weeks.week_ending between runs.streak_start and runs.streak_end
        )
)

select * from run_ends_disagree
union all
select * from weeks_outside_runs
