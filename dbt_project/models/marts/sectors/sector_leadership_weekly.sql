-- One row per week with at least one sector row: how many sectors sit in each rotation
-- quadrant, the best and worst sector by 13-week relative return, and the style spreads
-- of mean 4-week relative returns (growth vs cyclical, cyclical vs defensive).
with

rotation as (
    select * from {{ ref('sector_rotation_weekly') }}
),

with_bottom_rank as (
    select
        *,
        max(rank_13w) over (partition by week_ending) as bottom_rank
    from rotation
),

-- Ties for the top or bottom rank go to the alphabetically first sector_symbol.
weekly as (
    select
        week_ending,
        count(*) as sector_count,
        count(*) filter (where quadrant = 'leading') as leading_count,
        count(*) filter (where quadrant = 'weakening') as weakening_count,
        count(*) filter (where quadrant = 'lagging') as lagging_count,
        count(*) filter (where quadrant = 'improving') as improving_count,
        min(sector_symbol) filter (where rank_13w = 1) as top_sector,
        min(sector_symbol) filter (where rank_13w = bottom_rank) as bottom_sector,
        avg(relative_return_4w) filter (where style = 'growth') as growth_relative_return_4w,
        avg(relative_return_4w) filter (where style = 'cyclical') as cyclical_relative_return_4w,
        avg(relative_return_4w) filter (where style = 'defensive') as defensive_relative_return_4w
    from with_bottom_rank
    group by week_ending
),

spreads as (
    select
        *,
        growth_relative_return_4w - cyclical_relative_return_4w as growth_minus_cyclical_4w,
        cyclical_relative_return_4w - defensive_relative_return_4w as cyclical_minus_defensive_4w
    from weekly
),

final as (
    select
        cast(week_ending as date) as week_ending,
        cast(sector_count as bigint) as sector_count,
        cast(leading_count as bigint) as leading_count,
        cast(weakening_count as bigint) as weakening_count,
        cast(lagging_count as bigint) as lagging_count,
        cast(improving_count as bigint) as improving_count,
        cast(top_sector as string) as top_sector,
        cast(bottom_sector as string) as bottom_sector,
        cast(growth_relative_return_4w as double) as growth_relative_return_4w,
        cast(cyclical_relative_return_4w as double) as cyclical_relative_return_4w,
        cast(defensive_relative_return_4w as double) as defensive_relative_return_4w,
        cast(growth_minus_cyclical_4w as double) as growth_minus_cyclical_4w,
        cast(cyclical_minus_defensive_4w as double) as cyclical_minus_defensive_4w
    from spreads
)

select * from final
