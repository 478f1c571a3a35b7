-- Recomputes the trailing spreads of divergence_daily from prices alone: compounding n
-- daily returns telescopes to p_t / p_(t-n) - 1 over the pair's rows, a formula the model
-- does not use. Also pins every window's length by where its first value appears: row 6
-- for spread_5d, 21 for spread_20d, 50 for rs_line_sma_50, 61 for correlation_60d (the
-- first row has no return) and 20 + 252 = 272 for spread_20d_zscore.
-- After an incremental build only the rows it wrote (or left pending) are checked
-- (macros/checked_rows.sql), against rows read back 400 days: spreads where 20 earlier
-- rows were read, and every window filled where its length of rows was read. Where each
-- window starts is checked when the whole history is.
-- Threshold: zero rows.
{%- set since = checked_from('divergence_daily') %}
with

checked_input as (
    select * from {{ ref('divergence_daily') }}
    {% if since == 'none' -%}
    where false
    {%- elif since != 'all' -%}
    where session_date >= {{ since }} - interval 400 day
    {%- endif %}
),

numbered as (
    select
        *,
        row_number() over by_pair as row_in_pair,
        (long_price / lag(long_price, 5) over by_pair)
            - (short_price / lag(short_price, 5) over by_pair) as ratio_spread_5d,
        (long_price / lag(long_price, 20) over by_pair)
            - (short_price / lag(short_price, 20) over by_pair) as ratio_spread_20d
    from checked_input
    window by_pair as (partition by pair_id order by session_date)
),

spread_mismatches as (
    select pair_id, session_date, 'spread differs from price ratios' as problem
    from numbered
    where (
        abs(coalesce(spread_5d, 99) - coalesce(ratio_spread_5d, 99)) > 1e-9
        or abs(coalesce(spread_20d, 99) - coalesce(ratio_spread_20d, 99)) > 1e-9
    )
    {% if since not in ('all', 'none') -%}
    and session_date >= {{ since }} and row_in_pair > 20
    {%- endif %}
),

first_values as (
    select
        pair_id,
        count(*) as pair_rows,
        min(row_in_pair) filter (where spread_5d is not null) as first_spread_5d,
        min(row_in_pair) filter (where spread_20d is not null) as first_spread_20d,
        min(row_in_pair) filter (where rs_line_sma_50 is not null) as first_sma_50,
        min(row_in_pair) filter (where correlation_60d is not null) as first_correlation_60d,
        min(row_in_pair) filter (where spread_20d_zscore is not null) as first_zscore
    from numbered
    group by pair_id
),

window_mismatches as (
    select pair_id, cast(null as date) as session_date, 'a window has the wrong length' as problem
    from first_values
    where first_spread_5d is distinct from (case when pair_rows >= 6 then 6 end)
        or first_spread_20d is distinct from (case when pair_rows >= 21 then 21 end)
        or first_sma_50 is distinct from (case when pair_rows >= 50 then 50 end)
        or first_correlation_60d is distinct from (case when pair_rows >= 61 then 61 end)
        or first_zscore is distinct from (case when pair_rows >= 272 then 272 end)
),

-- a window whose length of rows exists (was read) must have a value
unfilled_windows as (
    select pair_id, session_date, 'a window is empty though its rows exist' as problem
    from numbered
    where (
        (row_in_pair >= 50 and rs_line_sma_50 is null)
        or (row_in_pair >= 61 and correlation_60d is null)
        or (row_in_pair >= 272 and spread_20d_zscore is null)
    )
    {% if since not in ('all', 'none') -%}
    and session_date >= {{ since }}
    {%- endif %}
)

select * from spread_mismatches
union all
select * from unfilled_windows
{% if since == 'all' -%}
union all
select * from window_mismatches
{%- endif %}
