-- Every run's rank_in_history is 1 + the number of longer runs of its pair, frequency and
-- leader, and each pair and frequency has exactly one current run, ending on its latest
-- period, unless that period is a tie (then none). After an incremental build the ranks
-- of the runs it wrote (or left pending) are checked against all runs, and the current
-- run of the pairs with periods from there on; the ranks of the runs it kept, which its
-- post-hook moved, are checked by full checks and full builds.
-- Threshold: zero rows.
-- It reads several models; Dagster shows it as a check of outperformance_streaks.
{{ config(meta={'dagster': {'ref': {'name': 'outperformance_streaks'}}}) }}
{%- set since = checked_from('outperformance_streaks') %}
with

runs as (
    select * from {{ ref('outperformance_streaks') }}
),

{% if since == 'all' -%}
ranked as (
    select
        pair_id,
        frequency,
        streak_start,
        rank_in_history,
        rank() over (partition by pair_id, frequency, leader order by length desc) as expected
    from runs
),
{%- else -%}
written as (
    select * from runs where {{ checked_rows('outperformance_streaks', 'streak_start') }}
),

-- how many runs of each length: a few dozen lengths per pair, frequency and leader,
-- where joining the runs themselves would pair each written run with every longer one
lengths as (
    select pair_id, frequency, leader, length, count(*) as runs_of_length
    from runs
    group by pair_id, frequency, leader, length
),

ranked as (
    select
        written.pair_id,
        written.frequency,
        written.streak_start,
        written.rank_in_history,
        1 + coalesce(sum(longer.runs_of_length), 0) as expected
    from written
    left join lengths as longer
        on longer.pair_id = written.pair_id
        and longer.frequency = written.frequency
        and longer.leader = written.leader
        and longer.length > written.length
    group by written.pair_id, written.frequency, written.streak_start, written.rank_in_history
),
{%- endif %}

rank_mismatches as (
    select pair_id, frequency, streak_start as period_end, 'rank differs from longer runs' as problem
    from ranked
    where rank_in_history <> expected
),

latest as (
    select
        streaks.pair_id,
        streaks.frequency,
        max(streaks.period_end) as latest_period_end,
        max_by(streaks.leader, streaks.period_end) as latest_leader
    from {{ ref('int_pair_streaks') }} as streaks
    inner join {{ ref('pairs') }} as pairs using (pair_id)
    {%- if since != 'all' %}
    -- the pairs with periods written: their latest period is among them
    where {{ checked_rows('outperformance_streaks', 'streaks.period_end') }}
    {%- endif %}
    group by streaks.pair_id, streaks.frequency
),

current_runs as (
    select pair_id, frequency, count(*) as current_count, max(streak_end) as current_end
    from runs
    where is_current
    group by pair_id, frequency
),

current_mismatches as (
    select latest.pair_id, latest.frequency, latest.latest_period_end as period_end,
        'wrong current run' as problem
    from latest
    left join current_runs using (pair_id, frequency)
    where coalesce(current_runs.current_count, 0)
            <> case when latest.latest_leader = 'tie' then 0 else 1 end
        or current_runs.current_end <> latest.latest_period_end
)

select * from rank_mismatches
union all
select * from current_mismatches
