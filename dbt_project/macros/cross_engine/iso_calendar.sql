{#- ISO 8601 weeks (Monday to Sunday; week 1 holds the year's first Thursday). Both
    engines name the week weekofyear(); the week-numbering year has no common name. -#}
{% macro iso_week(date_expression) -%}
    weekofyear({{ date_expression }})
{%- endmacro %}

{% macro iso_year(date_expression) -%}
    {{ return(adapter.dispatch('iso_year', 'market_divergence')(date_expression)) }}
{%- endmacro %}

{% macro duckdb__iso_year(date_expression) -%}
    isoyear({{ date_expression }})
{%- endmacro %}

{% macro spark__iso_year(date_expression) -%}
    extract(yearofweek from {{ date_expression }})
{%- endmacro %}
