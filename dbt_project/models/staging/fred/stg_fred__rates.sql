-- Rate observations in percent, one row per series and date, for the series still in
-- the rate_series seed, with each series' publication frequency.
with

source as (
    select * from {{ source('fred', 'rates') }}
),

series as (
    select series_id, frequency from {{ ref('rate_series') }}
),

renamed as (
    select
        source.series_id,
        source.observation_date,
        source.value as rate_pct,
        series.frequency,
        source.source,
        source.ingested_at,
        source.load_id
    from source
    inner join series using (series_id)
)

select * from renamed
