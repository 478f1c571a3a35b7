-- Weekly performance of every stock of the instruments seed: compounded returns, returns
-- relative to its sector ETF and to the S&P 500, drawdowns from its highs, a cross-stock
-- ranking on the 13-week return, and the baskets it belongs to.
-- Incremental (see macros/incremental_stock_weeks.sql): every stock's weeks from the
-- earliest session loaded or restated since the last build for a stock, its sector ETF or
-- SPX, with 52 stored weeks read back.
{{
    config(
        materialized=history_materialization(),
        checked_column='week_ending',
        unique_key=['symbol', 'week_ending'],
        pre_hook=[
            "{{ create_incremental_state() }}",
            "{{ plan_stock_weeks(ref('instruments'), ref('baskets'), ref('stg_market__price_points')) }}",
        ],
        post_hook=[
            "{{ record_incremental_state(ref('stg_market__price_points')) }}",
            "{{ record_stock_dimensions(ref('instruments'), ref('baskets')) }}",
        ],
    )
}}
with

dimensions as (
    {{ stock_dimensions(ref('instruments'), ref('baskets')) }}
),

{% if is_incremental() %}
sector_symbols as (
    select distinct sector_symbol as symbol from dimensions where sector_symbol is not null
),

bounds as (
    select recompute_from from {{ stock_weeks_bounds_relation() }}
),

-- Each stock's stored weeks shortly before the recompute point, numbered back from it.
stored_back as (
    select
        symbol,
        week_ending,
        row_number() over (partition by symbol order by week_ending desc) as weeks_back
    from {{ this }}
    where week_ending < (select recompute_from from bounds)
    -- 52 weeks with room for holes in the data (a stock with fewer is read whole)
    and week_ending >= (select recompute_from from bounds) - interval 800 day
),

stored_before as (
    select symbol, max(price) as high_before
    from {{ this }}
    where week_ending < (select recompute_from from bounds)
    group by symbol
),

read_from as (
    select
        dimensions.symbol,
        case
            when count(stored_back.week_ending) >= 52
            then min(stored_back.week_ending)
            else date '0001-01-01'
        end as read_from
    from dimensions
    left join stored_back
        on stored_back.symbol = dimensions.symbol
        and stored_back.weeks_back <= 52
    group by dimensions.symbol
),

-- rank_13w ranks the stocks of a week: for the weeks read back, the stored ranks
stored_ranks as (
    select stored.symbol, stored.week_ending, stored.rank_13w
    from {{ this }} as stored
    inner join read_from
        on read_from.symbol = stored.symbol
        and stored.week_ending >= read_from.read_from
    where stored.week_ending >= (select min(read_from) from read_from)
),
{% endif %}

-- Each instrument's weekly closes, as int_prices_weekly has them, read from the views
-- over the raw tables: an incremental build never reads a table older than the prices
-- its watermark says it has read.
weekly as (
    select closes.symbol, closes.week_ending, closes.price
    from (
        {{ week_closes(ref('stg_market__price_points'), ref('stg_calendar__sessions')) }}
    ) as closes
    {% if is_incremental() %}
    left join read_from on read_from.symbol = closes.symbol
    -- the stocks from their read-back weeks on; their sector ETFs and SPX whole
    where (select recompute_from from bounds) < date '9999-12-31'
    and (
        closes.week_ending >= read_from.read_from
        or closes.symbol = 'SPX'
        or closes.symbol in (select symbol from sector_symbols)
    )
    {% endif %}
),

price_points as (
    select symbol, session_date, price from {{ ref('stg_market__price_points') }}
    {% if is_incremental() %}
    -- the previous calendar year's closes of the weeks recomputed
    where year(session_date) >= year((select recompute_from from bounds)) - 1
    {% endif %}
),

-- Compounding n weekly returns telescopes to the price ratio over the same rows: null
-- until n earlier weeks exist.
weekly_returns as (
    select
        symbol,
        week_ending,
        price,
        price / lag(price) over by_symbol - 1 as return_1w,
        price / lag(price, 4) over by_symbol - 1 as return_4w,
        price / lag(price, 13) over by_symbol - 1 as return_13w
    from weekly
    window by_symbol as (partition by symbol order by week_ending)
),

-- YTD starts from the stock's last priced session of the previous calendar year.
year_ends as (
    select
        symbol,
        year(session_date) as calendar_year,
        max_by(price, session_date) as year_end_price
    from price_points
    where symbol in (select symbol from dimensions)
    group by symbol, year(session_date)
),

