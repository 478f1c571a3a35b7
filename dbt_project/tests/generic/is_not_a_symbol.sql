{#- Fails on each value that is also an instrument's symbol, in any letter case: a basket
    id and a symbol would name two different legs. -#}
{% test is_not_a_symbol(model, column_name) %}
select distinct {{ column_name }} as colliding_id
from {{ model }}
where upper({{ column_name }}) in (select upper(symbol) from {{ ref('instruments') }})
{% endtest %}
