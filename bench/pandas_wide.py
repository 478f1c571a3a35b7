"""The wide-format pandas baseline: one column per symbol (and per pair), every formula
vectorised across columns with numpy and DataFrame.rolling.

It relies on each leg having a price on every session of the window, which holds for the
generated universe (the sample market never skips a session); `compute` checks it.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.pandas_common import DAILY_COLUMNS, STREAK_COLUMNS, Inputs, month_number, week_endings

LEADER_NAMES = np.array(["short", "tie", "long"], dtype=object)


@dataclass
class WideResult:
    """divergence_daily as one (session x pair) matrix per column, and the runs."""

    dates: pd.DatetimeIndex
    pair_ids: np.ndarray
    columns: dict[str, np.ndarray]
    runs: pd.DataFrame

    def daily_rows(self, pair_ids: list[str]) -> pd.DataFrame:
        """The long rows of some pairs, for checking against the mart."""
        frames = []
        for pair_id in pair_ids:
            j = int(np.flatnonzero(self.pair_ids == pair_id)[0])
            data = {name: values[:, j] for name, values in self.columns.items()}
            frame = pd.DataFrame(data)
            frame["pair_id"] = pair_id
            frame["session_date"] = self.dates
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        frame["leader"] = _names(frame.pop("leader_code").to_numpy())
        frame["streak_leader"] = frame["leader"]
        frame["streak_length"] = frame["streak_length"].astype("Int64")
        divergent = frame["is_divergent_day"].astype("boolean")
        frame["is_divergent_day"] = divergent.where(frame["long_return_1d"].notna())
        return frame[DAILY_COLUMNS]


def _names(codes: np.ndarray) -> np.ndarray:
    out = np.full(len(codes), None, dtype=object)
    valid = ~np.isnan(codes)
    out[valid] = LEADER_NAMES[codes[valid].astype(int) + 1]
    return out


def _shift(values: np.ndarray, periods: int) -> np.ndarray:
    out = np.full_like(values, np.nan)
    out[periods:] = values[:-periods]
    return out


def _anchor_rows(keys: np.ndarray) -> np.ndarray:
    """Per row, the last row of the previous calendar period if that period is the one
    right before (else -1)."""
    ends = np.flatnonzero(np.diff(keys) != 0)  # last row of each period but the final one
    period_of_row = np.searchsorted(keys[ends], keys, side="left")  # periods ended before
    anchors = np.full(len(keys), -1)
    has = period_of_row > 0
    candidate = ends[np.maximum(period_of_row - 1, 0)]
    consecutive = keys[candidate] == keys - 1
    anchors[has & consecutive] = candidate[has & consecutive]
    return anchors


def _since(prices: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    out = np.full_like(prices, np.nan)
    rows = anchors >= 0
    out[rows] = prices[rows] / prices[anchors[rows]] - 1
    return out


def _streaks(leader: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run start row and streak length per cell; row 0 (no return yet) starts nothing."""
    n = leader.shape[0]
    position = np.arange(n)[:, None]
    change = np.ones(leader.shape, dtype=bool)
    change[1:] = leader[1:] != leader[:-1]
    start = np.maximum.accumulate(np.where(change, position, 0), axis=0)
    length = (position - start + 1).astype(float)
    length[leader == 0] = 0
    length[np.isnan(leader)] = np.nan
    return start, length


