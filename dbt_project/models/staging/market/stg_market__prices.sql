-- One row per symbol and session with the price that returns use (adjusted close where
-- the provider gives one) and the return since the instrument's previous session. Only
-- symbols still in the instruments seed: removing one keeps its raw history but drops it
-- from everything downstream.
-- A table, not a view (several models and tests read it), and incremental: a build
-- recomputes each symbol from its first session loaded or restated since the last build
-- (see macros/incremental.sql), reading back the one stored session its return needs.
{{
    config(
        materialized=history_materialization(),
        checked_column='session_date',
        unique_key=['symbol', 'session_date'],
        pre_hook="{{ create_incremental_state() }}",
        post_hook=[
            "{{ delete_rows_not_in('symbol', ref('instruments')) }}",
            "{{ record_marks('symbol', 'session_date', ref('instruments'), legs=false) }}",
            "{{ record_incremental_state(ref('stg_market__price_points')) }}",
        ],
    )
}}
-- depends_on: {{ ref('stg_market__price_points') }}
with

{% if is_incremental() %}
previous_build as ({{ previous_build() }}),

-- From the raw table, not the staging view: the view's filter on the instruments is the
-- one `source` below has, and DuckDB would share that subplan and materialise every raw
-- row before the filter on `ingested_at` (2 s at 20 M rows). Symbols outside the
-- instruments are left out by recompute_points.
changed_symbols as ({{ changed_symbols('previous_build', source('market', 'prices')) }}),

stored_symbols as ({{ stored_symbols() }}),

recompute_points as (
    select
        instruments.symbol,
        case
            when stored_symbols.symbol is null or not exists (select 1 from previous_build)
            then date '0001-01-01'
            else least(
                stored_symbols.last_stored + 1,
                coalesce(changed_symbols.first_changed, date '9999-12-31')
            )
        end as recompute_from,
        stored_symbols.last_stored
    from {{ ref('instruments') }} as instruments
    left join stored_symbols using (symbol)
    left join changed_symbols using (symbol)
),

recompute_bounds as (
    select
        recompute_points.symbol,
        recompute_points.recompute_from,
        coalesce(max(stored.session_date), date '0001-01-01') as input_from
    from recompute_points
    left join {{ this }} as stored
        on stored.symbol = recompute_points.symbol
        and stored.session_date < recompute_points.recompute_from
        -- a bound on the scan itself, before the join
        and stored.session_date >= {{ carried_rows_from('recompute_points') }}
    group by recompute_points.symbol, recompute_points.recompute_from
),
{% endif %}

source as (
    select prices.*
    from {{ source('market', 'prices') }} as prices
    {% if is_incremental() %}
    inner join recompute_bounds
        on recompute_bounds.symbol = prices.symbol
        and prices.session_date >= recompute_bounds.input_from
    {% endif %}
    where prices.symbol in (select symbol from {{ ref('instruments') }})
    {% if is_incremental() %}
    -- a filter on the scan itself, before the join
    and prices.session_date >= (select min(input_from) from recompute_bounds)
    {% endif %}
),

priced as (
    select
        symbol,
        session_date,
        open,
        high,
        low,
        close,
        adj_close,
        coalesce(adj_close, close) as price,
        volume,
        source,
        ingested_at,
        load_id
    from source
),

with_returns as (
    select
        *,
        lag(session_date) over by_symbol as previous_session_date,
        price / lag(price) over by_symbol - 1 as daily_return
    from priced
    window by_symbol as (partition by symbol order by session_date)
)

{{ recomputed_rows('with_returns', 'recompute_bounds', key='symbol') }}
