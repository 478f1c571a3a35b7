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
        week_ending::date as week_ending,
        sector_count::bigint as sector_count,
        leading_count::bigint as leading_count,
        weakening_count::bigint as weakening_count,
        lagging_count::bigint as lagging_count,
        improving_count::bigint as improving_count,
        top_sector::string as top_sector,
        bottom_sector::string as bottom_sector,
        growth_relative_return_4w::double as growth_relative_return_4w,
        cyclical_relative_return_4w::double as cyclical_relative_return_4w,
        defensive_relative_return_4w::double as defensive_relative_return_4w,
        growth_minus_cyclical_4w::double as growth_minus_cyclical_4w,
        cyclical_minus_defensive_4w::double as cyclical_minus_defensive_4w
    from spreads
)

select * from final
