{#- A left join of the row of `relation` (named `alias`) that holds on `day`: its latest
    row with `date_column` on or before `day`, among its rows whose `equal` columns match
    (`equal`: (expression of the left side, column of `relation`) pairs). `date_column` is
    unique among the rows that match. DuckDB has as-of joins, which find that row by
    sorting both sides once; other engines get a range join on the span each row holds,
    from its own date to the next row's (its `valid_until` column, macro valid_until).
    DuckDB plans that range join as a left piecewise merge join that compares each day
    with every earlier row: 2 s for each of the three joins of 9,816 FRED dates. -#}
{% macro left_join_as_of(relation, alias, day, date_column='observation_date', equal=[]) -%}
    {{ return(adapter.dispatch('left_join_as_of', 'market_divergence')(
        relation, alias, day, date_column, equal
    )) }}
{%- endmacro %}

{% macro duckdb__left_join_as_of(relation, alias, day, date_column, equal) -%}
    asof left join {{ relation }} as {{ alias }}
        on {% for left, right in equal %}{{ left }} = {{ alias }}.{{ right }} and {% endfor -%}
        {{ day }} >= {{ alias }}.{{ date_column }}
{%- endmacro %}

{% macro default__left_join_as_of(relation, alias, day, date_column, equal) -%}
    left join {{ relation }} as {{ alias }}
        on {% for left, right in equal %}{{ left }} = {{ alias }}.{{ right }} and {% endfor -%}
        {{ holds_on(day, alias, date_column) }}
{%- endmacro %}
