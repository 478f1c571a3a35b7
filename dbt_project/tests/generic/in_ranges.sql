{#- Fails on each row with a value outside its column's bounds; nulls pass. `ranges` maps a
    column to {min_value, max_value, inclusive (default true)}, either bound optional;
    each failing row is returned whole, `out_of_range` naming its columns. One query per
    model, as not_null_columns. -#}
{% test in_ranges(model, ranges) %}
{%- set conditions = [] -%}
{%- for column, bounds in ranges.items() -%}
    {%- set inclusive = bounds.get('inclusive', true) -%}
    {%- set tests = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do tests.append(column ~ (' < ' if inclusive else ' <= ') ~ bounds['min_value']) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do tests.append(column ~ (' > ' if inclusive else ' >= ') ~ bounds['max_value']) -%}
    {%- endif -%}
    {%- do conditions.append((column, '(' ~ tests | join(' or ') ~ ')')) -%}
{%- endfor %}
select
    *,
    concat_ws(', '
    {%- for column, condition in conditions %}, case when {{ condition }} then '{{ column }}' end{% endfor -%}
    ) as out_of_range
from {{ model }}
where {% for _column, condition in conditions %}{{ condition }}{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
