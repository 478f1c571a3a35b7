-- Weekly relative rotation of each sector ETF against its benchmark (SPY by default):
-- relative returns from the pair-aligned weekly rows of int_pair_returns_weekly, the
-- RRG-style rs_ratio / rs_momentum and their quadrant, and the 13-week ranking.
-- Their windows are the vars rrg_ratio_weeks and rrg_momentum_weeks (dbt_project.yml).
{%- set ratio_weeks = rrg_weeks('rrg_ratio_weeks') %}
{%- set momentum_weeks = rrg_weeks('rrg_momentum_weeks') %}
with

returns as (
    select * from {{ ref('int_pair_returns_weekly') }} where comparison_kind = 'sector'
),

instruments as (
    select symbol, sector, style from {{ ref('instruments') }}
),

sector_weeks as (
    select
        returns.long_symbol as sector_symbol,
        returns.week_ending,
        returns.short_symbol as benchmark_symbol,
        instruments.sector,
        instruments.style,
        returns.long_price as sector_price,
        returns.short_price as benchmark_price,
        returns.long_return_1w as sector_return_1w,
        returns.short_return_1w as benchmark_return_1w,
        returns.spread_1w as relative_return_1w,
        returns.long_return_4w as sector_return_4w,
        returns.short_return_4w as benchmark_return_4w,
        returns.spread_4w as relative_return_4w,
        returns.long_return_13w as sector_return_13w,
        returns.short_return_13w as benchmark_return_13w,
        returns.spread_13w as relative_return_13w,
        returns.rs_line
    from returns
    left join instruments on instruments.symbol = returns.long_symbol
),

-- rs_ratio: rs_line against its own mean over the last rrg_ratio_weeks weeks (current
-- one included).
with_ratio as (
    select
        *,
        100 * rs_line
            / {{ rolling('avg(rs_line)', 'rs_line', ratio_weeks, 'sector_symbol', 'week_ending') }}
            as rs_ratio
    from sector_weeks
),

-- rs_momentum: rs_ratio against its own mean over the last rrg_momentum_weeks weeks.
with_momentum as (
    select
        *,
        100 * rs_ratio
            / {{ rolling('avg(rs_ratio)', 'rs_ratio', momentum_weeks, 'sector_symbol', 'week_ending') }}
            as rs_momentum
    from with_ratio
),

classified as (
    select
        *,
        case
            when rs_ratio is null or rs_momentum is null then null
            when rs_ratio >= 100 and rs_momentum >= 100 then 'leading'
            when rs_ratio >= 100 then 'weakening'
            when rs_momentum < 100 then 'lagging'
            else 'improving'
        end as quadrant
    from with_momentum
),

-- Ranks only among the sectors that have a 13-week relative return that week.
ranked as (
    select
        *,
        lag(quadrant) over by_sector as previous_quadrant,
        case
            when relative_return_13w is not null
            then rank() over (
                partition by week_ending, relative_return_13w is null
                order by relative_return_13w desc
            )
        end as rank_13w
    from classified
    window by_sector as (partition by sector_symbol order by week_ending)
),

rank_changes as (
    select
        *,
        lag(rank_13w, 4) over (partition by sector_symbol order by week_ending) - rank_13w
            as rank_change_4w
    from ranked
),

final as (
    select
        cast(sector_symbol as string) as sector_symbol,
        cast(week_ending as date) as week_ending,
        cast(benchmark_symbol as string) as benchmark_symbol,
        cast(sector as string) as sector,
        cast(style as string) as style,
        cast(sector_price as double) as sector_price,
        cast(benchmark_price as double) as benchmark_price,
        cast(sector_return_1w as double) as sector_return_1w,
        cast(benchmark_return_1w as double) as benchmark_return_1w,
        cast(relative_return_1w as double) as relative_return_1w,
        cast(sector_return_4w as double) as sector_return_4w,
        cast(benchmark_return_4w as double) as benchmark_return_4w,
        cast(relative_return_4w as double) as relative_return_4w,
        cast(sector_return_13w as double) as sector_return_13w,
        cast(benchmark_return_13w as double) as benchmark_return_13w,
        cast(relative_return_13w as double) as relative_return_13w,
        cast(rs_line as double) as rs_line,
        cast(rs_ratio as double) as rs_ratio,
        cast(rs_momentum as double) as rs_momentum,
        cast(quadrant as string) as quadrant,
        cast(previous_quadrant as string) as previous_quadrant,
        cast(rank_13w as integer) as rank_13w,
        cast(rank_change_4w as integer) as rank_change_4w
    from rank_changes
)

select * from final
