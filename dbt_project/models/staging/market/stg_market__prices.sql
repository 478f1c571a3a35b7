-- One row per symbol and session with the price that returns use (adjusted close where
-- the provider gives one) and the return since the instrument's previous session. Only
-- symbols still in the instruments seed: removing one keeps its raw history but drops it
-- from everything downstream.
-- A table, not a view: three models and several tests read it, and a view would
-- re-run the window over every stored price for each of them.
{{ config(materialized='table') }}
with

source as (
    select * from {{ source('market', 'prices') }}
    where symbol in (select symbol from {{ ref('instruments') }})
),

priced as (
    select
        symbol,
        session_date,
        open,
        high,
        low,
        close,
        adj_close,
        coalesce(adj_close, close) as price,
        volume,
        source,
        ingested_at,
        load_id,
    from source
),

with_returns as (
    select
        *,
        lag(session_date) over by_symbol as previous_session_date,
        price / lag(price) over by_symbol - 1 as daily_return,
    from priced
    window by_symbol as (partition by symbol order by session_date)
)

select * from with_returns
