-- The price each return uses (adjusted close where the provider gives one, else close)
-- and when its raw row was last inserted or changed. No window functions, so incremental
-- models can read just the recent sessions, or just the recent loads, of it.
with

source as (
    select symbol, session_date, close, adj_close, ingested_at
    from {{ source('market', 'prices') }}
    where symbol in (select symbol from {{ ref('instruments') }})
),

priced as (
    select
        symbol,
        session_date,
        coalesce(adj_close, close) as price,
        ingested_at
    from source
)

select * from priced
