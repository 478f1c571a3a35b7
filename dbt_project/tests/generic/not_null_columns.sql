{#- Fails on each row where one of `columns` is null, returned whole with `null_columns`
    naming which. One query for all of a model's required columns: a test per column would
    cost a dbt node and a Dagster check each (bench/hotspots.md). -#}
{% test not_null_columns(model, columns) %}
select
    *,
    concat_ws(', '
    {%- for column in columns %}, case when {{ column }} is null then '{{ column }}' end{% endfor -%}
    ) as null_columns
from {{ model }}
where {% for column in columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
