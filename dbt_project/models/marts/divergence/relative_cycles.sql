-- Underwater periods of each pair's relative-strength line: from a high of rs_line to the
-- first later session above it, with the lowest point in between, kept when they fell
-- at least `min_relative_drawdown` below the high.
-- Incremental (see macros/incremental_cycles.sql): a pair with new sessions only is
-- rebuilt from its open stretch, kept as three rows; a restated or new pair from its last
-- high before the change. The ranks of the kept periods are set again by a post-hook.
-- depends_on: {{ ref('int_leg_price_points') }}
{{
    config(
        materialized=history_materialization(),
        checked_column='peak_date',
        unique_key=['pair_id', 'peak_date'],
        pre_hook=[
            "{{ create_incremental_state() }}",
            "{{ plan_cycle_rebuilds(ref('divergence_daily'), ref('pairs'), var('min_relative_drawdown')) }}",
        ],
        post_hook=[
            "{{ delete_rows_not_in('pair_id', ref('pairs')) }}",
            "{{ rerank_cycles() }}",
            "{{ record_open_cycles(ref('divergence_daily'), ref('pairs'), var('min_relative_drawdown')) }}",
            "{{ record_watermark_of(ref('divergence_daily')) }}",
            "{{ record_cycle_legs(ref('divergence_daily'), ref('pairs')) }}",
        ],
    )
}}
{%- set min_drawdown = var('min_relative_drawdown') %}
{%- if min_drawdown is not number or min_drawdown is sameas true or min_drawdown is sameas false
    or min_drawdown < 0 or min_drawdown >= 1 %}
    {{ exceptions.raise_compiler_error(
        "min_relative_drawdown must be a fraction in [0, 1), got " ~ var('min_relative_drawdown')
    ) }}
{%- endif %}
with

daily as (
    {{ cycle_rows(ref('divergence_daily')) }}
),

-- Each new high (sessions_since_rs_high = 0) opens a stretch: the high, then the sessions
-- below or at it until the next new high.
stretches as (
    select
        *,
        sum(case when sessions_since_rs_high = 0 then 1 else 0 end) over (
            partition by pair_id order by session_date rows unbounded preceding
        ) as stretch_number
    from daily
),

peaks as (
    select pair_id, stretch_number, session_date as peak_date, rs_line as peak_rs_line
    from stretches
    where sessions_since_rs_high = 0
),

-- The lowest session after the high; the earliest of equal lows.
troughs as (
    select
        pair_id,
        stretch_number,
        session_date as trough_date,
        rs_line as trough_rs_line,
        sessions_since_rs_high as sessions_to_trough
    from (
        select
            *,
            row_number() over (
                partition by pair_id, stretch_number order by rs_line, session_date
            ) as lowest_first
        from stretches
        where sessions_since_rs_high > 0
    ) as underwater
    where lowest_first = 1
),

stretch_ends as (
    select
        pair_id,
        stretch_number,
        max(sessions_since_rs_high) as sessions_after_peak
    from stretches
    group by pair_id, stretch_number
),

recoveries as (
    select
        pair_id,
        stretch_number,
        lead(peak_date) over (partition by pair_id order by stretch_number) as recovery_date
    from peaks
),

periods as (
    select
        peaks.pair_id,
        peaks.peak_date,
        peaks.peak_rs_line,
        troughs.trough_date,
        troughs.trough_rs_line,
        troughs.trough_rs_line / peaks.peak_rs_line - 1 as depth,
        recoveries.recovery_date,
        troughs.sessions_to_trough,
        -- the recovery session counts; an open period runs to the pair's latest session
        stretch_ends.sessions_after_peak
            + case when recoveries.recovery_date is null then 0 else 1 end
            as sessions_underwater,
        recoveries.recovery_date is null as is_current
    from peaks
    inner join troughs using (pair_id, stretch_number)
    inner join stretch_ends using (pair_id, stretch_number)
    inner join recoveries using (pair_id, stretch_number)
),

deep_enough as (
    -- a period only level with its high never went underwater
    select * from periods where depth < 0 and depth <= -{{ min_drawdown }}
),

final as (
    select
        cast(pair_id as string) as pair_id,
        cast(peak_date as date) as peak_date,
        cast(peak_rs_line as double) as peak_rs_line,
        cast(trough_date as date) as trough_date,
        cast(trough_rs_line as double) as trough_rs_line,
        cast(depth as double) as depth,
        cast(recovery_date as date) as recovery_date,
        cast(sessions_to_trough as integer) as sessions_to_trough,
        cast(sessions_underwater as integer) as sessions_underwater,
        cast(is_current as boolean) as is_current,
        cast(
            rank() over (partition by pair_id order by sessions_underwater desc)
        as integer) as rank_by_duration
    from deep_enough
)

select * from final
