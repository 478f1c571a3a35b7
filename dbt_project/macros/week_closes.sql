{#- (symbol, week_ending, price): each symbol's price of `prices` (symbol, session_date,
    price) at the last session of every ISO week of `sessions`. A week whose last session
    has no price for the symbol (the week still running, or a hole in the data) has no
    row: weekly returns never use a mid-week price. -#}
{% macro week_closes(prices, sessions) -%}
    select prices.symbol, calendar.week_ending, prices.price
    from {{ prices }} as prices
    inner join {{ sessions }} as calendar
        on prices.session_date = calendar.session_date
        and calendar.session_date = calendar.week_ending
{%- endmacro %}
