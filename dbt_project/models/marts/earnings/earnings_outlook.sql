-- Expected EPS growth per universe, fiscal year and snapshot, with the revision since the
-- same universe and fiscal year's previous snapshot (fractions; percent kept as published).
with

estimates as (
    select * from {{ ref('stg_estimates__eps_growth') }}
),

with_previous as (
    select
        as_of_date,
        universe,
        fiscal_year,
        eps_growth as eps_growth_estimate,
        eps_growth_pct as eps_growth_estimate_pct,
        lag(as_of_date) over snapshots as previous_as_of_date,
        lag(eps_growth) over snapshots as previous_estimate,
        source
    from estimates
    window snapshots as (partition by universe, fiscal_year order by as_of_date)
),

final as (
    select
        cast(as_of_date as date) as as_of_date,
        cast(universe as string) as universe,
        cast(fiscal_year as integer) as fiscal_year,
        cast(eps_growth_estimate as double) as eps_growth_estimate,
        cast(eps_growth_estimate_pct as double) as eps_growth_estimate_pct,
        cast(previous_as_of_date as date) as previous_as_of_date,
        cast(previous_estimate as double) as previous_estimate,
        -- rounded to 10 decimals: the fractions are percent / 100, so a plain difference
        -- carries binary noise (14.99 % - 15.81 % gives -0.008200000000000013)
        cast(round(eps_growth_estimate - previous_estimate, 10) as double) as revision,
        cast(source as string) as source
    from with_previous
)

select * from final
