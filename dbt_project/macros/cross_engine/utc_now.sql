{#- The current time as a timestamp without time zone, on the UTC clock. -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now', 'market_divergence')()) }}
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    (now() at time zone 'UTC')
{%- endmacro %}

{#- The Hive metastore of Spark 3.5 stores no timestamp_ntz: timestamps are instants, and
    the profile pins the session time zone to UTC, so they read as the UTC clock. -#}
{% macro spark__utc_now() -%}
    current_timestamp()
{%- endmacro %}
