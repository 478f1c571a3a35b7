{#-
    On Spark the raw tables are Parquet files that the ingestion exports from the DuckDB
    loader after each load (ingestion/lake.py), one folder per table under LAKE_DIR/raw.
    Each invocation points the `raw` schema's tables at them before anything reads them,
    so a build sees the files as they are now. On DuckDB the raw tables are the loader's
    own and nothing is registered.

    Every schema dbt creates on Spark lives in its own folder of the lake, so its tables
    are Parquet at LAKE_DIR/<schema>/<table> (LAKE_DIR/marts/<mart> for the marts).
-#}

{% macro lake_dir() -%}
    {{ return(env_var('LAKE_DIR', '../data/lake')) }}
{%- endmacro %}


{% macro spark__create_schema(relation) -%}
    {%- call statement('create_schema') -%}
        create schema if not exists {{ relation.without_identifier() }}
        location '{{ lake_dir() }}/{{ relation.schema }}'
    {%- endcall -%}
{%- endmacro %}

{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources')()) }}
{%- endmacro %}


{% macro default__register_lake_sources() -%}
{%- endmacro %}


{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
    {%- set lake = lake_dir() -%}
    {%- set schemas = [] -%}
    {%- for source in graph.sources.values() | sort(attribute='name') -%}
        {%- if source.schema not in schemas -%}
            {%- do schemas.append(source.schema) -%}
            {%- do run_query('create schema if not exists ' ~ source.schema) -%}
        {%- endif -%}
        {%- do run_query('drop table if exists ' ~ source.schema ~ '.' ~ source.name) -%}
        {%- do run_query(
            'create table ' ~ source.schema ~ '.' ~ source.name ~ ' using parquet location '
            ~ "'" ~ lake ~ '/' ~ source.schema ~ '/' ~ source.name ~ "'"
        ) -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
