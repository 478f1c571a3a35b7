-- Weekly performance of every stock of the instruments seed: compounded returns, returns
-- relative to its sector ETF and to the S&P 500, drawdowns from its highs, a cross-stock
-- ranking on the 13-week return, and the baskets it belongs to.
with

instruments as (
    select symbol, kind, role, sector from {{ ref('instruments') }}
),

baskets as (
    select basket_id, symbol from {{ ref('baskets') }}
),

weekly as (
    select symbol, week_ending, price from {{ ref('int_prices_weekly') }}
),

price_points as (
    select symbol, session_date, price from {{ ref('stg_market__price_points') }}
),

stocks as (
    select symbol, sector from instruments where kind = 'stock'
),

-- One ETF per sector, so an edited seed with two ETFs for a sector cannot double a row.
sector_etfs as (
    select sector, min(symbol) as sector_symbol
    from instruments
    where role = 'sector' and sector is not null
    group by sector
),

stock_baskets as (
    select
        stocks.symbol,
        coalesce({{ sorted_string_agg('baskets.basket_id', ',') }}, '') as basket_ids
    from stocks
    left join baskets on baskets.symbol = stocks.symbol
    group by stocks.symbol
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
    where symbol in (select symbol from stocks)
    group by symbol, year(session_date)
),

stock_weeks as (
    select
        stock.symbol,
        stock.week_ending,
        stocks.sector,
        sector_etfs.sector_symbol,
        stock.price,
        stock.return_1w,
        stock.return_4w,
        stock.return_13w,
        stock.price / year_ends.year_end_price - 1 as return_ytd,
        sector_leg.return_13w as sector_return_13w,
        spx.return_13w as spx_return_13w,
        stock.return_13w - sector_leg.return_13w as relative_to_sector_13w,
        stock.return_13w - spx.return_13w as relative_to_spx_13w,
        stock_baskets.basket_ids
    from weekly_returns as stock
    inner join stocks on stocks.symbol = stock.symbol
    left join sector_etfs on sector_etfs.sector = stocks.sector
    left join weekly_returns as sector_leg
        on sector_leg.symbol = sector_etfs.sector_symbol
        and sector_leg.week_ending = stock.week_ending
    left join weekly_returns as spx
        on spx.symbol = 'SPX'
        and spx.week_ending = stock.week_ending
    left join year_ends
        on year_ends.symbol = stock.symbol
        and year_ends.calendar_year = year(stock.week_ending) - 1
    left join stock_baskets on stock_baskets.symbol = stock.symbol
),

highs as (
    select
        *,
        price / max(price) over (
            partition by symbol order by week_ending rows between unbounded preceding and current row
        ) - 1 as drawdown_from_high,
        price / {{ rolling('max(price)', 'price', 52, 'symbol', 'week_ending') }} - 1
            as drawdown_from_52w_high,
        -- "Record" means above every earlier weekly close; the first week is not one.
        price > coalesce(
            max(price) over (
                partition by symbol order by week_ending
                rows between unbounded preceding and 1 preceding
            ),
            cast('infinity' as double)
        ) as is_record_close
    from stock_weeks
),

-- Ranks only among the stocks that have a 13-week return that week.
ranked as (
    select
        *,
        case
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
)

select * from final
