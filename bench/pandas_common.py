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
    """Prices as an analyst would pull them: symbol, session_date, price; the XNYS
    sessions; and the pairs of the seed."""

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
    con.close()
    prices["session_date"] = prices["session_date"].astype("datetime64[ns]")
    return Inputs(
        prices=prices,
        sessions=sessions["session_date"].astype("datetime64[ns]"),
        pairs=pairs,
    )


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
