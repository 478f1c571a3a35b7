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


{#- As-of joins as range joins: a row stays the latest of its partition from its own
    `date_column` until the next row's (exclusive); 9999-12-31 for the last row. Joining
    `on d >= date_column and d < valid_until` finds the latest row on or before d, as
    DuckDB's asof join does, when `date_column` is unique in the partition. -#}
{% macro valid_until(date_column, partition_by=none) -%}
    coalesce(
        lead({{ date_column }}) over (
            {% if partition_by %}partition by {{ partition_by }} {% endif %}order by {{ date_column }}
        ),
        date '9999-12-31'
    )
{%- endmacro %}


{#- The join condition of such an as-of join: `relation`'s row that holds on `day`. -#}
{% macro holds_on(day, relation, date_column='observation_date') -%}
    {{ day }} >= {{ relation }}.{{ date_column }} and {{ day }} < {{ relation }}.valid_until
{%- endmacro %}


{#- A window length in weeks from the dbt var `name`: a whole number of at least 1. -#}
{% macro rrg_weeks(name) -%}
    {%- set value = var(name) -%}
    {%- if value is not number or value is sameas true or value is sameas false
        or value != value | int or value < 1 -%}
        {{ exceptions.raise_compiler_error(
            name ~ " must be a whole number of weeks, at least 1, got " ~ value
        ) }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}
