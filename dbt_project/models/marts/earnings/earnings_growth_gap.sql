-- Expected EPS growth of small caps (Russell 2000), large caps (S&P 500) and tech
-- (Nasdaq-100) side by side per snapshot and fiscal year, with the gaps between them.
with

estimates as (
    select * from {{ ref('stg_estimates__eps_growth') }}
),

pivoted as (
    select
        as_of_date,
        fiscal_year,
        max(eps_growth) filter (where universe = 'russell_2000') as small_cap_growth,
        max(eps_growth) filter (where universe = 'sp500') as large_cap_growth,
        max(eps_growth) filter (where universe = 'nasdaq_100') as tech_growth,
        count(*) filter (
            where universe in ('russell_2000', 'sp500', 'nasdaq_100')
        ) as universes_reported
    from estimates
    where eps_growth is not null
    group by all
),

final as (
    select
        cast(as_of_date as date) as as_of_date,
        cast(fiscal_year as integer) as fiscal_year,
        cast(small_cap_growth as double) as small_cap_growth,
        cast(large_cap_growth as double) as large_cap_growth,
        cast(tech_growth as double) as tech_growth,
        -- differences rounded to 10 decimals to drop the binary noise of percent / 100
        cast(round(small_cap_growth - large_cap_growth, 10) as double) as small_minus_large,
        cast(round(tech_growth - small_cap_growth, 10) as double) as tech_minus_small,
        cast(universes_reported as integer) as universes_reported
    from pivoted
    where universes_reported > 0
)

select * from final
