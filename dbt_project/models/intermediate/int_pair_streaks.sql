-- Outperformance runs as gaps and islands: over each pair's ordered periods (daily
-- sessions and weekly week_endings), a new run starts whenever the leader changes. A
-- tie period forms no run (streak_length 0) and so ends the run before it.
-- Incremental (see macros/incremental.sql): new periods continue the run numbering and
-- the streak of the last stored period before them, so nothing older is re-read.
{{
    config(
        materialized=history_materialization(),
        checked_column='period_end',
        unique_key=['pair_id', 'frequency', 'period_end'],
        pre_hook="{{ create_incremental_state() }}",
        post_hook=[
            "{{ delete_retired_pairs(ref('int_comparisons')) }}",
            "{{ record_marks('pair_id, frequency', 'period_end', ref('int_comparisons')) }}",
            "{{ record_incremental_state() }}",
        ],
    )
}}
-- depends_on: {{ ref('int_leg_price_points') }}
with

comparisons as (
    select pair_id, long_symbol, short_symbol from {{ ref('int_comparisons') }}
),

{% if is_incremental() %}
previous_build as ({{ previous_build() }}),

changed_symbols as ({{ changed_symbols('previous_build') }}),

-- a changed session moves its whole week, whose week_ending is on or after it
stored_pairs as ({{ stored_pairs('period_end', ['daily', 'weekly']) }}),

recompute_points as (
    {{ recompute_points(
        'comparisons', 'stored_pairs', 'changed_symbols', 'previous_build', ['daily', 'weekly']
    ) }}
),

-- The last stored period before each recompute point: where the new periods carry on.
carried as (
    select
        stored.pair_id,
        stored.frequency,
        max_by(stored.leader, stored.period_end) as leader,
        max_by(stored.run_number, stored.period_end) as run_number,
        max_by(stored.streak_length, stored.period_end) as streak_length
    from {{ this }} as stored
    inner join recompute_points using (pair_id, frequency)
    where stored.period_end < recompute_points.recompute_from
    -- a bound on the scan itself, before the join
    and stored.period_end >= {{ carried_rows_from('recompute_points') }}
    group by stored.pair_id, stored.frequency
),
{% endif %}

daily as (
    select * from {{ ref('int_pair_returns_daily') }}
    {% if is_incremental() %}
    -- a filter on the scan itself, before any join
    where session_date >= (select min(recompute_from) from recompute_points)
    {% endif %}
),

weekly as (
    select * from {{ ref('int_pair_returns_weekly') }}
    {% if is_incremental() %}
    where week_ending >= (select min(recompute_from) from recompute_points)
    {% endif %}
),

periods as (
    select
        pair_id,
        'daily' as frequency,
        session_date as period_end,
        long_symbol,
        short_symbol,
        long_return_1d as long_return,
        short_return_1d as short_return,
        leader
    from daily
    where leader is not null
    union all
    select
        pair_id,
        'weekly' as frequency,
        week_ending as period_end,
        long_symbol,
        short_symbol,
        long_return_1w as long_return,
        short_return_1w as short_return,
        leader
    from weekly
    where leader is not null
),

{% if is_incremental() %}
new_periods as (
    select periods.*
    from periods
    inner join recompute_points
        on recompute_points.pair_id = periods.pair_id
        and recompute_points.frequency = periods.frequency
        and periods.period_end >= recompute_points.recompute_from
),
{% else %}
new_periods as (
    select * from periods
),
{% endif %}

run_starts as (
    select
        new_periods.*,
        {% if is_incremental() %}
        carried.leader as carried_leader,
        carried.run_number as carried_run_number,
        carried.streak_length as carried_streak_length,
        {% else %}
        cast(null as string) as carried_leader,
        cast(null as bigint) as carried_run_number,
        cast(null as bigint) as carried_streak_length,
        {% endif %}
        case
            when new_periods.leader is distinct from coalesce(
                lag(new_periods.leader) over by_period, carried_leader
            ) then 1
            else 0
        end as starts_run
    from new_periods
    {% if is_incremental() %}
    left join carried using (pair_id, frequency)
    {% endif %}
    window by_period as (
        partition by new_periods.pair_id, new_periods.frequency order by new_periods.period_end
    )
),

runs as (
    select
        *,
        coalesce(carried_run_number, 0) + sum(starts_run) over (
            partition by pair_id, frequency order by period_end rows unbounded preceding
        ) as run_number
    from run_starts
),

positioned as (
    select
        pair_id,
        frequency,
        period_end,
        long_symbol,
        short_symbol,
        long_return,
        short_return,
        leader,
        run_number,
        leader as streak_leader,
        case
            when leader = 'tie' then 0
            else row_number() over (partition by pair_id, frequency, run_number order by period_end)
                + case when run_number = carried_run_number then carried_streak_length else 0 end
        end as streak_length,
        -- when this row was written: outperformance_streaks rebuilds the runs it touches
        {{ utc_now() }} as recomputed_at
    from runs
)

select * from positioned
