"""What both pandas baselines share: their inputs, read from the warehouse, and the
calendar arithmetic (ISO week endings, months) the spec defines."""

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

DAILY_COLUMNS = [
    "pair_id",
    "session_date",
    "long_price",
    "short_price",
    "long_return_1d",
    "short_return_1d",
    "spread_1d",
    "spread_5d",
    "spread_20d",
    "spread_mtd",
    "spread_ytd",
    "rs_line",
    "rs_line_sma_50",
    "correlation_60d",
    "spread_20d_zscore",
    "leader",
    "is_divergent_day",
    "streak_leader",
    "streak_length",
]
STREAK_COLUMNS = [
    "pair_id",
    "frequency",
    "streak_start",
    "streak_end",
    "leader",
    "length",
    "long_return",
    "short_return",
    "cumulative_spread",
    "is_current",
    "rank_in_history",
]


@dataclass
class Inputs:
    """Prices as an analyst would pull them: symbol, session_date, price (with each
    basket's level as its own symbol); the XNYS sessions; and the pairs of the seed."""

    prices: pd.DataFrame
    sessions: pd.Series
    pairs: pd.DataFrame


def read_inputs(warehouse: str) -> Inputs:
    con = duckdb.connect(warehouse, read_only=True)
    prices = con.execute(
        "select symbol, session_date, coalesce(adj_close, close) as price from raw.prices "
        "order by symbol, session_date"
    ).df()
    sessions = con.execute("select session_date from raw.sessions order by 1").df()
    pairs = con.execute(
        "select pair_id, long_symbol, short_symbol from universe.pairs order by pair_id"
    ).df()
    baskets = con.execute("select basket_id, symbol from universe.baskets").df()
    con.close()
    prices["session_date"] = prices["session_date"].astype("datetime64[ns]")
    return Inputs(
        prices=pd.concat([prices, basket_levels(prices, baskets)], ignore_index=True),
        sessions=sessions["session_date"].astype("datetime64[ns]"),
        pairs=pairs,
    )


def basket_levels(prices: pd.DataFrame, baskets: pd.DataFrame) -> pd.DataFrame:
    """Each basket as a symbol: on the sessions where every member has a price, the mean
    of the members' returns since the previous such session, compounded from 100."""
    frames = []
    for basket_id, members in baskets.groupby("basket_id")["symbol"]:
        held = prices[prices["symbol"].isin(set(members))]
        wide = held.pivot(index="session_date", columns="symbol", values="price").dropna()
        if wide.shape[1] < members.nunique() or wide.empty:
            continue
        returns = (wide / wide.shift(1) - 1).mean(axis=1)
        level = 100 * (1 + returns.fillna(0.0)).cumprod()
        frames.append(
            pd.DataFrame({"symbol": basket_id, "session_date": level.index, "price": level.values})
        )
    return pd.concat(frames, ignore_index=True) if frames else prices.iloc[:0]


def week_endings(sessions: pd.Series) -> pd.DatetimeIndex:
    """The last session of every ISO week of the calendar."""
    iso = sessions.dt.isocalendar()
    last = sessions.groupby([iso["year"].to_numpy(), iso["week"].to_numpy()]).max()
    return pd.DatetimeIndex(np.sort(last.to_numpy()))


def month_number(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Months since year 0, so the previous month is always this number minus one."""
    index = pd.DatetimeIndex(dates)
    return (index.year * 12 + index.month - 1).to_numpy()


def leader_of(spread: np.ndarray) -> np.ndarray:
    """'long' | 'short' | 'tie' by the sign of the spread, None where it is null."""
    out = np.full(len(spread), None, dtype=object)
    out[spread > 0] = "long"
    out[spread < 0] = "short"
    out[spread == 0] = "tie"
    return out
