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
                     holds; false or null fails ('<name>')
    unique:          keys, each a column or a list of columns, that no two rows share
                     ('duplicate <columns>'); every key column must be in not_null, as
                     keys are matched with =
    references:      column -> {to: ref(...), field}: the column's value must be one of
                     field's values in `to`, as dbt's relationships test requires; nulls
                     pass ('<column> not in <to>.<field>') -#}
{% test row_rules(model, not_null=[], ranges={}, accepted_values={}, rules={}, unique=[], references={}) %}
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
{%- set keys = [] -%}
{%- for key in unique -%}
    {%- set columns = [key] if key is string else key -%}
    {%- for column in columns if column not in not_null -%}
        {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": key column " ~ column ~ " is not in not_null") }}
    {%- endfor -%}
    {%- do keys.append(columns) -%}
    {%- do failures.append(('duplicate ' ~ columns | join(', '), 'duplicate_' ~ loop.index ~ '.row_rules_rows is not null')) -%}
{%- endfor -%}
{%- for column, reference in references.items() -%}
    {%- do failures.append((
        column ~ ' not in ' ~ reference['to'].identifier ~ '.' ~ reference['field'],
        '(' ~ column ~ ' is not null and reference_' ~ loop.index ~ '.row_rules_value is null)',
    )) -%}
{%- endfor -%}
{%- if not failures -%}
    {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": no rule given") }}
{%- endif %}
with

checked as (
    select * from {{ model }}
)
{%- for columns in keys %},

duplicate_keys_{{ loop.index }} as (
    select
        {%- for column in columns %}
        {{ column }} as row_rules_key_{{ loop.index }},
        {%- endfor %}
        count(*) as row_rules_rows
    from checked
    group by {{ columns | join(', ') }}
    having count(*) > 1
)
{%- endfor %}
{%- for column, reference in references.items() %},

referenced_{{ loop.index }} as (
    select distinct {{ reference['field'] }} as row_rules_value from {{ reference['to'] }}
)
{%- endfor %}

select
    checked.*,
    concat_ws(', '
    {%- for label, condition in failures %}, case when {{ condition }} then '{{ label }}' end{% endfor -%}
    ) as failed_rules
from checked
{%- for columns in keys %}
{%- set key = loop.index %}
left join duplicate_keys_{{ key }} as duplicate_{{ key }}
    on {% for column in columns %}duplicate_{{ key }}.row_rules_key_{{ loop.index }} = checked.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
{%- endfor %}
{%- for column, reference in references.items() %}
left join referenced_{{ loop.index }} as reference_{{ loop.index }}
    on reference_{{ loop.index }}.row_rules_value = checked.{{ column }}
{%- endfor %}
where {% for _label, condition in failures %}{{ condition }}{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