stock_weeks as (
    select
        stock.symbol,
        stock.week_ending,
        dimensions.sector,
        dimensions.sector_symbol,
        stock.price,
        stock.return_1w,
        stock.return_4w,
        stock.return_13w,
        stock.price / year_ends.year_end_price - 1 as return_ytd,
        sector_leg.return_13w as sector_return_13w,
        spx.return_13w as spx_return_13w,
        stock.return_13w - sector_leg.return_13w as relative_to_sector_13w,
        stock.return_13w - spx.return_13w as relative_to_spx_13w,
        dimensions.basket_ids
        {%- if is_incremental() %},
        stored_before.high_before,
        stored_ranks.rank_13w as stored_rank_13w
        {%- endif %}
    from weekly_returns as stock
    inner join dimensions on dimensions.symbol = stock.symbol
    left join weekly_returns as sector_leg
        on sector_leg.symbol = dimensions.sector_symbol
        and sector_leg.week_ending = stock.week_ending
    left join weekly_returns as spx
        on spx.symbol = 'SPX'
        and spx.week_ending = stock.week_ending
    left join year_ends
        on year_ends.symbol = stock.symbol
        and year_ends.calendar_year = year(stock.week_ending) - 1
    {% if is_incremental() -%}
    left join stored_before on stored_before.symbol = stock.symbol
    left join stored_ranks
        on stored_ranks.symbol = stock.symbol
        and stored_ranks.week_ending = stock.week_ending
    {%- endif %}
),

{#- the highest close to date, and before the week; in an incremental build, also the
    highest close of the weeks before those read (greatest() skips a null) -#}
{%- set running_high -%}
    max(price) over (
        partition by symbol order by week_ending rows between unbounded preceding and current row
    )
{%- endset %}
{%- set earlier_high -%}
    max(price) over (
        partition by symbol order by week_ending rows between unbounded preceding and 1 preceding
    )
{%- endset %}
{%- if is_incremental() %}
{%- set running_high = 'greatest(' ~ running_high ~ ', high_before)' %}
{%- set earlier_high = 'greatest(' ~ earlier_high ~ ', high_before)' %}
{%- endif %}
highs as (
    select
        *,
        price / {{ running_high }} - 1 as drawdown_from_high,
        price / {{ rolling('max(price)', 'price', 52, 'symbol', 'week_ending') }} - 1
            as drawdown_from_52w_high,
        -- "Record" means above every earlier weekly close; the first week is not one.
        price > coalesce({{ earlier_high }}, cast('infinity' as double)) as is_record_close
    from stock_weeks
),

-- Ranks only among the stocks that have a 13-week return that week.
ranked as (
    select
        *,
        case
            {% if is_incremental() -%}
            -- the weeks read back are not all the stocks of their week: stored ranks
            when week_ending < (select recompute_from from bounds) then stored_rank_13w
            {% endif -%}
            when return_13w is not null
            then rank() over (
                partition by week_ending, return_13w is null
                order by return_13w desc
            )
        end as rank_13w
    from highs
),

rank_changes as (
    select
        *,
        lag(rank_13w, 4) over (partition by symbol order by week_ending) - rank_13w
            as rank_change_4w
    from ranked
),

final as (
    select
        cast(symbol as string) as symbol,
        cast(week_ending as date) as week_ending,
        cast(sector as string) as sector,
        cast(sector_symbol as string) as sector_symbol,
        cast(price as double) as price,
        cast(return_1w as double) as return_1w,
        cast(return_4w as double) as return_4w,
        cast(return_13w as double) as return_13w,
        cast(return_ytd as double) as return_ytd,
        cast(sector_return_13w as double) as sector_return_13w,
        cast(spx_return_13w as double) as spx_return_13w,
        cast(relative_to_sector_13w as double) as relative_to_sector_13w,
        cast(relative_to_spx_13w as double) as relative_to_spx_13w,
        cast(drawdown_from_high as double) as drawdown_from_high,
        cast(drawdown_from_52w_high as double) as drawdown_from_52w_high,
        cast(is_record_close as boolean) as is_record_close,
        cast(rank_13w as integer) as rank_13w,
        cast(rank_change_4w as integer) as rank_change_4w,
        cast(basket_ids as string) as basket_ids
    from rank_changes
    {% if is_incremental() -%}
    where week_ending >= (select recompute_from from bounds)
    {%- endif %}
)

select * from final
