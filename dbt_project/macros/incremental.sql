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
    {#- A build starts as a full one: every row is to be checked. The `recompute` strategy
        narrows this to the rows it wrote; a full build never calls it. -#}
    insert into {{ incremental_state_relation() }} (model_name, checked_column, checked_from)
    values ('{{ this.identifier }}', '{{ config.get("checked_column") }}', date '0001-01-01')
    on conflict (model_name) do update set
        checked_column = excluded.checked_column,
        checked_from = excluded.checked_from
    {%- endif -%}
{%- endmacro %}


{% macro record_incremental_state() -%}
    {%- if builds_incrementally() %}
    update {{ incremental_state_relation() }}
    set
        prices_ingested_through = (select max(ingested_at) from {{ ref('stg_market__price_points') }}),
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


{#- CTEs `previous_build` (this model's last watermark) and `changed_symbols` (symbol,
    first_changed): the earliest session of each symbol loaded or restated since. -#}
{% macro changed_prices_ctes() -%}
previous_build as (
    select prices_ingested_through
    from {{ incremental_state_relation() }}
    where model_name = '{{ this.identifier }}' and prices_ingested_through is not null
),

changed_symbols as (
    select symbol, min(session_date) as first_changed
    from {{ ref('stg_market__price_points') }}
    where ingested_at > coalesce(
        (select prices_ingested_through from previous_build), timestamp '0001-01-01'
    )
    group by symbol
)
{%- endmacro %}


{#- CTEs `stored_pairs` and `recompute_points` (pair_id[, frequency], recompute_from): where
    each pair starts to be recomputed. With `frequencies`, one point per pair and frequency
    (`date_column` is then the period's end, on or after every session it covers). -#}
{% macro recompute_points_ctes(pairs_cte, date_column='session_date', frequencies=none) -%}
{%- set keys = 'pair_id, frequency' if frequencies else 'pair_id' -%}
stored_pairs as (
    select
        {{ keys }},
        max({{ date_column }}) as last_stored,
        -- one set of legs in every stored row (cheaper than counting distinct pairs)
        min(long_symbol) = max(long_symbol) and min(short_symbol) = max(short_symbol)
            as one_leg_set,
        min(long_symbol) as long_symbol,
        min(short_symbol) as short_symbol
    from {{ this }}
    group by {{ keys }}
),

recompute_points as (
    select
        pairs.pair_id,
        {% if frequencies %}frequencies.frequency,{% endif %}
        case
            when stored_pairs.pair_id is null
                or not stored_pairs.one_leg_set
                or stored_pairs.long_symbol <> pairs.long_symbol
                or stored_pairs.short_symbol <> pairs.short_symbol
                or not exists (select 1 from previous_build)
            then date '0001-01-01'
            else least(
                stored_pairs.last_stored + 1,
                coalesce(long_changes.first_changed, date '9999-12-31'),
                coalesce(short_changes.first_changed, date '9999-12-31')
            )
        end as recompute_from
    from {{ pairs_cte }} as pairs
    {% if frequencies -%}
    cross join (
        values {% for frequency in frequencies %}('{{ frequency }}'){{ ", " if not loop.last }}{% endfor %}
    ) as frequencies (frequency)
    {%- endif %}
    left join stored_pairs using ({{ keys }})
    left join changed_symbols as long_changes on long_changes.symbol = pairs.long_symbol
    left join changed_symbols as short_changes on short_changes.symbol = pairs.short_symbol
)
{%- endmacro %}


{#- CTEs `recompute_bounds` (pair_id, recompute_from, input_from) for the pairs of
    `pairs_cte` (pair_id, long_symbol, short_symbol), whose rows are dated by
    `date_column`. Only valid inside is_incremental(). -#}
{% macro recompute_bounds_ctes(pairs_cte, rows_before, calendar_anchors=false, date_column='session_date') -%}
{{ changed_prices_ctes() }},

{{ recompute_points_ctes(pairs_cte, date_column) }},

-- Stored rows shortly before each recompute point: a bounded scan (the windows need
-- `rows_before` rows, the calendar anchors at most the previous year).
rows_back as (
    select
        stored.pair_id,
        stored.{{ date_column }} as stored_date,
        row_number() over (
            partition by stored.pair_id order by stored.{{ date_column }} desc
        ) as rows_back
    from {{ this }} as stored
    inner join recompute_points using (pair_id)
    where stored.{{ date_column }} < recompute_points.recompute_from
    -- calendar days that hold `rows_before` rows with room for holes in the data (a pair
    -- with fewer rows in them is rebuilt whole), and the previous year for the anchors
    and stored.{{ date_column }} >= recompute_points.recompute_from - interval {{
        rows_before * (14 if date_column == 'week_ending' else 3) + (800 if calendar_anchors else 30)
    }} day
),

recompute_bounds as (
    select
        recompute_points.pair_id,
        recompute_points.recompute_from,
        case
            when count(rows_back.stored_date) filter (where rows_back.rows_back <= {{ rows_before }})
                < {{ rows_before }}
            then date '0001-01-01'
            else least(
                min(rows_back.stored_date) filter (where rows_back.rows_back <= {{ rows_before }})
                {%- if calendar_anchors %},
                coalesce(
                    max(rows_back.stored_date) filter (
                        where rows_back.stored_date < date_trunc('year', recompute_points.recompute_from)
                    ),
                    date '9999-12-31'
                ),
                coalesce(
                    max(rows_back.stored_date) filter (
                        where rows_back.stored_date < date_trunc('month', recompute_points.recompute_from)
                    ),
                    date '9999-12-31'
                )
                {%- endif %}
            )
        end as input_from
    from recompute_points
    left join rows_back using (pair_id)
    group by recompute_points.pair_id, recompute_points.recompute_from
)
{%- endmacro %}


{#- The model's final select: in an incremental build, only the rows from each pair's (or
    symbol's) recompute point on; the rows before it were read as window input only. -#}
{% macro recomputed_rows(cte, date_column='session_date', key='pair_id') -%}
select {{ cte }}.* from {{ cte }}
{%- if is_incremental() %}
inner join recompute_bounds
    on recompute_bounds.{{ key }} = {{ cte }}.{{ key }}
    and {{ cte }}.{{ date_column }} >= recompute_bounds.recompute_from
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
