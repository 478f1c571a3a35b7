-- When each stored price row was last inserted or changed: what incremental models read
-- to find the sessions they must recompute. No window functions, so a filter on
-- ingested_at reads only the recent loads.
with

source as (
    select symbol, session_date, ingested_at from {{ source('market', 'prices') }}
    where symbol in (select symbol from {{ ref('instruments') }})
)

select * from source
