{#-
    Trailing-window helpers. Windows count periods (rows of the partition), and every
    rolling value is null until its window holds `periods` non-null inputs.
-#}

{% macro trailing_rows(partition_by, order_by, periods) -%}
    (partition by {{ partition_by }} order by {{ order_by }}
     rows between {{ periods - 1 }} preceding and current row)
{%- endmacro %}


{#- An aggregate such as avg(x), stddev_samp(x) or corr(x, y) over the trailing rows;
    `counted` is the expression whose non-null count must reach `periods`. -#}
{% macro rolling(aggregate, counted, periods, partition_by, order_by) -%}
    case
        when count({{ counted }}) over {{ trailing_rows(partition_by, order_by, periods) }} = {{ periods }}
        then {{ aggregate }} over {{ trailing_rows(partition_by, order_by, periods) }}
    end
{%- endmacro %}


{#- 'long', 'short' or 'tie' by the sign of a spread; null when the spread is null. -#}
{% macro leader_of(spread) -%}
    case
        when {{ spread }} > 0 then 'long'
        when {{ spread }} < 0 then 'short'
        when {{ spread }} = 0 then 'tie'
    end
{%- endmacro %}
