"""The long-format pandas baseline: one row per pair and period, groupby / shift /
rolling / cumsum, as an analyst would write divergence_daily and outperformance_streaks."""

import numpy as np
import pandas as pd

from bench.pandas_common import (
    DAILY_COLUMNS,
    STREAK_COLUMNS,
    Inputs,
    leader_of,
    month_number,
    week_endings,
)


def _aligned(prices: pd.DataFrame, pairs: pd.DataFrame, period: str) -> pd.DataFrame:
    """Pair rows only where both legs have a price, sorted by pair and period."""
    legs = prices.rename(columns={"session_date": period})
    frame = pairs.merge(
        legs.rename(columns={"symbol": "long_symbol", "price": "long_price"}), on="long_symbol"
    ).merge(
        legs.rename(columns={"symbol": "short_symbol", "price": "short_price"}),
        on=["short_symbol", period],
    )
    return frame.sort_values(["pair_id", period], ignore_index=True)


def _anchor(frame: pd.DataFrame, key: np.ndarray, name: str) -> pd.DataFrame:
    """The last long and short price of the pair's previous calendar period (month or
    year), when that period is the one right before."""
    frame[name] = key
    last = frame.groupby(["pair_id", name], sort=False)[["long_price", "short_price"]].last()
    last = last.reset_index()
    by_pair = last.groupby("pair_id", sort=False)
    previous_key = by_pair[name].shift(1)
    consecutive = previous_key == last[name] - 1
    last["long_anchor"] = by_pair["long_price"].shift(1).where(consecutive)
    last["short_anchor"] = by_pair["short_price"].shift(1).where(consecutive)
    return frame[["pair_id", name]].merge(
        last[["pair_id", name, "long_anchor", "short_anchor"]], on=["pair_id", name], how="left"
    )


def _rolling(frame: pd.DataFrame, column: str, window: int, how: str) -> pd.Series:
    rolled = frame.groupby("pair_id", sort=False)[column].rolling(window)
    values = getattr(rolled, how)()
    return values.reset_index(level=0, drop=True).sort_index()


def _streaks(periods: pd.DataFrame, period: str) -> pd.DataFrame:
    """streak_leader / streak_length and the run number over periods with a leader."""
    periods = periods[periods["leader"].notna()].copy()
    previous = periods.groupby("pair_id", sort=False)["leader"].shift(1)
    periods["starts_run"] = (periods["leader"] != previous).astype(int)
    periods["run_number"] = periods.groupby("pair_id", sort=False)["starts_run"].cumsum()
    position = periods.groupby(["pair_id", "run_number"], sort=False).cumcount() + 1
    periods["streak_leader"] = periods["leader"]
    periods["streak_length"] = np.where(periods["leader"] == "tie", 0, position)
    return periods