def _runs(
    dates: pd.DatetimeIndex,
    pair_ids: np.ndarray,
    long_price: np.ndarray,
    short_price: np.ndarray,
    leader: np.ndarray,
    frequency: str,
) -> pd.DataFrame:
    """One row per run of equal non-tie leaders; leg returns telescope to price ratios."""
    body = leader[1:]
    start, _length = _streaks(body)
    ends = np.ones(body.shape, dtype=bool)
    ends[:-1] = body[:-1] != body[1:]
    rows, cols = np.nonzero(ends & (body != 0))
    first = start[rows, cols]
    long_return = long_price[rows + 1, cols] / long_price[first, cols] - 1
    short_return = short_price[rows + 1, cols] / short_price[first, cols] - 1
    runs = pd.DataFrame(
        {
            "pair_id": pair_ids[cols],
            "frequency": frequency,
            "streak_start": dates[first + 1],
            "streak_end": dates[rows + 1],
            "leader": LEADER_NAMES[body[rows, cols].astype(int) + 1],
            "length": rows - first + 1,
            "long_return": long_return,
            "short_return": short_return,
            "cumulative_spread": long_return - short_return,
            "is_current": rows == body.shape[0] - 1,
        }
    )
    runs["rank_in_history"] = (
        runs.groupby(["pair_id", "leader"], sort=False)["length"]
        .rank(method="min", ascending=False)
        .astype(int)
    )
    return runs


def _legs(wide: pd.DataFrame, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    long_price = wide[pairs["long_symbol"].to_list()].to_numpy()
    short_price = wide[pairs["short_symbol"].to_list()].to_numpy()
    if np.isnan(long_price).any() or np.isnan(short_price).any():
        raise ValueError("the wide baseline needs a price for both legs on every session")
    return long_price, short_price


def _rolling(values: np.ndarray, window: int, how: str) -> np.ndarray:
    return getattr(pd.DataFrame(values).rolling(window), how)().to_numpy()


def compute(inputs: Inputs) -> WideResult:
    """divergence_daily (as matrices) and outperformance_streaks (daily and weekly)."""
    wide = inputs.prices.pivot(index="session_date", columns="symbol", values="price")
    wide = wide.sort_index()
    dates = pd.DatetimeIndex(wide.index)
    pair_ids = inputs.pairs["pair_id"].to_numpy()
    long_price, short_price = _legs(wide, inputs.pairs)

    long_1d = long_price / _shift(long_price, 1) - 1
    short_1d = short_price / _shift(short_price, 1) - 1
    spread_1d = long_1d - short_1d
    spread_5d = long_price / _shift(long_price, 5) - short_price / _shift(short_price, 5)
    spread_20d = long_price / _shift(long_price, 20) - short_price / _shift(short_price, 20)
    months = _anchor_rows(month_number(dates))
    years = _anchor_rows(dates.year.to_numpy())
    rs_line = long_price / short_price
    correlation = pd.DataFrame(long_1d).rolling(60).corr(pd.DataFrame(short_1d)).to_numpy()
    std = _rolling(spread_20d, 252, "std")
    std = np.where(std == 0, np.nan, std)
    leader = np.sign(spread_1d)
    _start, streak_length = _streaks(leader)
    columns = {
        "long_price": long_price,
        "short_price": short_price,
        "long_return_1d": long_1d,
        "short_return_1d": short_1d,
        "spread_1d": spread_1d,
        "spread_5d": spread_5d,
        "spread_20d": spread_20d,
        "spread_mtd": _since(long_price, months) - _since(short_price, months),
        "spread_ytd": _since(long_price, years) - _since(short_price, years),
        "rs_line": rs_line,
        "rs_line_sma_50": _rolling(rs_line, 50, "mean"),
        "correlation_60d": correlation,
        "spread_20d_zscore": (spread_20d - _rolling(spread_20d, 252, "mean")) / std,
        "leader_code": leader,
        "is_divergent_day": (long_1d * short_1d) < 0,
        "streak_length": streak_length,
    }

    weekly = wide.loc[wide.index.isin(week_endings(inputs.sessions))]
    week_long, week_short = _legs(weekly, inputs.pairs)
    week_leader = np.sign(
        (week_long / _shift(week_long, 1) - 1) - (week_short / _shift(week_short, 1) - 1)
    )
    runs = pd.concat(
        [
            _runs(dates, pair_ids, long_price, short_price, leader, "daily"),
            _runs(
                pd.DatetimeIndex(weekly.index),
                pair_ids,
                week_long,
                week_short,
                week_leader,
                "weekly",
            ),
        ],
        ignore_index=True,
    )
    return WideResult(dates, pair_ids, columns, runs[STREAK_COLUMNS])
