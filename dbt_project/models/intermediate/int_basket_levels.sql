-- Each basket of the baskets seed as an instrument: an equal-weight portfolio rebalanced
-- every session. It has a session only where every member has a price (nothing is
-- forward-filled), so it starts when its last member starts trading. Its return on a
-- session is the plain mean of its members' returns since the basket's previous session;
-- its level is 100 on its first session and compounds those returns.
-- A table rebuilt whole each time (members x sessions is small); `ingested_at` tells the
-- incremental pair models what changed (macros/baskets.sql).
{{
    config(
        materialized='table',
        pre_hook="{{ record_basket_compositions() }}",
    )
}}
with

members as (
    select basket_id, symbol from {{ ref('baskets') }}
),

member_counts as (
    select basket_id, count(*) as member_count
    from members
    group by basket_id
),

member_points as (
    select
        members.basket_id,
        points.symbol,
        points.session_date,
        points.price,
        points.ingested_at
    from members
    inner join {{ ref('stg_market__price_points') }} as points
        on points.symbol = members.symbol
),

complete_sessions as (
    select
        member_points.basket_id,
        member_points.session_date,
        max(member_points.ingested_at) as members_ingested_at
    from member_points
    inner join member_counts using (basket_id)
    group by member_points.basket_id, member_points.session_date
    having count(*) = max(member_counts.member_count)
),

member_returns as (
    select
        member_points.basket_id,
        member_points.session_date,
        member_points.price / lag(member_points.price) over (
            partition by member_points.basket_id, member_points.symbol
            order by member_points.session_date
        ) - 1 as member_return
    from member_points
    inner join complete_sessions using (basket_id, session_date)
),

basket_returns as (
    select
        basket_id,
        session_date,
        {{ ordered_mean('member_return') }} as daily_return
    from member_returns
    group by basket_id, session_date
),

levels as (
    select
        basket_returns.basket_id,
        basket_returns.session_date,
        basket_returns.daily_return,
        100 * coalesce(
            {{ running_product('1 + basket_returns.daily_return', 'basket_returns.basket_id', 'basket_returns.session_date') }},
            1
        ) as level
    from basket_returns
),

changes as ({{ basket_changes() }}),

stamped as (
    select
        levels.basket_id,
        levels.session_date,
        levels.level,
        levels.daily_return,
        member_counts.member_count,
        case
            when changes.changed_at > complete_sessions.members_ingested_at
            then changes.changed_at
            else complete_sessions.members_ingested_at
        end as ingested_at
    from levels
    inner join complete_sessions using (basket_id, session_date)
    inner join member_counts using (basket_id)
    left join changes using (basket_id)
)

select * from stamped
