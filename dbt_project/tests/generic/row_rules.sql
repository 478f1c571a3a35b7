{#- Every row-level rule of a model in one query: each failing row is returned whole, with
    `failed_rules` naming every rule it breaks. A dbt test is a node for dbt and an asset
    check for Dagster, each with its own fixed cost (bench/hotspots.md), so a model has one
    of these rather than a test per column and rule.

    not_null:        columns that must have a value ('<column> is null')
    ranges:          column -> {min_value, max_value, inclusive (default true)}, either
                     bound optional; nulls pass ('<column> out of range')
    accepted_values: column -> the values it may take, compared as quoted literals as
                     dbt's accepted_values does; nulls pass ('<column> not accepted')
    rules:           name -> a boolean SQL expression that must be true, or
                     {expression, where, description}: checked only on rows where `where`
                     holds; false or null fails ('<name>') -#}
{% test row_rules(model, not_null=[], ranges={}, accepted_values={}, rules={}) %}
{%- set failures = [] -%}
{%- for column in not_null -%}
    {%- do failures.append((column ~ ' is null', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column, bounds in ranges.items() -%}
    {%- if bounds.get('min_value') is none and bounds.get('max_value') is none -%}
        {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": the range of " ~ column ~ " has no bound") }}
    {%- endif -%}
    {%- set inclusive = bounds.get('inclusive', true) -%}
    {%- set outside = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do outside.append(column ~ (' < ' if inclusive else ' <= ') ~ bounds['min_value']) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do outside.append(column ~ (' > ' if inclusive else ' >= ') ~ bounds['max_value']) -%}
    {%- endif -%}
    {%- do failures.append((column ~ ' out of range', '(' ~ outside | join(' or ') ~ ')')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- if value is none or "'" in value | string or "\\" in value | string -%}
            {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": accepted value " ~ value ~ " of " ~ column ~ " is null or has a quote or backslash, which DuckDB and Spark read differently") }}
        {%- endif -%}
        {%- do literals.append("'" ~ value ~ "'") -%}
    {%- endfor -%}
    {%- do failures.append((column ~ ' not accepted', '(' ~ column ~ ' not in (' ~ literals | join(', ') ~ '))')) -%}
{%- endfor -%}
{%- for name, rule in rules.items() -%}
    {%- set rule = rule if rule is mapping else {'expression': rule} -%}
    {%- set broken = 'not coalesce((' ~ rule['expression'] ~ '), false)' -%}
    {%- if rule.get('where') -%}
        {%- set broken = '((' ~ rule['where'] ~ ') and ' ~ broken ~ ')' -%}
    {%- endif -%}
    {%- do failures.append((name, broken)) -%}
{%- endfor -%}
{%- if not failures -%}
    {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": no rule given") }}
{%- endif %}
select
    *,
    concat_ws(', '
    {%- for label, condition in failures %}, case when {{ condition }} then '{{ label }}' end{% endfor -%}
    ) as failed_rules
from {{ model }}
where {% for _label, condition in failures %}{{ condition }}{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
