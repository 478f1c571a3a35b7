-- Daily divergence of each pair in the pairs seed: leg returns and spreads over 1 and 5
-- sessions, 20 sessions, month and year to date, the relative-strength line, its high to
-- date and drawdown from it, rolling correlation and z-score, the day's leader and the
-- streak it extends.
-- Incremental: see macros/incremental.sql (251 rows of lookback for the 252-row z-score).
-- The high of rs_line to date needs all history: an incremental build carries it, and
-- the sessions since it, from the last stored row before the recompute point.
-- depends_on: {{ ref('int_leg_price_points') }}
{{
    config(
        materialized=history_materialization(),
        checked_column='session_date',
        unique_key=['pair_id', 'session_date'],
        pre_hook="{{ create_incremental_state() }}",
        post_hook=[
            "{{ delete_retired_pairs(ref('pairs')) }}",
            "{{ record_marks('pair_id', 'session_date', ref('pairs')) }}",
            "{{ record_incremental_state() }}",
        ],
    )
}}
with

pairs as (
    select pair_id, long_symbol, short_symbol from {{ ref('pairs') }}
),
{% if is_incremental() %}
previous_build as ({{ previous_build() }}),

changed_symbols as ({{ changed_symbols('previous_build') }}),

stored_pairs as ({{ stored_pairs() }}),

recompute_points as (
    {{ recompute_points('pairs', 'stored_pairs', 'changed_symbols', 'previous_build') }}
),

rows_back as ({{ rows_back('recompute_points', 251) }}),

recompute_bounds as ({{ recompute_bounds('recompute_points', 'rows_back', 251) }}),

-- The last stored row before each recompute point. A pair without one in the lookback
-- has its whole history read (recompute_bounds), so its highs start from its first row.
carried_highs as (
    select stored.pair_id, stored.rs_line_high, stored.sessions_since_rs_high
    from {{ this }} as stored
    inner join rows_back
        on rows_back.pair_id = stored.pair_id
        and rows_back.stored_date = stored.session_date
        and rows_back.rows_back = 1
    -- a filter on the scan itself, before the join
    where stored.session_date >= (select min(stored_date) from rows_back where rows_back = 1)
),
{% endif %}

returns as (
    select returns.* from {{ ref('int_pair_returns_daily') }} as returns
    {% if is_incremental() %}
    inner join recompute_bounds
        on recompute_bounds.pair_id = returns.pair_id
        and returns.session_date >= recompute_bounds.input_from
    {% endif %}
    where returns.comparison_kind = 'pair'
    {% if is_incremental() %}
    -- a filter on the scan itself, before the join
    and returns.session_date >= (select min(input_from) from recompute_bounds)
    {% endif %}
),

streaks as (
    select pair_id, period_end, streak_leader, streak_length
    from {{ ref('int_pair_streaks') }}
    where frequency = 'daily'
    {% if is_incremental() %}
    -- only the sessions written: the join's build side stays small
    and period_end >= (select min(recompute_from) from recompute_bounds)
    {% endif %}
),

-- The rows whose high to date is computed here: all of them in a full build; in an
-- incremental one those from the recompute point on, after the carried high.
tracked as (
    select
        returns.pair_id,
        returns.session_date,
        returns.rs_line,
        {% if is_incremental() %}
        carried_highs.rs_line_high as carried_high,
        carried_highs.sessions_since_rs_high as carried_sessions
        {% else %}
        cast(null as double) as carried_high,
        cast(null as bigint) as carried_sessions
        {% endif %}
    from returns
    {% if is_incremental() %}
    inner join recompute_bounds on recompute_bounds.pair_id = returns.pair_id
    left join carried_highs on carried_highs.pair_id = returns.pair_id
    where carried_highs.pair_id is null
    or returns.session_date >= recompute_bounds.recompute_from
    {% endif %}
),

