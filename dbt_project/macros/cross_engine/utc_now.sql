{#- The current time as a timestamp without time zone, on the UTC clock. -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now', 'market_divergence')()) }}
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    (now() at time zone 'UTC')
{%- endmacro %}

{#- current_timestamp() is shown in the session time zone: read as that zone's wall
    clock, then moved to UTC. -#}
{% macro spark__utc_now() -%}
    convert_timezone(current_timezone(), 'UTC', cast(current_timestamp() as timestamp_ntz))
{%- endmacro %}
