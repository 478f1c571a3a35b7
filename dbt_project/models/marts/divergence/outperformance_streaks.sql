-- One row per outperformance run of each pair, daily and weekly: when it started and
-- ended, how long it lasted, what each leg returned over it, and how it ranks in the
-- pair's history. Tie periods belong to no run.
-- Incremental (see macros/incremental_runs.sql): the runs from the last one before the
-- first rewritten period of int_pair_streaks are rebuilt; the ranks of the kept runs are
-- moved by the hooks.
{{
    config(
        materialized=history_materialization(),
        checked_column='streak_start',
        unique_key=['pair_id', 'frequency', 'streak_start'],
        pre_hook=[
            "{{ create_incremental_state() }}",
            "{{ replace_stale_runs(ref('int_pair_streaks'), ref('pairs')) }}",
        ],
        post_hook=[
            "{{ delete_rows_not_in('pair_id', ref('pairs')) }}",
            "{{ rerank_kept_runs() }}",
            "{{ record_runs_state(ref('int_pair_streaks')) }}",
            "{{ record_built_legs(ref('pairs')) }}",
        ],
    )
}}
with

streaks as (
    select s.*
    from {{ ref('int_pair_streaks') }} as s
    inner join {{ ref('pairs') }} as p using (pair_id)
    {% if is_incremental() %}
    inner join {{ rebuilt_runs_relation() }} as rebuilt
        on rebuilt.pair_id = s.pair_id
        and rebuilt.frequency = s.frequency
        and s.period_end >= rebuilt.rebuild_from
    -- a filter on the scan itself, before the join
    where s.period_end >= (select min(rebuild_from) from {{ rebuilt_runs_relation() }})
    {% endif %}
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
        {{ product_of('1 + long_return') }} - 1 as long_return,
        {{ product_of('1 + short_return') }} - 1 as short_return
    from streaks
    where leader <> 'tie'
    group by pair_id, frequency, run_number
),

{% if is_incremental() %}
-- kept runs (the pre-hook deleted the rest) longer than each rebuilt run
longer_kept as (
    select runs.pair_id, runs.frequency, runs.run_number, count(*) as longer_runs
    from runs
    inner join {{ this }} as kept
        on kept.pair_id = runs.pair_id
        and kept.frequency = runs.frequency
        and kept.leader = runs.leader
        and kept.length > runs.length
    group by runs.pair_id, runs.frequency, runs.run_number
),
{% endif %}

ranked as (
    select
        cast(runs.pair_id as string) as pair_id,
        cast(runs.frequency as string) as frequency,
        cast(runs.streak_start as date) as streak_start,
        cast(runs.streak_end as date) as streak_end,
        cast(runs.leader as string) as leader,
        cast(runs.length as integer) as length,
        cast(runs.long_return as double) as long_return,
        cast(runs.short_return as double) as short_return,
        cast(runs.long_return - runs.short_return as double) as cumulative_spread,
        cast(runs.streak_end = latest.latest_period_end as boolean) as is_current,
        cast(
            rank() over (
                partition by runs.pair_id, runs.frequency, runs.leader order by runs.length desc
            )
            {% if is_incremental() %}+ coalesce(longer_kept.longer_runs, 0){% endif %}
        as integer) as rank_in_history
    from runs
    inner join latest using (pair_id, frequency)
    {% if is_incremental() %}
    left join longer_kept using (pair_id, frequency, run_number)
    {% endif %}
)

select * from ranked
