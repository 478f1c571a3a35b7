-- Where each pair stands now, daily and weekly: the leader of its latest period, how
-- long the current run is and how it ranks, and the longest runs each side has had.
with

streaks as (
    select s.*
    from {{ ref('int_pair_streaks') }} as s
    inner join {{ ref('pairs') }} as p using (pair_id)
),

latest as (
    select
        pair_id,
        frequency,
        max(period_end) as as_of,
        max_by(streak_leader, period_end) as current_leader,
        max_by(streak_length, period_end) as current_length
    from streaks
    group by all
),

current_runs as (
    select pair_id, frequency, streak_start, rank_in_history
    from {{ ref('outperformance_streaks') }}
    where is_current
),

longest as (
    select
        pair_id,
        frequency,
        max(length) filter (where leader = 'long') as longest_length_long,
        max(length) filter (where leader = 'short') as longest_length_short
    from {{ ref('outperformance_streaks') }}
    -- the longest runs of each leader rank first: a few rows to read of millions
    where rank_in_history = 1
    group by all
),

final as (
    select
        cast(latest.pair_id as string) as pair_id,
        cast(latest.frequency as string) as frequency,
        cast(latest.as_of as date) as as_of,
        cast(latest.current_leader as string) as current_leader,
        cast(latest.current_length as integer) as current_length,
        cast(current_runs.streak_start as date) as current_streak_start,
        cast(current_runs.rank_in_history as integer) as current_rank,
        cast(coalesce(longest.longest_length_long, 0) as integer) as longest_length_long,
        cast(coalesce(longest.longest_length_short, 0) as integer) as longest_length_short
    from latest
    left join current_runs using (pair_id, frequency)
    left join longest using (pair_id, frequency)
)

select * from final
