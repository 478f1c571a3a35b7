-- Every long/short comparison the marts follow: the pairs seed, and each sector ETF
-- against its benchmark (SPY by default). Sector ids carry a `sector_` prefix so an
-- analyst's pair can never collide with them.
with

pairs as (
    select * from {{ ref('pairs') }}
),

instruments as (
    select * from {{ ref('instruments') }}
),

pair_comparisons as (
    select
        pair_id,
        'pair' as comparison_kind,
        long_symbol,
        short_symbol
    from pairs
),

sector_comparisons as (
    select
        'sector_' || lower(symbol) || '_vs_' || lower(benchmark_symbol) as pair_id,
        'sector' as comparison_kind,
        symbol as long_symbol,
        benchmark_symbol as short_symbol
    from instruments
    where role = 'sector' and benchmark_symbol is not null
),

comparisons as (
    select * from pair_comparisons
    union all
    select * from sector_comparisons
)

select * from comparisons
