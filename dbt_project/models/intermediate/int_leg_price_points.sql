-- The price of every possible pair leg per session: each instrument's price (adjusted
-- close where given) and each basket's level, with when it last changed. The pair models
-- read their legs, and what changed since their last build, from here.
{{ config(materialized='view') }}
with

instrument_points as (
    select symbol, session_date, price, ingested_at
    from {{ ref('stg_market__price_points') }}
),

basket_points as (
    select basket_id as symbol, session_date, level as price, ingested_at
    from {{ ref('int_basket_levels') }}
),

leg_points as (
    select * from instrument_points
    union all
    select * from basket_points
)

select * from leg_points
