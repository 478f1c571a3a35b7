-- Pair-aligned daily returns: a row only where both legs have a price, legs compounded
-- over the same rows, so a missing session of one leg is never forward-filled.
-- Incremental: see macros/incremental.sql (20 rows of lookback plus the MTD/YTD anchors).
{{
    config(
        materialized=history_materialization(),
        checked_column='session_date',
        unique_key=['pair_id', 'session_date'],
        pre_hook="{{ create_incremental_state() }}",
        post_hook=[
            "{{ delete_retired_pairs(ref('int_comparisons')) }}",
            "{{ record_marks('pair_id', 'session_date', ref('int_comparisons')) }}",
            "{{ record_incremental_state() }}",
        ],
    )
}}
with

comparisons as (
    select * from {{ ref('int_comparisons') }}
),
{% if is_incremental() %}
previous_build as ({{ previous_build() }}),

changed_symbols as ({{ changed_symbols('previous_build') }}),

stored_pairs as ({{ stored_pairs() }}),

recompute_points as (
    {{ recompute_points('comparisons', 'stored_pairs', 'changed_symbols', 'previous_build') }}
),

rows_back as ({{ rows_back('recompute_points', 20, calendar_anchors=true) }}),

recompute_bounds as ({{ recompute_bounds('recompute_points', 'rows_back', 20, calendar_anchors=true) }}),
{% endif %}

prices as (
    select symbol, session_date, price from {{ ref('int_leg_price_points') }}
    {% if is_incremental() %}
    -- a filter on the scan itself, before any join: the nightly reads one year, not all
    where session_date >= (select min(input_from) from recompute_bounds)
    {% endif %}
),

aligned as (
    select
        comparisons.pair_id,
        comparisons.comparison_kind,
        comparisons.long_symbol,
        comparisons.short_symbol,
        long_leg.session_date,
        long_leg.price as long_price,
        short_leg.price as short_price
    from comparisons
    inner join prices as long_leg on long_leg.symbol = comparisons.long_symbol
    inner join prices as short_leg
        on short_leg.symbol = comparisons.short_symbol
        and short_leg.session_date = long_leg.session_date
    {% if is_incremental() %}
    inner join recompute_bounds
        on recompute_bounds.pair_id = comparisons.pair_id
        and long_leg.session_date >= recompute_bounds.input_from
    {% endif %}
),

one_day as (
    select
        *,
        long_price / lag(long_price) over by_pair - 1 as long_return_1d,
        short_price / lag(short_price) over by_pair - 1 as short_return_1d,
        -- Compounding the 1-day returns over the last n rows telescopes to the price ratio
        -- over the same rows: one sort for every horizon, and null until n rows exist.
        long_price / lag(long_price, 5) over by_pair - 1 as long_return_5d,
        short_price / lag(short_price, 5) over by_pair - 1 as short_return_5d,
        long_price / lag(long_price, 20) over by_pair - 1 as long_return_20d,
        short_price / lag(short_price, 20) over by_pair - 1 as short_return_20d,
        cast(date_trunc('month', session_date) as date) as month_start,
        year(session_date) as calendar_year
    from aligned
    window by_pair as (partition by pair_id order by session_date)
),

-- MTD / YTD start from the pair's last row of the previous calendar month / year; null
-- when that month or year is not in the data.
month_anchors as (
    select
        pair_id,
        month_start,
        case
            when lag(month_start) over by_month = month_start - interval 1 month
            then lag(max_by(long_price, session_date)) over by_month
        end as long_month_anchor,
        case
            when lag(month_start) over by_month = month_start - interval 1 month
            then lag(max_by(short_price, session_date)) over by_month
        end as short_month_anchor
    from one_day
    group by pair_id, month_start
    window by_month as (partition by pair_id order by month_start)
),

year_anchors as (
    select
        pair_id,
        calendar_year,
        case
            when lag(calendar_year) over by_year = calendar_year - 1
            then lag(max_by(long_price, session_date)) over by_year
        end as long_year_anchor,
        case
            when lag(calendar_year) over by_year = calendar_year - 1
            then lag(max_by(short_price, session_date)) over by_year
        end as short_year_anchor
    from one_day
    group by pair_id, calendar_year
    window by_year as (partition by pair_id order by calendar_year)
),

compounded as (
    select
        one_day.pair_id,
        one_day.comparison_kind,
        one_day.long_symbol,
        one_day.short_symbol,
        one_day.session_date,
        one_day.long_price,
        one_day.short_price,
        one_day.long_return_1d,
        one_day.short_return_1d,
        one_day.long_return_1d - one_day.short_return_1d as spread_1d,
        one_day.long_return_5d,
        one_day.short_return_5d,
        one_day.long_return_20d,
        one_day.short_return_20d,
        one_day.long_price / month_anchors.long_month_anchor - 1 as long_return_mtd,
        one_day.short_price / month_anchors.short_month_anchor - 1 as short_return_mtd,
        one_day.long_price / year_anchors.long_year_anchor - 1 as long_return_ytd,
        one_day.short_price / year_anchors.short_year_anchor - 1 as short_return_ytd
    from one_day
    left join month_anchors using (pair_id, month_start)
    left join year_anchors using (pair_id, calendar_year)
),

spreads as (
    select
        *,
        long_return_5d - short_return_5d as spread_5d,
        long_return_20d - short_return_20d as spread_20d,
        long_return_mtd - short_return_mtd as spread_mtd,
        long_return_ytd - short_return_ytd as spread_ytd,
        {{ leader_of('spread_1d') }} as leader,
        long_price / short_price as rs_line
    from compounded
)

{{ recomputed_rows('spreads', 'recompute_bounds') }}
