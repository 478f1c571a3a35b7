{#-
    Incremental builds of relative_cycles, one row per underwater period of a pair.

    A pair's periods are the stretches of its divergence_daily rows from one new high of
    rs_line to the next. A period depends on three rows of its stretch only: the high, the
    lowest row after it (the earliest of equal lows) and the last row (its session count).
    After each build, those three rows of each pair's last stretch, the one still open, are
    kept in meta.relative_cycles__open.

    A build finds, per pair, the first session whose leg prices were loaded or restated
    since the prices divergence_daily had read at this model's last build (its watermark
    in meta.incremental_state), and then:
      - when that session is after the last row kept (new sessions only), reads the kept
        rows of the open stretch and the new rows of divergence_daily: O(new rows), not
        O(history), however long ago the pair's last high was;
      - otherwise (a restatement, a new pair, changed legs, no rows kept), reads the pair's
        rows from its last new high before that session, which is a high in the stored and
        the new rows alike, so the periods before it are unchanged.
    New and re-legged pairs are told by the legs of the divergence_daily rows last read
    whole, and the watermark is divergence_daily's own: a build of this model alone, on a
    divergence_daily that has not caught up, is caught up by the next one.
    Stored periods from the rebuilt point on are replaced, and rank_by_duration is ranked
    again over each rebuilt pair's periods.
-#}

{% macro open_cycles_relation() -%}
    meta.{{ this.identifier }}__open
{%- endmacro %}


