{#-
    Data tests of the incremental models check the rows their last build wrote.

    A full build writes every row and so has every row checked; an incremental build
    writes the recomputed sessions only (a nightly build: one session per pair), and its
    tests read those, not the whole history again. meta.incremental_state keeps, per model,
    the column and the earliest value written (see the `recompute` strategy). Run
    `dbt build --vars '{full_checks: true}'` to check every row regardless.
-#}

{#- The earliest `checked_column` value the model's last build wrote or a failed test
    left pending, as a SQL date literal; 'all' when every row is to be checked, 'none'
    when nothing was written and nothing is pending. -#}
{% macro checked_from(model_name) -%}
    {%- if not execute or var('full_checks', false) -%}
        {{ return('all') }}
    {%- endif -%}
    {%- set state = adapter.get_relation(database=target.database, schema='meta', identifier='incremental_state')
        if builds_incrementally() else none -%}
    {%- if state is none -%}
        {{ return('all') }}
    {%- endif -%}
    {#- rows written by the last build, and rows whose tests have not passed since -#}
    {%- set rows = run_query(
        "select since, since is null as nothing, since = date '0001-01-01' as everything from ("
        ~ " select least(checked_from, unverified_from) as since from " ~ state
        ~ " where model_name = '" ~ model_name ~ "' and checked_column is not null)"
    ) -%}
    {%- if rows | length == 0 or rows[0][2] -%}
        {{ return('all') }}
    {%- elif rows[0][1] -%}
        {{ return('none') }}
    {%- endif -%}
    {{ return("date '" ~ rows[0][0] ~ "'") }}
{%- endmacro %}


{#- A SQL condition keeping the rows the last builds of `model_names` (one name or a list)
    wrote, or left pending. -#}
{% macro checked_rows(model_names, column) -%}
    {%- set since = earliest_checked_from([model_names] if model_names is string else model_names) -%}
    {%- if since == 'all' -%}
        true
    {%- elif since == 'none' -%}
        false
    {%- else -%}
        {{ column }} >= {{ since }}
    {%- endif -%}
{%- endmacro %}


{#- Every generic test reads its model through this: the test's own `where` config, and
    for an incremental model the rows its last build wrote. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set column = incremental_checked_column(relation) -%}
    {%- if column -%}
        {%- set scope = checked_rows(relation.identifier, column) -%}
        {%- if scope != 'true' -%}
            {%- do conditions.append(scope) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}


{#- The checked_column config of the incremental model behind `relation`, if any. -#}
{% macro incremental_checked_column(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.alias == relation.identifier
        and node.schema == relation.schema -%}
        {{ return(node.config.get('checked_column')) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}


{#- The earliest of checked_from() over several models: for a test reading all of them. -#}
{% macro earliest_checked_from(model_names) -%}
    {%- set found = [] -%}
    {%- for model_name in model_names -%}
        {%- set since = checked_from(model_name) -%}
        {%- if since == 'all' -%}
            {{ return('all') }}
        {%- elif since != 'none' -%}
            {%- do found.append(since) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return((found | sort | first) if found else 'none') }}
{%- endmacro %}
