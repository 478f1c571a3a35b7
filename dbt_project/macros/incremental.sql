{#-
    Exact incremental builds of the pair-by-session models.

    Each incremental model records, after every build, the latest `ingested_at` of the
    raw prices it read (meta.incremental_state). The next build recomputes, per pair, only
    the sessions from the earliest of
      - the first session after the last one stored,
      - the first session of either leg whose raw price was inserted or changed since
        (a restatement deep in history moves this back, as far as it reaches),
    and everything for a pair that is new or whose legs changed. A window of `rows_before`
    stored rows before that point (and the rows anchoring month- and year-to-date returns)
    is read back as input, so every recomputed value sees the same inputs as in a full
    build and the two give identical tables. `dbt build --full-refresh` rebuilds all.
-#}

{% macro incremental_state_relation() -%}
    meta.incremental_state
{%- endmacro %}


{% macro create_incremental_state() -%}
    {%- if builds_incrementally() %}
    create schema if not exists meta;
    create table if not exists {{ incremental_state_relation() }} (
        model_name string primary key,
        prices_ingested_through timestamp,
        built_at timestamp
    );
    alter table {{ incremental_state_relation() }} add column if not exists checked_column string;
    alter table {{ incremental_state_relation() }} add column if not exists checked_from date;
    alter table {{ incremental_state_relation() }} add column if not exists upstream_built_through timestamp;
    alter table {{ incremental_state_relation() }} add column if not exists unverified_from date;
    create table if not exists {{ marks_relation() }} (
        model_name string,
        pair_id string,
        frequency string,
        symbol string,
        last_stored date,
        one_leg_set boolean,
        long_symbol string,
        short_symbol string
    );
    {#- A build starts as a full one: every row is to be checked. The `recompute` strategy
        narrows this to the rows it wrote; a full build never calls it. -#}
    insert into {{ incremental_state_relation() }} (model_name, checked_column, checked_from)
    values ('{{ this.identifier }}', '{{ config.get("checked_column") }}', date '0001-01-01')
    on conflict (model_name) do update set
        checked_column = excluded.checked_column,
        checked_from = excluded.checked_from
    {%- endif -%}
{%- endmacro %}


{#- `points`: the relation whose `ingested_at` the model's watermark follows, by default
    every pair leg's (instruments and baskets). -#}
{% macro record_incremental_state(points=none) -%}
    {%- if builds_incrementally() %}
    update {{ incremental_state_relation() }}
    set
        prices_ingested_through = (select max(ingested_at) from {{ points or ref('int_leg_price_points') }}),
        built_at = cast(now() as timestamp),
        unverified_from = checked_from
    where model_name = '{{ this.identifier }}'
    {%- endif -%}
{%- endmacro %}


{#- The `recompute` incremental strategy: delete+insert on the unique key, then note the
    earliest `checked_column` value written, so that the data tests that follow check the
    recomputed rows only (see get_where_subquery); rows written by earlier builds whose
    tests have not passed since (`unverified_from`, see clear_verified_rows) are checked
    again. Nothing written and nothing pending: nothing to check. -#}
{% macro get_incremental_recompute_sql(arg_dict) -%}
    {%- set checked_column = config.get('checked_column') -%}
    {%- if not checked_column -%}
        {{ exceptions.raise_compiler_error(
            "The recompute strategy needs a checked_column config on " ~ this.identifier
        ) }}
    {%- endif -%}
    {{ get_incremental_delete_insert_sql(arg_dict) }};
    update {{ incremental_state_relation() }}
    set checked_from = least(
        (select min({{ checked_column }}) from {{ arg_dict['temp_relation'] }}), unverified_from
    )
    where model_name = '{{ this.identifier }}'
{%- endmacro %}


{#- Rows of pairs that left the comparisons, or whose legs changed, are dropped. -#}
{% macro delete_retired_pairs(comparisons) -%}
    {%- if builds_incrementally() %}
    delete from {{ this }} as stored
    where not exists (
        select 1 from {{ comparisons }} as current_pairs
        where current_pairs.pair_id = stored.pair_id
        and current_pairs.long_symbol = stored.long_symbol
        and current_pairs.short_symbol = stored.short_symbol
    )
    {%- endif -%}
{%- endmacro %}


{#- Rows whose `column` value left `relation` (a symbol removed from the instruments seed,
    a pair from the pairs seed) are dropped. -#}
{% macro delete_rows_not_in(column, relation) -%}
    {%- if builds_incrementally() %}
    delete from {{ this }} where {{ column }} not in (select {{ column }} from {{ relation }})
    {%- endif -%}
{%- endmacro %}


{#- The CTEs of an incremental build. Each macro below is the body of one CTE, and takes
    the names of the CTEs it reads, so a model spells out every CTE it has (see
    divergence_daily.sql for the whole chain: previous_build, changed_symbols,
    stored_pairs, recompute_points, rows_back, recompute_bounds). Only valid inside
    is_incremental(): they read the model's stored rows ({{ this }}). -#}


{#- This model's last watermark: the newest `ingested_at` of the prices it read (no row on
    the first incremental build after a full one that recorded none). -#}
{% macro previous_build() -%}
    select prices_ingested_through
    from {{ incremental_state_relation() }}
    where model_name = '{{ this.identifier }}' and prices_ingested_through is not null
{%- endmacro %}


{#- (symbol, first_changed): the earliest session of each leg (an instrument or a basket, or
    in `points` only) loaded or restated since the watermark in `previous_build`. -#}
{% macro changed_symbols(previous_build, points=none) -%}
    select symbol, min(session_date) as first_changed
    from {{ points or ref('int_leg_price_points') }}
    where ingested_at > coalesce(
        (select prices_ingested_through from {{ previous_build }}), timestamp '0001-01-01'
    )
    group by symbol
{%- endmacro %}


{#- Per stored pair (and frequency, with `frequencies`): its last `date_column` and the legs
    its rows were built with. Read from the model's marks (see record_marks) once a build
    has recorded them, which saves grouping every stored row on each build. -#}
{% macro stored_pairs(date_column='session_date', frequencies=none) -%}
    {%- set keys = 'pair_id, frequency' if frequencies else 'pair_id' %}
    {%- if marks_recorded() %}
    select {{ keys }}, last_stored, one_leg_set, long_symbol, short_symbol
    from {{ marks_relation() }}
    where model_name = '{{ this.identifier }}'
    {%- else %}
    {{ marks_query(keys, date_column, true, this) }}
    {%- endif %}
{%- endmacro %}


{#- Per stored symbol: its last `date_column` (from the marks once recorded). -#}
{% macro stored_symbols(date_column='session_date') -%}
    {%- if marks_recorded() %}
    select symbol, last_stored
    from {{ marks_relation() }}
    where model_name = '{{ this.identifier }}'
    {%- else %}
    {{ marks_query('symbol', date_column, false, this) }}
    {%- endif %}
{%- endmacro %}


{#- One row per incremental model and key: `pair_id` (and `frequency`) or `symbol`, the
    other key columns empty. -#}
{% macro marks_relation() -%}
    meta.incremental_marks
{%- endmacro %}


{#- Whether a build of this model has recorded its marks. -#}
{% macro marks_recorded() -%}
    {%- if not execute or not builds_incrementally() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if adapter.get_relation(
        database=this.database, schema='meta', identifier='incremental_marks'
    ) is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select count(*) > 0 from " ~ marks_relation()
        ~ " where model_name = '" ~ this.identifier ~ "'"
    ) -%}
    {{ return(rows[0][0]) }}
{%- endmacro %}


{#- Per key of `rows`: its last `date_column`, and with `legs` the legs of its rows. -#}
{% macro marks_query(keys, date_column, legs, rows) -%}
    select
        {{ keys }},
        max({{ date_column }}) as last_stored
        {%- if legs %},
        -- one set of legs in every row (cheaper than counting distinct pairs)
        min(long_symbol) = max(long_symbol) and min(short_symbol) = max(short_symbol)
            as one_leg_set,
        min(long_symbol) as long_symbol,
        min(short_symbol) as short_symbol
        {%- endif %}
    from {{ rows }}
    group by {{ keys }}
{%- endmacro %}


{#- Post-hook, after the model's own deletions: the marks read by stored_pairs() and
    stored_symbols(), one row per key (`pair_id`, `pair_id, frequency` or `symbol`) with
    its last stored date (and legs). A full build records every key's. An incremental one
    records again those of the keys it wrote rows for (every stored row on or after the
    build's checked_from, which is at most its earliest row written) and drops those of
    keys no longer in `current` (the pairs with these legs, or the instruments). -#}
{% macro record_marks(keys, date_column, current, legs=true) -%}
    {%- if builds_incrementally() %}
    {%- set marks = marks_relation() -%}
    {%- set key_list = keys.split(', ') -%}
    {%- set model = "'" ~ this.identifier ~ "'" -%}
    {%- set written = this.identifier ~ '__marks_written' -%}
    {#- the table is created with the state table (create_incremental_state) #}
    {%- if is_incremental() and marks_recorded() %}
    delete from {{ marks }} as marks
    where marks.model_name = {{ model }}
    and not exists (
        select 1 from {{ current }} as current_keys
        where current_keys.{{ key_list[0] }} = marks.{{ key_list[0] }}
        {%- if legs %}
        and current_keys.long_symbol = marks.long_symbol
        and current_keys.short_symbol = marks.short_symbol
        {%- endif %}
    );
    create or replace temp table {{ written }} as
    {{ marks_query(keys, date_column, legs, '(select * from ' ~ this ~ ' where ' ~ date_column
        ~ ' >= (select checked_from from ' ~ incremental_state_relation()
        ~ ' where model_name = ' ~ model ~ '))') }};
    delete from {{ marks }} as marks
    using {{ written }} as written
    where marks.model_name = {{ model }}
    {%- for key in key_list %}
    and marks.{{ key }} = written.{{ key }}
    {%- endfor %};
    {%- else %}
    delete from {{ marks }} where model_name = {{ model }};
    create or replace temp table {{ written }} as
    {{ marks_query(keys, date_column, legs, this) }};
    {%- endif %}
    insert into {{ marks }} by name
    select {{ model }} as model_name, * from {{ written }};
    drop table {{ written }}
    {%- endif -%}
{%- endmacro %}


{#- (pair_id[, frequency], recompute_from): where each pair of `pairs` (pair_id,
    long_symbol, short_symbol) starts to be recomputed: the day after its last stored row,
    or the first changed session of either leg if earlier; all of it for a pair that is new
    or whose legs changed. With `frequencies`, one point per pair and frequency (dates are
    then period ends, on or after every session the period covers). -#}
{% macro recompute_points(pairs, stored_pairs, changed_symbols, previous_build, frequencies=none) -%}
    {%- set keys = 'pair_id, frequency' if frequencies else 'pair_id' %}
    select
        pairs.pair_id,
        {% if frequencies %}frequencies.frequency,{% endif %}
        case
            when {{ stored_pairs }}.pair_id is null
                or not {{ stored_pairs }}.one_leg_set
                or {{ stored_pairs }}.long_symbol <> pairs.long_symbol
                or {{ stored_pairs }}.short_symbol <> pairs.short_symbol
                or not exists (select 1 from {{ previous_build }})
            then date '0001-01-01'
            else least(
                {{ stored_pairs }}.last_stored + 1,
                coalesce(long_changes.first_changed, date '9999-12-31'),
                coalesce(short_changes.first_changed, date '9999-12-31')
            )
        end as recompute_from,
        {{ stored_pairs }}.last_stored
    from {{ pairs }} as pairs
    {% if frequencies -%}
    cross join (
        values {% for frequency in frequencies %}('{{ frequency }}'){{ ", " if not loop.last }}{% endfor %}
    ) as frequencies (frequency)
    {%- endif %}
    left join {{ stored_pairs }} using ({{ keys }})
    left join {{ changed_symbols }} as long_changes on long_changes.symbol = pairs.long_symbol
    left join {{ changed_symbols }} as short_changes on short_changes.symbol = pairs.short_symbol
{%- endmacro %}


{#- (pair_id, stored_date, rows_back): the stored rows shortly before each recompute point,
    numbered back from it. A bounded scan: the windows need `rows_before` rows, the
    calendar anchors (month and year to date) at most the previous year. -#}
{% macro rows_back(recompute_points, rows_before, calendar_anchors=false, date_column='session_date') -%}
    {%- set days = rows_before * (14 if date_column == 'week_ending' else 3) + (800 if calendar_anchors else 30) %}
    select
        stored.pair_id,
        stored.{{ date_column }} as stored_date,
        row_number() over (
            partition by stored.pair_id order by stored.{{ date_column }} desc
        ) as rows_back
    from {{ this }} as stored
    inner join {{ recompute_points }} using (pair_id)
    where stored.{{ date_column }} < {{ recompute_points }}.recompute_from
    -- calendar days that hold `rows_before` rows with room for holes in the data (a pair
    -- with fewer rows in them is rebuilt whole), and the previous year for the anchors
    and stored.{{ date_column }} >= {{ recompute_points }}.recompute_from - interval {{ days }} day
    -- the same bound for every pair, on the scan itself before the join
    and stored.{{ date_column }} >= (
        select min(recompute_from) from {{ recompute_points }}
    ) - interval {{ days }} day
{%- endmacro %}


{#- (pair_id, recompute_from, input_from): from `input_from` on, the stored rows are read
    back as window input for the rows recomputed from `recompute_from`. -#}
{% macro recompute_bounds(recompute_points, rows_back, rows_before, calendar_anchors=false) -%}
    select
        {{ recompute_points }}.pair_id,
        {{ recompute_points }}.recompute_from,
        case
            when count({{ rows_back }}.stored_date) filter (where {{ rows_back }}.rows_back <= {{ rows_before }})
                < {{ rows_before }}
            then date '0001-01-01'
            else least(
                min({{ rows_back }}.stored_date) filter (where {{ rows_back }}.rows_back <= {{ rows_before }})
                {%- if calendar_anchors %},
                coalesce(
                    max({{ rows_back }}.stored_date) filter (
                        where {{ rows_back }}.stored_date < date_trunc('year', {{ recompute_points }}.recompute_from)
                    ),
                    date '9999-12-31'
                ),
                coalesce(
                    max({{ rows_back }}.stored_date) filter (
                        where {{ rows_back }}.stored_date < date_trunc('month', {{ recompute_points }}.recompute_from)
                    ),
                    date '9999-12-31'
                )
                {%- endif %}
            )
        end as input_from
    from {{ recompute_points }}
    left join {{ rows_back }} using (pair_id)
    group by {{ recompute_points }}.pair_id, {{ recompute_points }}.recompute_from
{%- endmacro %}


{#- The model's final select: in an incremental build, only the rows from each pair's (or
    symbol's) recompute point in `bounds`, the CTE built by recompute_bounds() or the
    model's own; the rows before it were read as window input only. -#}
{% macro recomputed_rows(cte, bounds, date_column='session_date', key='pair_id') -%}
select {{ cte }}.* from {{ cte }}
{%- if is_incremental() %}
inner join {{ bounds }}
    on {{ bounds }}.{{ key }} = {{ cte }}.{{ key }}
    and {{ cte }}.{{ date_column }} >= {{ bounds }}.recompute_from
{%- endif %}
{%- endmacro %}


{#- on-run-end: once every data test of a model ran in an invocation in which every node
    succeeded, the rows those tests read are verified, and the next build's tests need not
    read them again. After a failure they stay pending (from the earliest row the failed
    run checked), so the next nightly build checks them once more instead of moving on. -#}
{% macro clear_verified_rows(results) -%}
    {%- if execute -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
    {%- set ran = [] -%}
    {%- set tested = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- do ran.append(result.node.unique_id) -%}
        {%- for parent in result.node.depends_on.nodes if parent.startswith('model.') -%}
            {%- do tested.append(parent) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set verified = [] -%}
    {%- for model in tested | unique -%}
        {%- set attached = [] -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'test' and model in node.depends_on.nodes -%}
            {%- do attached.append(node.unique_id) -%}
        {%- endfor -%}
        {%- if attached | reject('in', ran) | list | length == 0 -%}
            {%- do verified.append(model.split('.')[-1]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set state = adapter.get_relation(database=target.database, schema='meta', identifier='incremental_state')
        if builds_incrementally() else none -%}
    {%- if state is not none and tested -%}
        {%- set update -%}
            update {{ state }} set unverified_from =
            {%- if not failed %} null
            where model_name in ('{{ verified | join("', '") }}')
            {%- else %}
            {%- if var('full_checks', false) %} date '0001-01-01'
            {%- else %} least(unverified_from, checked_from)
            {%- endif %}
            where model_name in ('{{ tested | unique | map('replace', 'model.' ~ project_name ~ '.', '') | join("', '") }}')
            {%- endif %}
        {%- endset -%}
        {#- dbt closes its hooks' connection with a rollback: commit here -#}
        {%- do run_query(update) -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}


{#- The earliest date from which every key's last stored row before its recompute point
    is read: its last stored row itself when the point comes after it (a nightly build),
    else the whole history. A bound on the scan of the stored rows, before any join. -#}
{% macro carried_rows_from(recompute_points) -%}
    (
        select coalesce(
            min(
                case
                    when last_stored is null then null
                    when last_stored < recompute_from then last_stored
                    else date '0001-01-01'
                end
            ),
            date '9999-12-31'
        )
        from {{ recompute_points }}
    )
{%- endmacro %}
