{#- The group's non-null values of `expression`, sorted and joined with `delimiter`; null
    in DuckDB and '' in Spark when there are none, so callers coalesce. DuckDB orders
    inside string_agg; Spark SQL has no ordered string aggregate and sorts a collected
    array instead. -#}
{% macro sorted_string_agg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'market_divergence')(expression, delimiter)) }}
{%- endmacro %}

{% macro duckdb__sorted_string_agg(expression, delimiter) -%}
    string_agg({{ expression }}, '{{ delimiter }}' order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_string_agg(expression, delimiter) -%}
    array_join(array_sort(collect_list({{ expression }})), '{{ delimiter }}')
{%- endmacro %}
