"""The polars baseline: lazy and long-format (one row per pair and period), as an analyst
would write divergence_daily and outperformance_streaks with polars today.

Every per-pair formula is a window expression (`.over("pair_id")`): `shift` for the
returns, `rolling_*` with `min_samples` for the rolling statistics, `cum_sum` for the
streaks; the runs of outperformance_streaks are one `group_by`. Nothing is computed until
the single `collect_all` at the end, which gets both marts from one query plan.

The inputs are the pandas baselines' (`bench.pandas_common.read_inputs`: the same prices
and basket levels), handed to polars column by column as numpy arrays, so no pyarrow is
needed.
"""

from dataclasses import dataclass

import pandas as pd
import polars as pl

from bench import pandas_common
from bench.pandas_common import DAILY_COLUMNS, STREAK_COLUMNS

PAIR = "pair_id"
# polars 2's default is the streaming engine; on these plans (windows over every pair, a
# group_by per run) the in-memory engine was faster, 0.12 s against 0.20 s at the small size
# and 7.1 s against 8.6 s on 2 M pair rows, for the same peak memory.
ENGINE = "in-memory"


@dataclass
class Inputs:
    """The pandas baselines' inputs as lazy frames: prices (symbol, session_date, price,
    baskets included), the XNYS sessions (session_date) and the pairs of the seed."""

    prices: pl.LazyFrame
    sessions: pl.LazyFrame
    pairs: pl.LazyFrame


def _lazy(frame: pd.DataFrame) -> pl.LazyFrame:
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    return pl.LazyFrame(columns, nan_to_null=True)


def from_pandas(inputs: pandas_common.Inputs) -> Inputs:
    return Inputs(
        prices=_lazy(inputs.prices),
        sessions=_lazy(inputs.sessions.to_frame("session_date")),
        pairs=_lazy(inputs.pairs),
    )


def read_inputs(warehouse: str) -> Inputs:
    return from_pandas(pandas_common.read_inputs(warehouse))


def _aligned(prices: pl.LazyFrame, pairs: pl.LazyFrame, period: str) -> pl.LazyFrame:
    """Pair rows only where both legs have a price, sorted by pair and period."""
    legs = prices.rename({"session_date": period})
    return (
        pairs.join(legs.rename({"symbol": "long_symbol", "price": "long_price"}), on="long_symbol")
        .join(
            legs.rename({"symbol": "short_symbol", "price": "short_price"}),
            on=["short_symbol", period],
        )
        .sort(PAIR, period)
    )


def _leader(spread: pl.Expr) -> pl.Expr:
    """'long' | 'short' | 'tie' by the sign of the spread, null where it is null."""
    return (
        pl.when(spread > 0)
        .then(pl.lit("long"))
        .when(spread < 0)
        .then(pl.lit("short"))
        .when(spread == 0)
        .then(pl.lit("tie"))
    )


def _return(price: str, periods: int) -> pl.Expr:
    return pl.col(price) / pl.col(price).shift(periods).over(PAIR) - 1


def _period_start_price(price: str, key: str) -> pl.Expr:
    """On a pair's first row of a calendar period (month or year), the price of the row
    before it when that row is in the period right before; null on every other row."""
    previous_key = pl.col(key).shift(1).over(PAIR)
    return pl.when(previous_key == pl.col(key) - 1).then(pl.col(price).shift(1).over(PAIR))


def _since_anchor(price: str, anchor: str, key: str) -> pl.Expr:
    """The return from the anchor of the row's calendar period (its first row's value)."""
    return pl.col(price) / pl.col(anchor).first().over(PAIR, key) - 1