def daily_frame(inputs: Inputs) -> pd.DataFrame:
    frame = _aligned(inputs.prices, inputs.pairs, "session_date")
    by_pair = frame.groupby("pair_id", sort=False)
    for leg in ("long", "short"):
        price = frame[f"{leg}_price"]
        grouped = by_pair[f"{leg}_price"]
        frame[f"{leg}_return_1d"] = price / grouped.shift(1) - 1
        # prod(1 + r) over the last N rows telescopes to price_t / price_{t-N}.
        frame[f"{leg}_return_5d"] = price / grouped.shift(5) - 1
        frame[f"{leg}_return_20d"] = price / grouped.shift(20) - 1
    months = _anchor(frame, month_number(frame["session_date"]), "month")
    years = _anchor(frame, frame["session_date"].dt.year.to_numpy(), "year")
    frame["spread_1d"] = frame["long_return_1d"] - frame["short_return_1d"]
    frame["spread_5d"] = frame["long_return_5d"] - frame["short_return_5d"]
    frame["spread_20d"] = frame["long_return_20d"] - frame["short_return_20d"]
    frame["spread_mtd"] = (frame["long_price"] / months["long_anchor"]) - (
        frame["short_price"] / months["short_anchor"]
    )
    frame["spread_ytd"] = (frame["long_price"] / years["long_anchor"]) - (
        frame["short_price"] / years["short_anchor"]
    )
    frame["rs_line"] = frame["long_price"] / frame["short_price"]
    frame["rs_line_sma_50"] = _rolling(frame, "rs_line", 50, "mean")
    frame["correlation_60d"] = (
        by_pair[["long_return_1d", "short_return_1d"]]
        .apply(lambda g: g["long_return_1d"].rolling(60).corr(g["short_return_1d"]))
        .reset_index(level=0, drop=True)
    )
    mean = _rolling(frame, "spread_20d", 252, "mean")
    std = _rolling(frame, "spread_20d", 252, "std").replace(0.0, np.nan)
    frame["spread_20d_zscore"] = (frame["spread_20d"] - mean) / std
    frame["leader"] = leader_of(frame["spread_1d"].to_numpy())
    long_r, short_r = frame["long_return_1d"], frame["short_return_1d"]
    divergent = ((long_r > 0) & (short_r < 0)) | ((long_r < 0) & (short_r > 0))
    frame["is_divergent_day"] = divergent.astype("boolean").where(long_r.notna() & short_r.notna())
    streaks = _streaks(frame[["pair_id", "leader"]], "session_date")
    frame["streak_leader"] = streaks["streak_leader"]
    frame["streak_length"] = streaks["streak_length"].astype("Int64")
    frame.loc[frame["leader"].isna(), ["streak_leader"]] = None
    return frame


def weekly_frame(inputs: Inputs) -> pd.DataFrame:
    ends = week_endings(inputs.sessions)
    weekly = inputs.prices[inputs.prices["session_date"].isin(ends)]
    frame = _aligned(weekly, inputs.pairs, "week_ending")
    by_pair = frame.groupby("pair_id", sort=False)
    frame["long_return_1w"] = frame["long_price"] / by_pair["long_price"].shift(1) - 1
    frame["short_return_1w"] = frame["short_price"] / by_pair["short_price"].shift(1) - 1
    frame["leader"] = leader_of((frame["long_return_1w"] - frame["short_return_1w"]).to_numpy())
    return frame


def _runs(
    periods: pd.DataFrame, period: str, frequency: str, long_col: str, short_col: str
) -> pd.DataFrame:
    streaks = _streaks(periods[["pair_id", period, "leader", long_col, short_col]], period)
    latest = streaks.groupby("pair_id", sort=False)[period].max().rename("latest")
    led = streaks[streaks["leader"] != "tie"].copy()
    led["long_growth"] = 1 + led[long_col]
    led["short_growth"] = 1 + led[short_col]
    runs = (
        led.groupby(["pair_id", "run_number"], sort=False)
        .agg(
            leader=("leader", "first"),
            streak_start=(period, "min"),
            streak_end=(period, "max"),
            length=(period, "size"),
            long_growth=("long_growth", "prod"),
            short_growth=("short_growth", "prod"),
        )
        .reset_index()
    )
    runs["frequency"] = frequency
    runs["long_return"] = runs["long_growth"] - 1
    runs["short_return"] = runs["short_growth"] - 1
    runs["cumulative_spread"] = runs["long_return"] - runs["short_return"]
    runs["is_current"] = runs["streak_end"].to_numpy() == runs["pair_id"].map(latest).to_numpy()
    runs["rank_in_history"] = (
        runs.groupby(["pair_id", "leader"], sort=False)["length"]
        .rank(method="min", ascending=False)
        .astype(int)
    )
    return runs


def compute(inputs: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """divergence_daily and outperformance_streaks (daily and weekly runs)."""
    daily = daily_frame(inputs)
    weekly = weekly_frame(inputs)
    runs = pd.concat(
        [
            _runs(daily, "session_date", "daily", "long_return_1d", "short_return_1d"),
            _runs(
                weekly.rename(columns={"week_ending": "session_date"}),
                "session_date",
                "weekly",
                "long_return_1w",
                "short_return_1w",
            ),
        ],
        ignore_index=True,
    )
    return daily[DAILY_COLUMNS], runs[STREAK_COLUMNS]
