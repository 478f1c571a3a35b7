-- Expected EPS growth per universe, fiscal year and snapshot, as a fraction and in percent.
with

source as (
    select * from {{ source('estimates', 'earnings_estimates') }}
    where universe in (select universe from {{ ref('estimate_universes') }})
),

renamed as (
    select
        universe,
        fiscal_year,
        as_of_date,
        eps_growth_pct,
        eps_growth_pct / 100.0 as eps_growth,
        source,
        ingested_at,
        load_id
    from source
)

select * from renamed
