{#-
    Whether the pair-history models (see macros/incremental.sql) build incrementally on
    this engine. The `recompute` strategy and its hooks delete and update stored rows:
    DuckDB does both. Spark on plain Parquet tables can do neither, so there those models
    are rebuilt whole as tables on every run and their hooks render to nothing. With Delta
    or Iceberg tables a `spark__` implementation returning true, plus `merge` forms of the
    hooks, turns the incremental builds on (docs/scaling.md).
-#}

{% macro builds_incrementally() -%}
    {{ return(adapter.dispatch('builds_incrementally')()) }}
{%- endmacro %}


{% macro default__builds_incrementally() -%}
    {{ return(false) }}
{%- endmacro %}


{% macro duckdb__builds_incrementally() -%}
    {{ return(true) }}
{%- endmacro %}


{#- The materialization of a pair-history model on this engine. -#}
{% macro history_materialization() -%}
    {{ return('incremental' if builds_incrementally() else 'table') }}
{%- endmacro %}
