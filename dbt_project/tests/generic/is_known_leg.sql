{#- Fails on each value that is neither an instrument's symbol nor a basket's id. -#}
{% test is_known_leg(model, column_name) %}
select {{ column_name }} as unknown_leg
from {{ model }}
where {{ column_name }} is not null
and {{ column_name }} not in (select symbol from {{ ref('instruments') }})
and {{ column_name }} not in (select basket_id from {{ ref('baskets') }})
{% endtest %}
