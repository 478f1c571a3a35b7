-- Every week with sector rows has exactly one sector_leadership_weekly row, and its four
-- quadrant counts sum to the number of sectors with a non-null quadrant that week in
-- sector_rotation_weekly (and its sector_count to the number of sector rows).
-- Threshold: zero rows.
-- It reads several models; Dagster shows it as a check of sector_leadership_weekly.
{{ config(meta={'dagster': {'ref': {'name': 'sector_leadership_weekly'}}}) }}
with

rotation as (
    select
        week_ending,
        count(*) as sector_rows,
        count(quadrant) as sectors_with_quadrant
    from {{ ref('sector_rotation_weekly') }}
    group by week_ending
),

leadership as (
    select
        week_ending,
        sector_count,
        leading_count + weakening_count + lagging_count + improving_count as quadrant_total
    from {{ ref('sector_leadership_weekly') }}
),

compared as (
    select
        coalesce(rotation.week_ending, leadership.week_ending) as week_ending,
        rotation.sectors_with_quadrant,
        leadership.quadrant_total,
        rotation.sector_rows,
        leadership.sector_count
    from rotation
    full outer join leadership on leadership.week_ending = rotation.week_ending
)

select *
from compared
where quadrant_total is distinct from sectors_with_quadrant
    or sector_count is distinct from sector_rows
