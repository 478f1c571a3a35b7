{#-
    Incremental builds of outperformance_streaks, one row per run.

    int_pair_streaks stamps each row it writes (`recomputed_at`). A build of the runs finds,
    per pair and frequency, the first period rewritten since its own last build, and
    rebuilds from the start of the last stored run before that period (the run that may
    have grown, shrunk or ended there): stored runs starting on or after that point are
    replaced, the runs before it are kept. Runs are contiguous, so aggregating the periods
    from that point gives exactly the runs that start there or later.

    rank_in_history ranks a run among its pair's runs of the same frequency and leader by
    length; replacing a run shifts the rank of kept runs whose length lies between the old
    and new lengths, and only those rows are updated. is_current can only leave a kept run.
-#}

{% macro rebuilt_runs_relation() -%}
    meta.{{ this.identifier }}__rebuilt
{%- endmacro %}


{% macro replaced_runs_relation() -%}
    meta.{{ this.identifier }}__replaced
{%- endmacro %}


{#- The legs of each pair at the last build: a pair whose legs changed, or that is new
    to the table, is rebuilt whole (int_pair_streaks deletes its old periods, which no
    stamp can show). -#}
{% macro built_legs_relation() -%}
    meta.{{ this.identifier }}__legs
{%- endmacro %}


{#- Post-hook: the legs this build saw. -#}
{% macro record_built_legs(pairs) -%}
    {%- if builds_incrementally() %}
    create or replace table {{ built_legs_relation() }} as
    select pair_id, long_symbol, short_symbol from {{ pairs }}
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook: where each pair and frequency is rebuilt from; the stored runs from there on
    are noted (for the ranks) and deleted. -#}
{% macro replace_stale_runs(streaks, pairs) -%}
    {%- if is_incremental() -%}
    create table if not exists {{ built_legs_relation() }} (
        pair_id string, long_symbol string, short_symbol string
    );

    create or replace table {{ rebuilt_runs_relation() }} as
    with

    previous_build as (
        select upstream_built_through
        from {{ incremental_state_relation() }}
        where model_name = '{{ this.identifier }}' and upstream_built_through is not null
    ),

    changed as (
        select pair_id, frequency, min(period_end) as first_changed
        from {{ streaks }}
        where recomputed_at > coalesce(
            (select upstream_built_through from previous_build), timestamp '0001-01-01'
        )
        group by pair_id, frequency
    ),

    whole_pairs as (
        select current_pairs.pair_id
        from {{ pairs }} as current_pairs
        left join {{ built_legs_relation() }} as built using (pair_id)
        where built.pair_id is null
        or built.long_symbol <> current_pairs.long_symbol
        or built.short_symbol <> current_pairs.short_symbol
    ),

    rebuild_points as (
        select pair_id, frequency, first_changed
        from changed
        where pair_id not in (select pair_id from whole_pairs)
        union all
        select whole_pairs.pair_id, frequencies.frequency, date '0001-01-01'
        from whole_pairs
        cross join (values ('daily'), ('weekly')) as frequencies (frequency)
    ),

    last_run_before as (
        select stored.pair_id, stored.frequency, max(stored.streak_start) as streak_start
        from {{ this }} as stored
        inner join rebuild_points using (pair_id, frequency)
        where stored.streak_start < rebuild_points.first_changed
        group by stored.pair_id, stored.frequency
    )

    select
        rebuild_points.pair_id,
        rebuild_points.frequency,
        coalesce(last_run_before.streak_start, rebuild_points.first_changed) as rebuild_from
    from rebuild_points
    left join last_run_before using (pair_id, frequency);

    create or replace table {{ replaced_runs_relation() }} as
    select stored.pair_id, stored.frequency, stored.leader, stored.length
    from {{ this }} as stored
    inner join {{ rebuilt_runs_relation() }} as rebuilt using (pair_id, frequency)
    where stored.streak_start >= rebuilt.rebuild_from;

    delete from {{ this }} as stored
    using {{ rebuilt_runs_relation() }} as rebuilt
    where stored.pair_id = rebuilt.pair_id
    and stored.frequency = rebuilt.frequency
    and stored.streak_start >= rebuilt.rebuild_from
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: kept runs lose is_current when later runs exist, and their rank moves by
    the runs (by length, per leader) inserted minus those replaced that are longer than
    them. The change of rank is a step function of length: computed per interval of
    lengths, it touches only the kept runs whose rank changes. -#}
{% macro rerank_kept_runs() -%}
    {%- if is_incremental() -%}
    update {{ this }} as kept
    set is_current = false
    from {{ rebuilt_runs_relation() }} as rebuilt
    where kept.is_current
    and kept.pair_id = rebuilt.pair_id
    and kept.frequency = rebuilt.frequency
    and kept.streak_start < rebuilt.rebuild_from;

    update {{ this }} as kept
    set rank_in_history = kept.rank_in_history + steps.rank_change
    from (
        with

        changes as (
            select pair_id, frequency, leader, length, sum(change) as change
            from (
                select runs.pair_id, runs.frequency, runs.leader, runs.length, 1 as change
                from {{ this }} as runs
                inner join {{ rebuilt_runs_relation() }} as rebuilt using (pair_id, frequency)
                where runs.streak_start >= rebuilt.rebuild_from
                union all
                select pair_id, frequency, leader, length, -1 as change
                from {{ replaced_runs_relation() }}
            )
            group by pair_id, frequency, leader, length
            having sum(change) <> 0
        ),

        -- a kept run of length n moves by the change at every length above n: constant
        -- between two consecutive changed lengths
        cumulated as (
            select
                pair_id,
                frequency,
                leader,
                length as below,
                coalesce(lead(length) over by_length, 0) as from_length,
                sum(change) over (
                    partition by pair_id, frequency, leader order by length desc
                    rows unbounded preceding
                ) as rank_change
            from changes
            window by_length as (partition by pair_id, frequency, leader order by length desc)
        )

        select * from cumulated where rank_change <> 0
    ) as steps
    where kept.pair_id = steps.pair_id
    and kept.frequency = steps.frequency
    and kept.leader = steps.leader
    and kept.length >= steps.from_length
    and kept.length < steps.below
    and exists (
        select 1 from {{ rebuilt_runs_relation() }} as rebuilt
        where rebuilt.pair_id = kept.pair_id
        and rebuilt.frequency = kept.frequency
        and kept.streak_start < rebuilt.rebuild_from
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: the newest stamp of int_pair_streaks read, where the next build resumes. -#}
{% macro record_runs_state(streaks) -%}
    {%- if builds_incrementally() %}
    update {{ incremental_state_relation() }}
    set
        upstream_built_through = (select max(recomputed_at) from {{ streaks }}),
        built_at = cast(now() as timestamp),
        unverified_from = checked_from
    where model_name = '{{ this.identifier }}'
    {%- endif -%}
{%- endmacro %}