-- A new high is above every earlier rs_line (the pair's first row is one); a session
-- equal to the high is not.
highs_read as (
    select
        *,
        max(rs_line) over (
            partition by pair_id order by session_date
            rows between unbounded preceding and 1 preceding
        ) as read_high
    from tracked
),

new_highs as (
    select
        *,
        case
            when read_high is null then carried_high
            when carried_high is null then read_high
            else greatest(read_high, carried_high)
        end as previous_high
    from highs_read
),

high_runs as (
    select
        *,
        sum(case when previous_high is null or rs_line > previous_high then 1 else 0 end) over (
            partition by pair_id order by session_date rows unbounded preceding
        ) as high_number,
        previous_high is null or rs_line > previous_high as is_new_high
    from new_highs
),

highs as (
    select
        pair_id,
        session_date,
        case when is_new_high then rs_line else previous_high end as rs_line_high,
        -- before its first new high, an incremental build continues the carried count
        row_number() over (partition by pair_id, high_number order by session_date)
            - 1
            + case when high_number = 0 then carried_sessions + 1 else 0 end
            as sessions_since_rs_high
    from high_runs
),

rolling_statistics as (
    select
        *,
        {{ rolling('avg(rs_line)', 'rs_line', 50, 'pair_id', 'session_date') }} as rs_line_sma_50,
        {{ rolling('corr(long_return_1d, short_return_1d)', 'long_return_1d * short_return_1d', 60, 'pair_id', 'session_date') }}
            as correlation_60d,
        {{ rolling('avg(spread_20d)', 'spread_20d', 252, 'pair_id', 'session_date') }} as spread_20d_mean_252,
        {{ rolling('stddev_samp(spread_20d)', 'spread_20d', 252, 'pair_id', 'session_date') }} as spread_20d_stddev_252
    from returns
),

final as (
    select
        cast(rolling_statistics.pair_id as string) as pair_id,
        cast(rolling_statistics.session_date as date) as session_date,
        cast(long_symbol as string) as long_symbol,
        cast(short_symbol as string) as short_symbol,
        cast(long_price as double) as long_price,
        cast(short_price as double) as short_price,
        cast(long_return_1d as double) as long_return_1d,
        cast(short_return_1d as double) as short_return_1d,
        cast(spread_1d as double) as spread_1d,
        cast(long_return_5d as double) as long_return_5d,
        cast(short_return_5d as double) as short_return_5d,
        cast(spread_5d as double) as spread_5d,
        cast(long_return_20d as double) as long_return_20d,
        cast(short_return_20d as double) as short_return_20d,
        cast(spread_20d as double) as spread_20d,
        cast(long_return_mtd as double) as long_return_mtd,
        cast(short_return_mtd as double) as short_return_mtd,
        cast(spread_mtd as double) as spread_mtd,
        cast(long_return_ytd as double) as long_return_ytd,
        cast(short_return_ytd as double) as short_return_ytd,
        cast(spread_ytd as double) as spread_ytd,
        cast(rs_line as double) as rs_line,
        cast(rs_line_sma_50 as double) as rs_line_sma_50,
        cast(highs.rs_line_high as double) as rs_line_high,
        cast(rolling_statistics.rs_line / highs.rs_line_high - 1 as double) as rs_line_drawdown,
        cast(highs.sessions_since_rs_high as integer) as sessions_since_rs_high,
        cast(correlation_60d as double) as correlation_60d,
        cast(
            (spread_20d - spread_20d_mean_252) / nullif(spread_20d_stddev_252, 0)
        as double) as spread_20d_zscore,
        cast(leader as string) as leader,
        cast(
            (long_return_1d > 0 and short_return_1d < 0)
            or (long_return_1d < 0 and short_return_1d > 0)
        as boolean) as is_divergent_day,
        cast(streaks.streak_leader as string) as streak_leader,
        cast(streaks.streak_length as integer) as streak_length
    from rolling_statistics
    left join streaks
        on streaks.pair_id = rolling_statistics.pair_id
        and streaks.period_end = rolling_statistics.session_date
    left join highs
        on highs.pair_id = rolling_statistics.pair_id
        and highs.session_date = rolling_statistics.session_date
)

{{ recomputed_rows('final', 'recompute_bounds') }}
