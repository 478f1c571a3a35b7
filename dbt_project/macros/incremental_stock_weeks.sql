{#-
    Incremental builds of stock_performance_weekly, one row per stock and week.

    A week's row depends on earlier weeks only (returns, highs, the previous year's last
    price) and on the other stocks of the same week (rank_13w), so a price loaded or
    restated for any instrument on session d changes rows of weeks ending on or after d
    only. A build recomputes every stock's weeks from the earliest such session since its
    last build (`recompute_from`), reading back each stock's 52 stored weeks before it
    (the longest window: the 52-week high) and its stored rank_13w (for rank_change_4w);
    the highest close before those is carried. A change of the stocks, their sectors,
    sector ETFs or baskets (the dimensions below) rebuilds every row. Prices are read
    from the views over the raw tables, never from a table another model builds, so the
    watermark (the newest `ingested_at` of the price points) is what the rows read. A
    week still running has no row, so a nightly build on any other session than a week's
    last writes none.
-#}

{#- One row per stock of `instruments`: its sector, its sector's ETF (one per sector, so
    an edited seed with two ETFs for a sector cannot double a row) and its baskets. -#}
{% macro stock_dimensions(instruments, baskets) -%}
    with

    stocks as (
        select symbol, sector from {{ instruments }} where kind = 'stock'
    ),

    sector_etfs as (
        select sector, min(symbol) as sector_symbol
        from {{ instruments }}
        where role = 'sector' and sector is not null
        group by sector
    ),

    stock_baskets as (
        select
            stocks.symbol,
            coalesce({{ sorted_string_agg('baskets.basket_id', ',') }}, '') as basket_ids
        from stocks
        left join {{ baskets }} as baskets on baskets.symbol = stocks.symbol
        group by stocks.symbol
    )

    select stocks.symbol, stocks.sector, sector_etfs.sector_symbol, stock_baskets.basket_ids
    from stocks
    left join sector_etfs on sector_etfs.sector = stocks.sector
    left join stock_baskets on stock_baskets.symbol = stocks.symbol
{%- endmacro %}


{% macro stock_dimensions_relation() -%}
    meta.{{ this.identifier }}__dimensions
{%- endmacro %}


{% macro stock_weeks_bounds_relation() -%}
    meta.{{ this.identifier }}__rebuilt
{%- endmacro %}


{#- Pre-hook: the first week ending to recompute (9999-12-31: none), and the stored rows
    from it on deleted. -#}
{% macro plan_stock_weeks(instruments, baskets, points) -%}
    {%- if is_incremental() -%}
    create table if not exists {{ stock_dimensions_relation() }} (
        symbol string, sector string, sector_symbol string, basket_ids string
    );

    create or replace table {{ stock_weeks_bounds_relation() }} as
    with

    previous_build as ({{ previous_build() }}),

    changed_symbols as ({{ changed_symbols('previous_build', points) }}),

    current_dimensions as ({{ stock_dimensions(instruments, baskets) }}),

    -- what the rows read: the stocks, their sector ETFs and SPX
    read_symbols as (
        select symbol from current_dimensions
        union all
        select sector_symbol from current_dimensions
        union all
        select 'SPX'
    ),

    changed_dimensions as (
        (select * from current_dimensions except select * from {{ stock_dimensions_relation() }})
        union all
        (select * from {{ stock_dimensions_relation() }} except select * from current_dimensions)
    )

    select
        case
            when not exists (select 1 from previous_build)
                or exists (select 1 from changed_dimensions)
            then date '0001-01-01'
            else coalesce(
                (
                    select min(first_changed) from changed_symbols
                    where symbol in (select symbol from read_symbols)
                ),
                date '9999-12-31'
            )
        end as recompute_from;

    delete from {{ this }}
    where week_ending >= (select recompute_from from {{ stock_weeks_bounds_relation() }})
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- Post-hook: the dimensions this build used. -#}
{% macro record_stock_dimensions(instruments, baskets) -%}
    {%- if builds_incrementally() %}
    create or replace table {{ stock_dimensions_relation() }} as
    {{ stock_dimensions(instruments, baskets) }}
    {%- endif -%}
{%- endmacro %}
