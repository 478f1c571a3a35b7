{#-
    When each basket's membership last changed. A pair built on a basket must be rebuilt
    whole when a member joins or leaves, and the incremental builds only see what changed
    through `ingested_at` (macros/incremental.sql): so every row of a basket's levels
    carries, besides its members' latest `ingested_at`, the time its membership last
    changed, and a change of members looks like a restatement of its whole history.

    On DuckDB the memberships are kept in meta.basket_compositions, updated before the
    levels build. Engines that rebuild every model whole (builds_incrementally() false)
    need no state and read no change time.
-#}

{% macro basket_compositions_relation() -%}
    meta.basket_compositions
{%- endmacro %}


{% macro record_basket_compositions() -%}
    {%- if builds_incrementally() %}
    create schema if not exists meta;
    create table if not exists {{ basket_compositions_relation() }} (
        basket_id string primary key,
        members string,
        changed_at timestamp
    );
    delete from {{ basket_compositions_relation() }}
    where basket_id not in (select basket_id from {{ ref('baskets') }});
    insert into {{ basket_compositions_relation() }} (basket_id, members, changed_at)
    select basket_id, string_agg(symbol, ',' order by symbol), {{ utc_now() }}
    from {{ ref('baskets') }}
    group by basket_id
    on conflict (basket_id) do update set
        members = excluded.members,
        changed_at = excluded.changed_at
    where basket_compositions.members <> excluded.members
    {%- endif -%}
{%- endmacro %}


{#- (basket_id, changed_at): the body of a CTE. -#}
{% macro basket_changes() -%}
    {%- if builds_incrementally() %}
    select basket_id, changed_at from {{ basket_compositions_relation() }}
    {%- else %}
    select distinct basket_id, cast(null as timestamp) as changed_at from {{ ref('baskets') }}
    {%- endif -%}
{%- endmacro %}
