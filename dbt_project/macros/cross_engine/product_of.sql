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
    its first row to the current one (nulls skipped; null while there is no value yet).
    Both engines fold the frame's values left to right from 1, so they multiply in the
    same order and give the same bits: a windowed product() would combine partial
    products in an order of its own, and a basket's level compounds thousands of them. -#}
{% macro running_product(expression, partition_by, order_by) -%}
    {{ return(adapter.dispatch('running_product', 'market_divergence')(expression, partition_by, order_by)) }}
{%- endmacro %}

{% macro _running_frame(partition_by, order_by) -%}
    over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}

{% macro duckdb__running_product(expression, partition_by, order_by) -%}
    {%- set frame = _running_frame(partition_by, order_by) -%}
    case
        when count({{ expression }}) {{ frame }} > 0
        then list_reduce(
            list_filter(list(cast({{ expression }} as double)) {{ frame }}, lambda factor: factor is not null),
            lambda accumulated, factor: accumulated * factor,
            cast(1 as double)
        )
    end
{%- endmacro %}

{% macro spark__running_product(expression, partition_by, order_by) -%}
    {%- set frame = _running_frame(partition_by, order_by) -%}
    case
        when count({{ expression }}) {{ frame }} > 0
        then aggregate(
            collect_list(cast({{ expression }} as double)) {{ frame }},
            cast(1 as double),
            (accumulated, factor) -> accumulated * factor
        )
    end
{%- endmacro %}


{#- The mean of the non-null values of `expression` in the group, summed in ascending
    order of value from 0 on both engines, so that the same values give the same bits
    whatever order the rows arrive in (avg() adds them as they come). -#}
{% macro ordered_mean(expression) -%}
    {{ return(adapter.dispatch('ordered_mean', 'market_divergence')(expression)) }}
{%- endmacro %}

{% macro duckdb__ordered_mean(expression) -%}
    case
        when count({{ expression }}) > 0
        then list_reduce(
            list_sort(list_filter(list(cast({{ expression }} as double)), lambda value: value is not null)),
            lambda total, value: total + value,
            cast(0 as double)
        ) / count({{ expression }})
    end
{%- endmacro %}

{% macro spark__ordered_mean(expression) -%}
    case
        when count({{ expression }}) > 0
        then aggregate(
            array_sort(collect_list(cast({{ expression }} as double))),
            cast(0 as double),
            (total, value) -> total + value
        ) / count({{ expression }})
    end
{%- endmacro %}
