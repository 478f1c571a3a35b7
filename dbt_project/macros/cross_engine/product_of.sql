{#- The product of the non-null values of `expression` in the group; null when there are
    none. DuckDB multiplies them itself, so the values stay as they were; Spark SQL has no
    product aggregate and folds the collected values instead. exp(sum(ln(x))) would do on
    both, but differs from the product in the last bits, which matter once 1 is taken
    off a product close to 1. -#}
{% macro product_of(expression) -%}
    {{ return(adapter.dispatch('product_of', 'market_divergence')(expression)) }}
{%- endmacro %}

{% macro duckdb__product_of(expression) -%}
    product({{ expression }})
{%- endmacro %}

{% macro spark__product_of(expression) -%}
    case
        when count({{ expression }}) > 0
        then aggregate(
            collect_list(cast({{ expression }} as double)),
            cast(1 as double),
            (accumulated, factor) -> accumulated * factor
        )
    end
{%- endmacro %}
