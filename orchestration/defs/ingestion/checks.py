"""Blocking checks on raw data: marts are not rebuilt on top of input that would make them
wrong. The provider boundary already rejects such rows; these checks guard the table
itself (a manual edit, a restored backup, a loader bug)."""

from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, asset_check
from dagster_duckdb import DuckDBResource

from ingestion.universe import load_universe
from orchestration.shared import WAREHOUSE_POOL

# What counts as an extreme daily move depends on what moves: an index's worst day on
# record is the -20.5 % of 19 October 1987, a leveraged-free ETF follows its index or
# sector, and a single stock can halve on a profit warning. A symbol the universe no
# longer lists is held to the ETF limit.
EXTREME_DAILY_MOVE = {"index": 0.20, "etf": 0.25, "stock": 0.50}
DEFAULT_EXTREME_DAILY_MOVE = EXTREME_DAILY_MOVE["etf"]


@asset_check(
    asset=AssetKey(["raw", "prices"]),
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="No stored price breaks high >= max(open, close) >= min(open, close) >= low > 0.",
)
def prices_are_ohlc_consistent(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as con:
        bad = con.execute(
            """
            select symbol, session_date
            from raw.prices
            where close <= 0
                or low <= 0
                or high < greatest(open, close)
                or least(open, close) < low
            order by symbol, session_date
            """
        ).fetchall()
    examples = ", ".join(f"{symbol} {day}" for symbol, day in bad[:10])
    return AssetCheckResult(
        passed=not bad,
        severity=AssetCheckSeverity.ERROR,
        description=f"{len(bad)} inconsistent row(s): {examples}" if bad else "all rows consistent",
        metadata={"inconsistent_rows": len(bad)},
    )


@asset_check(
    asset=AssetKey(["raw", "prices"]),
    pool=WAREHOUSE_POOL,
    description="Every symbol has a price on each XNYS session between its first and last.",
)
def prices_have_no_missing_sessions(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as con:
        gaps = con.execute(
            """
            with spans as (
                select symbol, min(session_date) as first_day, max(session_date) as last_day
                from raw.prices group by symbol
            ),
            expected as (
                select spans.symbol, sessions.session_date
                from spans
                inner join raw.sessions as sessions
                    on sessions.session_date between spans.first_day and spans.last_day
            )
            select expected.symbol, count(*) as missing, min(expected.session_date) as first_gap
            from expected
            anti join raw.prices as prices
                on prices.symbol = expected.symbol
                and prices.session_date = expected.session_date
            group by expected.symbol
            order by expected.symbol
            """
        ).fetchall()
    described = "; ".join(f"{s}: {n} missing from {d}" for s, n, d in gaps)
    return AssetCheckResult(
        passed=not gaps,
        severity=AssetCheckSeverity.WARN,
        description=described or "no session missing",
        metadata={"symbols_with_gaps": [s for s, _n, _d in gaps]},
    )


@asset_check(
    asset=AssetKey(["raw", "prices"]),
    pool=WAREHOUSE_POOL,
    description=(
        "Flags daily moves beyond the instrument kind's limit: +/-20 % for an index, 25 % for "
        "an ETF, 50 % for a stock (a warning: they can be real, or a bad print)."
    ),
)
def prices_have_no_extreme_moves(warehouse: DuckDBResource) -> AssetCheckResult:
    kinds = {instrument.symbol: instrument.kind for instrument in load_universe().instruments}
    with warehouse.get_connection() as con:
        candidates = con.execute(
            """
            select symbol, session_date, move
            from (
                select
                    symbol,
                    session_date,
                    coalesce(adj_close, close)
                        / lag(coalesce(adj_close, close)) over (
                            partition by symbol order by session_date
                        ) - 1 as move,
                from raw.prices
            )
            where abs(move) > ?
            order by symbol, session_date
            """,
            [min(EXTREME_DAILY_MOVE.values())],
        ).fetchall()
    moves = [
        (symbol, day, move, kinds.get(symbol))
        for symbol, day, move in candidates
        if abs(move) > EXTREME_DAILY_MOVE.get(kinds.get(symbol, ""), DEFAULT_EXTREME_DAILY_MOVE)
    ]
    described = ", ".join(f"{s} ({k or 'unlisted'}) {d} {m:+.1%}" for s, d, m, k in moves[:20])
    return AssetCheckResult(
        passed=not moves,
        severity=AssetCheckSeverity.WARN,
        description=described or "no daily move beyond its instrument kind's limit",
        metadata={"extreme_moves": len(moves)},
    )


@asset_check(
    asset=AssetKey(["raw", "rates"]),
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="Rates lie within -1..25 % and the target range's lower limit is below its upper.",
)
def rates_are_plausible(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as con:
        out_of_bounds = con.execute(
            "select series_id, observation_date, value from raw.rates "
            "where value < -1 or value > 25 order by 1, 2"
        ).fetchall()
        inverted = con.execute(
            """
            select lower_limit.observation_date
            from raw.rates as lower_limit
            inner join raw.rates as upper_limit
                on upper_limit.observation_date = lower_limit.observation_date
                and upper_limit.series_id = 'DFEDTARU'
            where lower_limit.series_id = 'DFEDTARL' and lower_limit.value >= upper_limit.value
            order by 1
            """
        ).fetchall()
    problems = [f"{s} {d} = {v}" for s, d, v in out_of_bounds[:10]]
    problems += [f"target lower >= upper on {d}" for (d,) in inverted[:10]]
    return AssetCheckResult(
        passed=not (out_of_bounds or inverted),
        severity=AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "all rates plausible",
        metadata={"out_of_bounds": len(out_of_bounds), "inverted_target_days": len(inverted)},
    )


@asset_check(
    asset=AssetKey(["raw", "prices"]),
    pool=WAREHOUSE_POOL,
    description=(
        "Every member of every basket (baskets seed) has prices: a basket is priced only on "
        "sessions where all its members are, so one missing member leaves it empty."
    ),
)
def every_basket_member_priced(warehouse: DuckDBResource) -> AssetCheckResult:
    baskets = load_universe().baskets
    with warehouse.get_connection() as con:
        rows = con.execute("select distinct symbol from raw.prices").fetchall()
    priced = {symbol for (symbol,) in rows}
    unpriced = {
        basket.basket_id: [symbol for symbol in basket.members if symbol not in priced]
        for basket in baskets
    }
    unpriced = {basket_id: symbols for basket_id, symbols in unpriced.items() if symbols}
    described = "; ".join(
        f"basket {basket_id}: no price for {', '.join(symbols)}, so no basket level"
        for basket_id, symbols in unpriced.items()
    )
    return AssetCheckResult(
        passed=not unpriced,
        severity=AssetCheckSeverity.WARN,
        description=described or f"every member of {len(baskets)} basket(s) has prices",
        metadata={"unpriced_members": {k: ", ".join(v) for k, v in unpriced.items()}},
    )


raw_checks = [
    prices_are_ohlc_consistent,
    prices_have_no_missing_sessions,
    every_basket_member_priced,
    prices_have_no_extreme_moves,
    rates_are_plausible,
]
