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


{#- The running product of `expression` over a partition's rows in `order_by` order, from
    its first row to the current one (nulls skipped; null while there is no value yet). -#}
{% macro running_product(expression, partition_by, order_by) -%}
    {{ return(adapter.dispatch('running_product', 'market_divergence')(expression, partition_by, order_by)) }}
{%- endmacro %}

{% macro duckdb__running_product(expression, partition_by, order_by) -%}
    product({{ expression }}) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}

{% macro spark__running_product(expression, partition_by, order_by) -%}
    {%- set frame -%}
    over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and current row
    )
    {%- endset -%}
    case
        when count({{ expression }}) {{ frame }} > 0
        then aggregate(
            collect_list(cast({{ expression }} as double)) {{ frame }},
            cast(1 as double),
            (accumulated, factor) -> accumulated * factor
        )
    end
{%- endmacro %}