def _with_streaks(periods: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """run_number and streak_length over the rows that have a leader: a run starts where the
    leader differs from the one of the previous row that had one; a tie has length 0.

    Gaps and islands with windows over the pair only (a window per run would be one group
    per run): the length so far is the count of rows with a leader minus that count on the
    run's first row, plus one."""
    leader = pl.col("leader")
    has_leader = leader.is_not_null()
    previous = leader.shift(1).forward_fill().over(by)
    starts = pl.col("starts_run")
    seen = pl.col("seen")
    return (
        periods.with_columns(
            starts_run=has_leader & leader.ne_missing(previous),
            seen=has_leader.cast(pl.Int64).cum_sum().over(by),
        )
        .with_columns(
            run_number=starts.cast(pl.Int64).cum_sum().over(by),
            run_start=pl.when(starts).then(seen).forward_fill().over(by),
        )
        .with_columns(
            streak_length=pl.when(leader == "tie")
            .then(pl.lit(0, pl.Int64))
            .when(has_leader)
            .then(seen - pl.col("run_start") + 1)
        )
    )


def _compounded(returns: str) -> pl.Expr:
    """prod(1 + r) - 1, as the sum of log(1 + r): polars' group_by has a fast path for sum,
    not for product (about four times slower here)."""
    return pl.col(returns).log1p().sum().exp() - 1


def daily_frame(inputs: Inputs) -> pl.LazyFrame:
    """divergence_daily, with run_number kept for the runs."""
    date = pl.col("session_date").dt
    long_r, short_r = pl.col("long_return_1d"), pl.col("short_return_1d")
    spread_20d = pl.col("spread_20d")
    std_20d = spread_20d.rolling_std(252, min_samples=252).over(PAIR)
    frame = (
        _aligned(inputs.prices, inputs.pairs, "session_date")
        .with_columns(
            month=date.year().cast(pl.Int64) * 12 + date.month().cast(pl.Int64) - 1,
            year=date.year().cast(pl.Int64),
        )
        .with_columns(
            long_return_1d=_return("long_price", 1),
            short_return_1d=_return("short_price", 1),
            # prod(1 + r) over the last N rows telescopes to price_t / price_{t-N}.
            spread_5d=_return("long_price", 5) - _return("short_price", 5),
            spread_20d=_return("long_price", 20) - _return("short_price", 20),
            long_month_anchor=_period_start_price("long_price", "month"),
            short_month_anchor=_period_start_price("short_price", "month"),
            long_year_anchor=_period_start_price("long_price", "year"),
            short_year_anchor=_period_start_price("short_price", "year"),
            rs_line=pl.col("long_price") / pl.col("short_price"),
        )
        .with_columns(
            spread_1d=long_r - short_r,
            spread_mtd=_since_anchor("long_price", "long_month_anchor", "month")
            - _since_anchor("short_price", "short_month_anchor", "month"),
            spread_ytd=_since_anchor("long_price", "long_year_anchor", "year")
            - _since_anchor("short_price", "short_year_anchor", "year"),
            rs_line_sma_50=pl.col("rs_line").rolling_mean(50, min_samples=50).over(PAIR),
            correlation_60d=pl.rolling_corr(long_r, short_r, window_size=60, min_samples=60).over(
                PAIR
            ),
            spread_20d_zscore=(
                spread_20d - spread_20d.rolling_mean(252, min_samples=252).over(PAIR)
            )
            / pl.when(std_20d != 0).then(std_20d),
            is_divergent_day=pl.when(long_r.is_not_null() & short_r.is_not_null()).then(
                ((long_r > 0) & (short_r < 0)) | ((long_r < 0) & (short_r > 0))
            ),
        )
        .with_columns(leader=_leader(pl.col("spread_1d")))
    )
    return _with_streaks(frame, [PAIR]).with_columns(streak_leader=pl.col("leader"))


def weekly_frame(inputs: Inputs) -> pl.LazyFrame:
    """Pair rows on the last session of every ISO week, with their weekly leader."""
    date = pl.col("session_date").dt
    week_endings = inputs.sessions.group_by(iso_year=date.iso_year(), iso_week=date.week()).agg(
        pl.col("session_date").max()
    )
    weekly = inputs.prices.join(week_endings.select("session_date"), on="session_date", how="semi")
    frame = _aligned(weekly, inputs.pairs, "week_ending").with_columns(
        long_return_1w=_return("long_price", 1),
        short_return_1w=_return("short_price", 1),
    )
    frame = frame.with_columns(leader=_leader(pl.col("long_return_1w") - pl.col("short_return_1w")))
    return _with_streaks(frame, [PAIR])


def _runs(
    periods: pl.LazyFrame, period: str, frequency: str, long_col: str, short_col: str
) -> pl.LazyFrame:
    """One row per run of equal non-tie leaders, its legs compounded over the run."""
    return (
        periods.filter(pl.col("leader").is_not_null())
        .with_columns(latest=pl.col(period).max().over(PAIR))
        .filter(pl.col("leader") != "tie")
        .group_by(PAIR, "run_number")
        .agg(
            leader=pl.col("leader").first(),
            streak_start=pl.col(period).min(),
            streak_end=pl.col(period).max(),
            length=pl.len(),
            long_return=_compounded(long_col),
            short_return=_compounded(short_col),
            latest=pl.col("latest").first(),
        )
        .with_columns(
            frequency=pl.lit(frequency),
            cumulative_spread=pl.col("long_return") - pl.col("short_return"),
            is_current=pl.col("streak_end") == pl.col("latest"),
            rank_in_history=pl.col("length")
            .rank("min", descending=True)
            .over(PAIR, "leader")
            .cast(pl.Int64),
        )
        .select(STREAK_COLUMNS)
    )


def plan(inputs: Inputs) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The two marts as lazy frames: divergence_daily and outperformance_streaks."""
    daily = daily_frame(inputs)
    runs = pl.concat(
        [
            _runs(daily, "session_date", "daily", "long_return_1d", "short_return_1d"),
            _runs(
                weekly_frame(inputs), "week_ending", "weekly", "long_return_1w", "short_return_1w"
            ),
        ]
    )
    return daily.select(DAILY_COLUMNS), runs


def compute(inputs: Inputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """divergence_daily and outperformance_streaks (daily and weekly runs), collected once."""
    daily, runs = pl.collect_all(plan(inputs), engine=ENGINE)
    return daily, runs


def to_pandas(frame: pl.DataFrame, pair_ids: list[str]) -> pd.DataFrame:
    """Some pairs' rows as pandas, for checking against the mart (numpy columns: nulls
    become NaN in floats and integers, None in strings and booleans)."""
    rows = frame.filter(pl.col(PAIR).is_in(pair_ids))
    return pd.DataFrame({name: rows[name].to_numpy() for name in rows.columns})