{#- The threshold the stored periods were kept with: another one rebuilds every pair. -#}
{% macro cycle_settings_relation() -%}
    meta.{{ this.identifier }}__settings
{%- endmacro %}


{#- Pre-hook: where each changed pair is rebuilt from (`rebuild_from`), which rows of
    `daily` are read from (`rows_from`) and whether its kept open stretch is read too;
    the stored periods from `rebuild_from` on are deleted. -#}
{% macro plan_cycle_rebuilds(daily, pairs, min_drawdown) -%}
    {%- if is_incremental() -%}
    create table if not exists {{ built_legs_relation() }} (
        pair_id string, long_symbol string, short_symbol string
    );
    create table if not exists {{ cycle_settings_relation() }} (min_relative_drawdown double);
    create table if not exists {{ open_cycles_relation() }} (
        pair_id string, session_date date, rs_line double, sessions_since_rs_high integer
    );

    create or replace table {{ rebuilt_runs_relation() }} as
    with

    previous_build as ({{ previous_build() }}),

    changed_symbols as ({{ changed_symbols('previous_build') }}),

    kept_open as (
        select pair_id, max(session_date) as kept_through
        from {{ open_cycles_relation() }}
        group by pair_id
    ),

    changes as (
        select
            pairs.pair_id,
            case
                when built.pair_id is null
                    or built.long_symbol <> pairs.long_symbol
                    or built.short_symbol <> pairs.short_symbol
                    or not exists (select 1 from previous_build)
                    or not exists (
                        select 1 from {{ cycle_settings_relation() }}
                        where min_relative_drawdown = {{ min_drawdown }}
                    )
                then date '0001-01-01'
                else least(
                    coalesce(long_changes.first_changed, date '9999-12-31'),
                    coalesce(short_changes.first_changed, date '9999-12-31')
                )
            end as first_changed
        from {{ pairs }} as pairs
        left join {{ built_legs_relation() }} as built using (pair_id)
        left join changed_symbols as long_changes on long_changes.symbol = pairs.long_symbol
        left join changed_symbols as short_changes on short_changes.symbol = pairs.short_symbol
    ),

    planned as (
        select changes.pair_id, changes.first_changed, kept_open.kept_through
        from changes
        left join kept_open using (pair_id)
        where changes.first_changed < date '9999-12-31'
    ),

    -- pairs changed at or before their last kept row: from the last high before the change
    restated_highs as (
        select daily.pair_id, max(daily.session_date) as last_high
        from {{ daily }} as daily
        inner join planned using (pair_id)
        where daily.sessions_since_rs_high = 0
        and daily.session_date < planned.first_changed
        and (planned.kept_through is null or planned.first_changed <= planned.kept_through)
        group by daily.pair_id
    ),

    carried_highs as (
        select open_rows.pair_id, open_rows.session_date as last_high
        from {{ open_cycles_relation() }} as open_rows
        where open_rows.sessions_since_rs_high = 0
    )

    select
        planned.pair_id,
        coalesce(carried_highs.last_high, restated_highs.last_high, date '0001-01-01')
            as rebuild_from,
        case
            when carried_highs.pair_id is not null then planned.kept_through + 1
            when planned.first_changed = date '0001-01-01' then date '0001-01-01'
            -- a pair's first row is a high: with none before the change, it has no rows
            -- before it either
            else coalesce(restated_highs.last_high, planned.first_changed)
        end as rows_from,
        carried_highs.pair_id is not null as reads_open,
        planned.first_changed = date '0001-01-01' as rebuilds_whole
    from planned
    left join restated_highs using (pair_id)
    left join carried_highs
        on carried_highs.pair_id = planned.pair_id
        and planned.first_changed > planned.kept_through;

    delete from {{ this }} as stored
    using {{ rebuilt_runs_relation() }} as rebuilt
    where stored.pair_id = rebuilt.pair_id
    and stored.peak_date >= rebuilt.rebuild_from
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- The rows a build reads: (pair_id, session_date, rs_line, sessions_since_rs_high) of
    `daily`, in an incremental build only those of the pairs planned, from `rows_from`,
    with their kept open stretch where it is read. -#}
{% macro cycle_rows(daily) -%}
    {%- if is_incremental() -%}
    select daily.pair_id, daily.session_date, daily.rs_line, daily.sessions_since_rs_high
    from {{ daily }} as daily
    inner join {{ rebuilt_runs_relation() }} as rebuilt
        on rebuilt.pair_id = daily.pair_id
        and daily.session_date >= rebuilt.rows_from
    -- a filter on the scan itself, before the join
    where daily.session_date >= (select min(rows_from) from {{ rebuilt_runs_relation() }})
    union all
    select open_rows.pair_id, open_rows.session_date, open_rows.rs_line,
        open_rows.sessions_since_rs_high
    from {{ open_cycles_relation() }} as open_rows
    inner join {{ rebuilt_runs_relation() }} as rebuilt
        on rebuilt.pair_id = open_rows.pair_id
        and rebuilt.reads_open
    {%- else -%}
    select pair_id, session_date, rs_line, sessions_since_rs_high from {{ daily }}
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: the kept rows of each pair's open stretch (its high, its lowest row after
    the high, its last row), from the rows this build read; a rebuilt pair without rows,
    or a pair no longer in `pairs`, keeps none. And the threshold of this build. -#}
{% macro record_open_cycles(daily, pairs, min_drawdown) -%}
    {%- if builds_incrementally() -%}
    create or replace table {{ cycle_settings_relation() }} as
    select cast({{ min_drawdown }} as double) as min_relative_drawdown;

    create table if not exists {{ open_cycles_relation() }} (
        pair_id string, session_date date, rs_line double, sessions_since_rs_high integer
    );

    -- computed before the kept rows it reads are replaced
    create or replace temporary table open_cycles__kept as
    with

    read_rows as ({{ cycle_rows(daily) }}),

    last_highs as (
        select pair_id, max(session_date) as last_high
        from read_rows
        where sessions_since_rs_high = 0
        group by pair_id
    ),

    -- aggregates, not window sorts: a full build reads every row of divergence_daily here
    open_rows as (
        select read_rows.*
        from read_rows
        inner join last_highs
            on last_highs.pair_id = read_rows.pair_id
            and read_rows.session_date >= last_highs.last_high
    ),

    ends as (
        select
            pair_id,
            min(rs_line) filter (where sessions_since_rs_high > 0) as lowest,
            max(session_date) as last_date
        from open_rows
        group by pair_id
    ),

    -- the earliest of equal lows after the high
    troughs as (
        select open_rows.pair_id, min(open_rows.session_date) as trough_date
        from open_rows
        inner join ends
            on ends.pair_id = open_rows.pair_id
            and open_rows.sessions_since_rs_high > 0
            and open_rows.rs_line = ends.lowest
        group by open_rows.pair_id
    )

    select distinct
        open_rows.pair_id,
        open_rows.session_date,
        open_rows.rs_line,
        open_rows.sessions_since_rs_high
    from open_rows
    inner join ends using (pair_id)
    left join troughs using (pair_id)
    where open_rows.sessions_since_rs_high = 0
    or open_rows.session_date = ends.last_date
    or open_rows.session_date = troughs.trough_date;

    delete from {{ open_cycles_relation() }}
    where pair_id not in (select pair_id from {{ pairs }})
    {%- if is_incremental() %}
    or pair_id in (select pair_id from {{ rebuilt_runs_relation() }})
    {%- else %}
    or true
    {%- endif %};

    insert into {{ open_cycles_relation() }} select * from open_cycles__kept;

    drop table open_cycles__kept
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: the legs of the rows read for each pair rebuilt whole (divergence_daily's,
    not the seed's: read before divergence_daily caught up with a new pair or new legs,
    they differ from the seed's, and the pair is rebuilt whole again by the next build);
    a pair without rows gets none, so it is rebuilt whole until it has some. -#}
{% macro record_cycle_legs(daily, pairs) -%}
    {%- if builds_incrementally() -%}
    create table if not exists {{ built_legs_relation() }} (
        pair_id string, long_symbol string, short_symbol string
    );

    delete from {{ built_legs_relation() }}
    where pair_id not in (select pair_id from {{ pairs }})
    {%- if is_incremental() %}
    or pair_id in (select pair_id from {{ rebuilt_runs_relation() }} where rebuilds_whole)
    {%- else %}
    or true
    {%- endif %};

    insert into {{ built_legs_relation() }}
    select daily.pair_id, min(daily.long_symbol), min(daily.short_symbol)
    from {{ daily }} as daily
    {%- if is_incremental() %}
    inner join {{ rebuilt_runs_relation() }} as rebuilt
        on rebuilt.pair_id = daily.pair_id
        and rebuilt.rebuilds_whole
    {%- endif %}
    where daily.pair_id in (select pair_id from {{ pairs }})
    group by daily.pair_id
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: rank_by_duration over all periods of each rebuilt pair. -#}
{% macro rerank_cycles() -%}
    {%- if is_incremental() -%}
    update {{ this }} as kept
    set rank_by_duration = ranked.rank_by_duration
    from (
        select
            pair_id,
            peak_date,
            cast(
                rank() over (partition by pair_id order by sessions_underwater desc)
            as integer) as rank_by_duration
        from {{ this }}
        where pair_id in (select pair_id from {{ rebuilt_runs_relation() }})
    ) as ranked
    where kept.pair_id = ranked.pair_id
    and kept.peak_date = ranked.peak_date
    and kept.rank_by_duration <> ranked.rank_by_duration
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: the watermark is the one of the divergence_daily rows read, not the newest
    price, so that prices divergence_daily has not read yet are read again next time. -#}
{% macro record_watermark_of(upstream) -%}
    {%- if builds_incrementally() %}
    update {{ incremental_state_relation() }}
    set
        prices_ingested_through = (
            select prices_ingested_through
            from {{ incremental_state_relation() }}
            where model_name = '{{ upstream.identifier }}'
        ),
        built_at = cast(now() as timestamp),
        unverified_from = checked_from
    where model_name = '{{ this.identifier }}'
    {%- endif -%}
{%- endmacro %}
