"""The marts recomputed in pandas and numpy from the staging tables and the seeds.

Written from the formulas of spec/marts.md alone; where the spec is silent, from the
choice the mart's yml description documents (returns over the pair's own rows, the
10-decimal rounding of the estimate gaps, the 4-decimal curve, ties resolved
alphabetically). Each function returns one frame per mart with the mart's column names,
so a test can compare it with what dbt built. Windows are evaluated literally, one
window at a time, so a value is null exactly while its window is not full.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import exchange_calendars as xcals
import numpy as np
import pandas as pd

from bench.pandas_common import basket_levels

RATES_AS_OF = {
    "DFEDTARL": "fed_target_lower",
    "DFEDTARU": "fed_target_upper",
    "DFF": "fed_effective",
}
RATES_SAME_DAY = {"DGS2": "ust_2y", "DGS10": "ust_10y"}
GROWTH_UNIVERSES = {
    "russell_2000": "small_cap_growth",
    "sp500": "large_cap_growth",
    "nasdaq_100": "tech_growth",
}
PULSE_INDEXES = {"RUT": "rut", "IXIC": "ixic", "NDX": "ndx", "SPX": "spx"}
EVENT_STUDY_SESSIONS = (21, 63, 126)
QUADRANTS = ("leading", "weakening", "lagging", "improving")


@dataclass(frozen=True)
class Inputs:
    """What the marts are built from, read from a built warehouse."""

    prices: pd.DataFrame  # symbol, session_date, close, price
    rates: pd.DataFrame  # series_id, observation_date, rate_pct
    estimates: pd.DataFrame  # universe, fiscal_year, as_of_date, eps_growth_pct, source
    pairs: pd.DataFrame  # pair_id, long_symbol, short_symbol
    instruments: pd.DataFrame  # symbol, kind, role, sector, style, benchmark_symbol
    sessions: pd.DatetimeIndex  # XNYS sessions around the data
    baskets: pd.DataFrame  # basket_id, symbol


def read_inputs(warehouse: Path) -> Inputs:
    """The staging tables and seeds of `warehouse`, opened read-only."""
    with duckdb.connect(str(warehouse), read_only=True) as con:

        def frame(sql: str) -> pd.DataFrame:
            return con.execute(sql).df()

        prices = frame(
            "select symbol, session_date, close, adj_close from staging.stg_market__prices"
        )
        rates = frame("select series_id, observation_date, rate_pct from staging.stg_fred__rates")
        estimates = frame(
            "select universe, fiscal_year, as_of_date, eps_growth_pct, source "
            "from staging.stg_estimates__eps_growth"
        )
        pairs = frame("select pair_id, long_symbol, short_symbol from universe.pairs")
        instruments = frame(
            "select symbol, kind, role, sector, style, benchmark_symbol from universe.instruments"
        )
        baskets = frame("select basket_id, symbol from universe.baskets")
    # the spec's price: adjusted close where the provider gives one, else close
    prices["price"] = prices["adj_close"].where(prices["adj_close"].notna(), prices["close"])
    prices = _dates(prices.drop(columns="adj_close"), "session_date")
    # each basket as one more symbol, priced by the spec's rule (the benchmark's pandas)
    prices = pd.concat([prices, basket_levels(prices, baskets)], ignore_index=True)
    rates = _dates(rates, "observation_date")
    estimates = _dates(estimates, "as_of_date")
    first, last = prices["session_date"].min(), prices["session_date"].max()
    calendar = xcals.get_calendar(
        "XNYS",
        start=(first - pd.Timedelta(days=10)).date().isoformat(),
        end=(last + pd.Timedelta(days=10)).date().isoformat(),
    )
    sessions = pd.DatetimeIndex(calendar.sessions.tz_localize(None)).astype("datetime64[ns]")
    return Inputs(prices, rates, estimates, pairs, instruments, sessions, baskets)


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


# -- windows ----------------------------------------------------------------------------
def trailing(
    values: np.ndarray, rows: int, statistic: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """`statistic` over each row's last `rows` rows (the current one included), NaN while
    fewer than `rows` rows exist or any of them is NaN. `statistic` maps a (windows, rows)
    array to one value per window."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    if len(values) < rows:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(values, rows)
    full = ~np.isnan(windows).any(axis=1)
    result = np.full(len(windows), np.nan)
    if full.any():
        result[full] = statistic(windows[full])
    out[rows - 1 :] = result
    return out


def trailing_mean(values: np.ndarray, rows: int) -> np.ndarray:
    return trailing(values, rows, lambda w: w.mean(axis=1))


def trailing_zscore(values: np.ndarray, rows: int) -> np.ndarray:
    """(x - mean) / sample standard deviation over the last `rows` values of x."""
    return trailing(values, rows, lambda w: (w[:, -1] - w.mean(axis=1)) / w.std(axis=1, ddof=1))


def trailing_correlation(x: np.ndarray, y: np.ndarray, rows: int) -> np.ndarray:
    """Pearson correlation of x and y over the last `rows` rows where both exist."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def pearson(windows: np.ndarray) -> np.ndarray:
        a, b = windows[:, :rows], windows[:, rows:]
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
        return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))

    out = np.full(len(x), np.nan)
    if len(x) < rows:
        return out
    wx = np.lib.stride_tricks.sliding_window_view(x, rows)
    wy = np.lib.stride_tricks.sliding_window_view(y, rows)
    stacked = np.concatenate([wx, wy], axis=1)
    full = ~np.isnan(stacked).any(axis=1)
    result = np.full(len(stacked), np.nan)
    if full.any():
        result[full] = pearson(stacked[full])
    out[rows - 1 :] = result
    return out


def compounded(prices: pd.Series, periods: int) -> pd.Series:
    """prod(1 + r) - 1 over the last `periods` returns of consecutive rows: the price now
    over the price `periods` rows earlier, null until that many returns exist."""
    return prices / prices.shift(periods) - 1


def leaders(spread: pd.Series) -> pd.Series:
    """long / short / tie by the sign of the spread; null where the spread is null."""
    out = pd.Series(None, index=spread.index, dtype=object)
    out[spread > 0] = "long"
    out[spread < 0] = "short"
    out[spread == 0] = "tie"
    return out


def streaks(leader: pd.Series) -> pd.Series:
    """Length of the run of equal non-tie leaders ending on each row: 0 on a tie, null
    where the leader is null; a tie or a null ends the run before it."""
    lengths: list[int | None] = []
    previous, run = None, 0
    for value in leader:
        if _missing(value):
            lengths.append(None)
            previous, run = None, 0
            continue
        if value == "tie":
            run = 0
        elif value == previous:
            run += 1
        else:
            run = 1
        lengths.append(run)
        previous = value
    return pd.Series(lengths, index=leader.index, dtype="Int64")


def period_start_return(
    frame: pd.DataFrame, price: str, period: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """Price / the price on the last row of the previous period (month or year) - 1; null
    when the row before the current period is not in the period just before it."""
    key = period(frame["session_date"])
    last_of_period = frame.groupby(key)[price].last()
    base = (key - 1).map(last_of_period)
    return frame[price] / base - 1


def months(dates: pd.Series) -> pd.Series:
    return dates.dt.year * 12 + dates.dt.month - 1


def years(dates: pd.Series) -> pd.Series:
    return dates.dt.year


# -- the pair marts ---------------------------------------------------------------------
def _leg_prices(inputs: Inputs, symbol: str) -> pd.DataFrame:
    legs = inputs.prices[inputs.prices["symbol"] == symbol]
    return legs[["session_date", "price"]].sort_values("session_date")


def pair_rows(inputs: Inputs, long_symbol: str, short_symbol: str) -> pd.DataFrame:
    """Sessions on which both legs have a price, with both prices."""
    long_prices = _leg_prices(inputs, long_symbol).rename(columns={"price": "long_price"})
    short_prices = _leg_prices(inputs, short_symbol).rename(columns={"price": "short_price"})
    both = long_prices.merge(short_prices, on="session_date", how="inner")
    return both.sort_values("session_date", ignore_index=True)


def divergence_daily(inputs: Inputs) -> pd.DataFrame:
    frames = []
    for pair in inputs.pairs.itertuples(index=False):
        rows = pair_rows(inputs, pair.long_symbol, pair.short_symbol)
        rows.insert(0, "pair_id", pair.pair_id)
        rows.insert(2, "long_symbol", pair.long_symbol)
        rows.insert(3, "short_symbol", pair.short_symbol)
        for leg in ("long", "short"):
            price = rows[f"{leg}_price"]
            rows[f"{leg}_return_1d"] = compounded(price, 1)
            rows[f"{leg}_return_5d"] = compounded(price, 5)
            rows[f"{leg}_return_20d"] = compounded(price, 20)
            rows[f"{leg}_return_mtd"] = period_start_return(rows, f"{leg}_price", months)
            rows[f"{leg}_return_ytd"] = period_start_return(rows, f"{leg}_price", years)
        for window in ("1d", "5d", "20d", "mtd", "ytd"):
            rows[f"spread_{window}"] = (
                rows[f"long_return_{window}"] - rows[f"short_return_{window}"]
            )
        rows["rs_line"] = rows["long_price"] / rows["short_price"]
        rows["rs_line_sma_50"] = trailing_mean(rows["rs_line"].to_numpy(), 50)
        rows["correlation_60d"] = trailing_correlation(
            rows["long_return_1d"].to_numpy(), rows["short_return_1d"].to_numpy(), 60
        )
        rows["spread_20d_zscore"] = trailing_zscore(rows["spread_20d"].to_numpy(), 252)
        rows["leader"] = leaders(rows["spread_1d"])
        long_return, short_return = rows["long_return_1d"], rows["short_return_1d"]
        divergent = ((long_return > 0) & (short_return < 0)) | (
            (long_return < 0) & (short_return > 0)
        )
        rows["is_divergent_day"] = divergent.astype("boolean").where(
            long_return.notna() & short_return.notna()
        )
        rows["streak_leader"] = rows["leader"]
        rows["streak_length"] = streaks(rows["leader"])
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def weekly_prices(inputs: Inputs, symbol: str) -> pd.DataFrame:
    """A symbol's price on the last session of each ISO week where it has one then."""
    sessions = pd.DataFrame({"session_date": inputs.sessions})
    iso = sessions["session_date"].dt.isocalendar()
    sessions["week_ending"] = sessions.groupby([iso["year"], iso["week"]])[
        "session_date"
    ].transform("max")
    ends = sessions.loc[sessions["session_date"] == sessions["week_ending"], ["week_ending"]]
    legs = _leg_prices(inputs, symbol).rename(columns={"session_date": "week_ending"})
    return ends.merge(legs, on="week_ending", how="inner").sort_values(
        "week_ending", ignore_index=True
    )


def weekly_pair_rows(inputs: Inputs, long_symbol: str, short_symbol: str) -> pd.DataFrame:
    long_prices = weekly_prices(inputs, long_symbol).rename(columns={"price": "long_price"})
    short_prices = weekly_prices(inputs, short_symbol).rename(columns={"price": "short_price"})
    both = long_prices.merge(short_prices, on="week_ending", how="inner")
    return both.sort_values("week_ending", ignore_index=True)


def divergence_weekly(inputs: Inputs) -> pd.DataFrame:
    frames = []
    for pair in inputs.pairs.itertuples(index=False):
        rows = weekly_pair_rows(inputs, pair.long_symbol, pair.short_symbol)
        rows.insert(0, "pair_id", pair.pair_id)
        rows.insert(2, "long_symbol", pair.long_symbol)
        rows.insert(3, "short_symbol", pair.short_symbol)
        for leg in ("long", "short"):
            for weeks in (1, 4, 13):
                rows[f"{leg}_return_{weeks}w"] = compounded(rows[f"{leg}_price"], weeks)
        for weeks in (1, 4, 13):
            rows[f"spread_{weeks}w"] = (
                rows[f"long_return_{weeks}w"] - rows[f"short_return_{weeks}w"]
            )
        rows["rs_line"] = rows["long_price"] / rows["short_price"]
        rows["leader"] = leaders(rows["spread_1w"])
        rows["streak_leader"] = rows["leader"]
        rows["streak_length"] = streaks(rows["leader"])
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


@dataclass
class Run:
    """Consecutive periods led by the same leg, and both legs' growth over them."""

    leader: str
    streak_start: pd.Timestamp
    streak_end: pd.Timestamp
    length: int = 0
    long_growth: float = 1.0
    short_growth: float = 1.0

    def row(self, latest: pd.Timestamp) -> dict[str, object]:
        long_return, short_return = self.long_growth - 1, self.short_growth - 1
        return {
            "streak_start": self.streak_start,
            "streak_end": self.streak_end,
            "leader": self.leader,
            "length": self.length,
            "long_return": long_return,
            "short_return": short_return,
            "cumulative_spread": long_return - short_return,
            "is_current": self.streak_end == latest,
        }


def _runs_of_one_pair(
    rows: pd.DataFrame, period: str, long_return: str, short_return: str
) -> list[dict[str, object]]:
    """The runs of one pair's rows in period order; a tie or a null leader belongs to no
    run and ends the one before it."""
    runs: list[Run] = []
    current: Run | None = None
    for end, leader, long_r, short_r in rows[
        [period, "leader", long_return, short_return]
    ].itertuples(index=False):
        if leader not in ("long", "short"):
            current = None
            continue
        if current is None or current.leader != leader:
            current = Run(leader=leader, streak_start=end, streak_end=end)
            runs.append(current)
        current.streak_end = end
        current.length += 1
        current.long_growth *= 1 + long_r
        current.short_growth *= 1 + short_r
    latest = rows[period].max()
    return [run.row(latest) for run in runs]


def outperformance_streaks(daily: pd.DataFrame, weekly: pd.DataFrame) -> pd.DataFrame:
    """Every run, from the recomputed daily and weekly divergence."""
    runs = []
    for frequency, frame, period, unit in (
        ("daily", daily, "session_date", "1d"),
        ("weekly", weekly, "week_ending", "1w"),
    ):
        for pair_id, rows in frame.groupby("pair_id", sort=True):
            ordered = rows.sort_values(period)
            for run in _runs_of_one_pair(
                ordered, period, f"long_return_{unit}", f"short_return_{unit}"
            ):
                runs.append({"pair_id": pair_id, "frequency": frequency, **run})
    out = pd.DataFrame(runs)
    out["rank_in_history"] = (
        out.groupby(["pair_id", "frequency", "leader"])["length"]
        .rank(method="min", ascending=False)
        .astype(int)
    )
    columns = [
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
    return out[columns]


def streak_status(daily: pd.DataFrame, weekly: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for frequency, frame, period in (
        ("daily", daily, "session_date"),
        ("weekly", weekly, "week_ending"),
    ):
        for pair_id, pair_rows_ in frame.groupby("pair_id", sort=True):
            latest = pair_rows_.sort_values(period).iloc[-1]
            mine = runs[(runs["pair_id"] == pair_id) & (runs["frequency"] == frequency)]
            current = mine[mine["is_current"]]
            is_run = latest["leader"] in ("long", "short")
            rows.append(
                {
                    "pair_id": pair_id,
                    "frequency": frequency,
                    "as_of": latest[period],
                    "current_leader": latest["leader"],
                    "current_length": int(latest["streak_length"]),
                    "current_streak_start": current["streak_start"].iloc[0] if is_run else pd.NaT,
                    "current_rank": int(current["rank_in_history"].iloc[0]) if is_run else None,
                    "longest_length_long": mine.loc[mine["leader"] == "long", "length"].max(),
                    "longest_length_short": mine.loc[mine["leader"] == "short", "length"].max(),
                }
            )
    return pd.DataFrame(rows)


# -- sectors ----------------------------------------------------------------------------
def sector_rotation_weekly(inputs: Inputs) -> pd.DataFrame:
    sectors = inputs.instruments[inputs.instruments["role"] == "sector"]
    frames = []
    for sector in sectors.itertuples(index=False):
        rows = weekly_pair_rows(inputs, sector.symbol, sector.benchmark_symbol).rename(
            columns={"long_price": "sector_price", "short_price": "benchmark_price"}
        )
        rows.insert(0, "sector_symbol", sector.symbol)
        rows["benchmark_symbol"] = sector.benchmark_symbol
        rows["sector"] = sector.sector
        rows["style"] = sector.style
        for weeks in (1, 4, 13):
            rows[f"sector_return_{weeks}w"] = compounded(rows["sector_price"], weeks)
            rows[f"benchmark_return_{weeks}w"] = compounded(rows["benchmark_price"], weeks)
            rows[f"relative_return_{weeks}w"] = (
                rows[f"sector_return_{weeks}w"] - rows[f"benchmark_return_{weeks}w"]
            )
        rows["rs_line"] = rows["sector_price"] / rows["benchmark_price"]
        rows["rs_ratio"] = 100 * rows["rs_line"] / trailing_mean(rows["rs_line"].to_numpy(), 10)
        rows["rs_momentum"] = 100 * rows["rs_ratio"] / trailing_mean(rows["rs_ratio"].to_numpy(), 4)
        rows["quadrant"] = quadrants(rows["rs_ratio"], rows["rs_momentum"])
        rows["previous_quadrant"] = rows["quadrant"].shift(1)
        frames.append(rows)
    out = pd.concat(frames, ignore_index=True)
    out["rank_13w"] = (
        out.groupby("week_ending")["relative_return_13w"]
        .rank(method="min", ascending=False)
        .astype("Int64")
    )
    out = out.sort_values(["sector_symbol", "week_ending"], ignore_index=True)
    earlier = out.groupby("sector_symbol")["rank_13w"].shift(4)
    out["rank_change_4w"] = (earlier - out["rank_13w"]).astype("Int64")
    return out


def stock_performance_weekly(inputs: Inputs) -> pd.DataFrame:
    instruments = inputs.instruments
    etf_of = instruments[instruments["role"] == "sector"].groupby("sector")["symbol"].min()
    basket_ids = inputs.baskets.groupby("symbol")["basket_id"].agg(
        lambda ids: ",".join(sorted(ids))
    )

    def return_13w(symbol: object) -> pd.Series:
        if _missing(symbol):
            return pd.Series(dtype=float)
        rows = weekly_prices(inputs, str(symbol))
        return compounded(rows["price"], 13).set_axis(rows["week_ending"])

    spx_13w = return_13w("SPX")
    frames = []
    for stock in instruments[instruments["kind"] == "stock"].itertuples(index=False):
        rows = weekly_prices(inputs, stock.symbol)
        if rows.empty:
            continue
        rows.insert(0, "symbol", stock.symbol)
        rows["sector"] = stock.sector
        etf = etf_of.get(stock.sector)
        rows["sector_symbol"] = etf
        for weeks in (1, 4, 13):
            rows[f"return_{weeks}w"] = compounded(rows["price"], weeks)
        daily = _leg_prices(inputs, stock.symbol)
        year_end = daily.groupby(daily["session_date"].dt.year)["price"].last()
        rows["return_ytd"] = rows["price"] / (rows["week_ending"].dt.year - 1).map(year_end) - 1
        rows["sector_return_13w"] = rows["week_ending"].map(return_13w(etf))
        rows["spx_return_13w"] = rows["week_ending"].map(spx_13w)
        rows["relative_to_sector_13w"] = rows["return_13w"] - rows["sector_return_13w"]
        rows["relative_to_spx_13w"] = rows["return_13w"] - rows["spx_return_13w"]
        high = rows["price"].cummax()
        rows["drawdown_from_high"] = rows["price"] / high - 1
        high_52w = trailing(rows["price"].to_numpy(), 52, lambda w: w.max(axis=1))
        rows["drawdown_from_52w_high"] = rows["price"] / high_52w - 1
        rows["is_record_close"] = (rows["price"] > high.shift(1)).astype("boolean")
        rows["basket_ids"] = basket_ids.get(stock.symbol, "")
        frames.append(rows)
    out = pd.concat(frames, ignore_index=True)
    out["rank_13w"] = (
        out.groupby("week_ending")["return_13w"].rank(method="min", ascending=False).astype("Int64")
    )
    out = out.sort_values(["symbol", "week_ending"], ignore_index=True)
    earlier = out.groupby("symbol")["rank_13w"].shift(4)
    out["rank_change_4w"] = (earlier - out["rank_13w"]).astype("Int64")
    return out


def quadrants(ratio: pd.Series, momentum: pd.Series) -> pd.Series:
    out = pd.Series(None, index=ratio.index, dtype=object)
    strong, rising = ratio >= 100, momentum >= 100
    known = ratio.notna() & momentum.notna()
    out[known & strong & rising] = "leading"
    out[known & strong & ~rising] = "weakening"
    out[known & ~strong & ~rising] = "lagging"
    out[known & ~strong & rising] = "improving"
    return out


def sector_leadership_weekly(rotation: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for week_ending, week in rotation.groupby("week_ending", sort=True):
        row: dict[str, object] = {"week_ending": week_ending, "sector_count": len(week)}
        for quadrant in QUADRANTS:
            row[f"{quadrant}_count"] = int((week["quadrant"] == quadrant).sum())
        ranked = week[week["rank_13w"].notna()].sort_values("sector_symbol")
        if ranked.empty:
            row["top_sector"] = row["bottom_sector"] = None
        else:
            best, worst = ranked["rank_13w"].min(), ranked["rank_13w"].max()
            row["top_sector"] = ranked.loc[ranked["rank_13w"] == best, "sector_symbol"].iloc[0]
            row["bottom_sector"] = ranked.loc[ranked["rank_13w"] == worst, "sector_symbol"].iloc[0]
        for style in ("growth", "cyclical", "defensive"):
            row[f"{style}_relative_return_4w"] = week.loc[
                week["style"] == style, "relative_return_4w"
            ].mean()
        row["growth_minus_cyclical_4w"] = (
            row["growth_relative_return_4w"] - row["cyclical_relative_return_4w"]
        )
        row["cyclical_minus_defensive_4w"] = (
            row["cyclical_relative_return_4w"] - row["defensive_relative_return_4w"]
        )
        rows.append(row)
    return pd.DataFrame(rows)


# -- rates ------------------------------------------------------------------------------
def rates_regime_daily(inputs: Inputs) -> pd.DataFrame:
    rates = inputs.rates
    out = pd.DataFrame({"observation_date": np.sort(rates["observation_date"].unique())})
    for series_id, column in RATES_AS_OF.items():
        series = rates.loc[rates["series_id"] == series_id, ["observation_date", "rate_pct"]]
        out = pd.merge_asof(
            out,
            series.sort_values("observation_date").rename(columns={"rate_pct": column}),
            on="observation_date",
            direction="backward",
        )
    for series_id, column in RATES_SAME_DAY.items():
        series = rates.loc[rates["series_id"] == series_id, ["observation_date", "rate_pct"]]
        out = out.merge(
            series.rename(columns={"rate_pct": column}), on="observation_date", how="left"
        )
    out["curve_2s10s"] = (out["ust_10y"] - out["ust_2y"]).round(4)
    out["policy_change_bps"] = (100 * out["fed_target_upper"].diff()).round(2)
    change = out["policy_change_bps"]
    out["policy_action"] = np.where(change < 0, "cut", np.where(change > 0, "hike", "hold"))
    out["calendar_year"] = out["observation_date"].dt.year
    for action, column in (("cut", "cuts_ytd"), ("hike", "hikes_ytd")):
        out[column] = (
            (out["policy_action"] == action).astype(int).groupby(out["calendar_year"]).cumsum()
        )
    changed = change.notna() & (change != 0)
    out["last_policy_change_date"] = out["observation_date"].where(changed).ffill()
    out["days_since_last_change"] = (
        out["observation_date"] - out["last_policy_change_date"]
    ).dt.days.astype("Int64")
    return out


def policy_events(regime: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    events = regime[regime["policy_action"].isin(["cut", "hike"])].sort_values("observation_date")
    aligned = pair_rows(inputs, "RUT", "SPX")
    dates = aligned["session_date"].to_numpy()
    rows = []
    previous_action, previous_date = None, pd.NaT
    for event in events.itertuples(index=False):
        row: dict[str, object] = {
            "event_date": event.observation_date,
            "action": event.policy_action,
            "change_bps": event.policy_change_bps,
            "target_lower": event.fed_target_lower,
            "target_upper": event.fed_target_upper,
            "is_first_cut_of_cycle": event.policy_action == "cut"
            and previous_action in (None, "hike"),
            "previous_event_date": previous_date,
        }
        start = int(np.searchsorted(dates, np.datetime64(event.observation_date), side="left"))
        has_start = start < len(dates)
        row["event_session_date"] = dates[start] if has_start else pd.NaT
        row["sessions_after_event"] = len(dates) - 1 - start if has_start else None
        for n in EVENT_STUDY_SESSIONS:
            rut = spx = np.nan
            if has_start and start + n < len(dates):
                rut = aligned["long_price"].iloc[start + n] / aligned["long_price"].iloc[start] - 1
                spx = (
                    aligned["short_price"].iloc[start + n] / aligned["short_price"].iloc[start] - 1
                )
            row[f"rut_return_{n}s"], row[f"spx_return_{n}s"] = rut, spx
            row[f"rut_vs_spx_spread_{n}s"] = rut - spx
        rows.append(row)
        previous_action, previous_date = event.policy_action, event.observation_date
    out = pd.DataFrame(rows)
    out["sessions_after_event"] = out["sessions_after_event"].astype("Int64")
    return out


# -- estimates --------------------------------------------------------------------------
def earnings_outlook(inputs: Inputs) -> pd.DataFrame:
    out = inputs.estimates.sort_values(["universe", "fiscal_year", "as_of_date"], ignore_index=True)
    out["eps_growth_estimate_pct"] = out["eps_growth_pct"]
    out["eps_growth_estimate"] = out["eps_growth_pct"] / 100
    previous = out.groupby(["universe", "fiscal_year"])
    out["previous_as_of_date"] = previous["as_of_date"].shift(1)
    out["previous_estimate"] = previous["eps_growth_estimate"].shift(1)
    out["revision"] = (out["eps_growth_estimate"] - out["previous_estimate"]).round(10)
    return out.drop(columns="eps_growth_pct")


def earnings_growth_gap(inputs: Inputs) -> pd.DataFrame:
    estimates = inputs.estimates[inputs.estimates["universe"].isin(GROWTH_UNIVERSES)]
    estimates = estimates[estimates["eps_growth_pct"].notna()]
    wide = estimates.assign(growth=estimates["eps_growth_pct"] / 100).pivot_table(
        index=["as_of_date", "fiscal_year"], columns="universe", values="growth", aggfunc="first"
    )
    wide = wide.reindex(columns=list(GROWTH_UNIVERSES)).rename(columns=GROWTH_UNIVERSES)
    out = wide.reset_index()
    out.columns.name = None
    out["small_minus_large"] = (out["small_cap_growth"] - out["large_cap_growth"]).round(10)
    out["tech_minus_small"] = (out["tech_growth"] - out["small_cap_growth"]).round(10)
    out["universes_reported"] = out[list(GROWTH_UNIVERSES.values())].notna().sum(axis=1)
    return out


# -- the dashboard row ------------------------------------------------------------------
def market_pulse_daily(
    inputs: Inputs,
    daily: pd.DataFrame,
    weekly: pd.DataFrame,
    regime: pd.DataFrame,
    gap: pd.DataFrame,
) -> pd.DataFrame:
    prices = inputs.prices[inputs.prices["symbol"].isin(PULSE_INDEXES)]
    first, last = prices["session_date"].min(), prices["session_date"].max()
    sessions = inputs.sessions[(inputs.sessions >= first) & (inputs.sessions <= last)]
    out = pd.DataFrame({"session_date": sessions})
    for symbol, prefix in PULSE_INDEXES.items():
        own = prices[prices["symbol"] == symbol].sort_values("session_date", ignore_index=True)
        own[f"{prefix}_close"] = own["close"]
        own[f"{prefix}_return_1d"] = own["price"] / own["price"].shift(1) - 1
        earlier_high = own["close"].cummax().shift(1)
        if prefix == "rut":
            own["rut_is_record_close"] = (own["close"] > earlier_high).astype("boolean")
        keep = [c for c in own.columns if c.startswith(prefix)]
        out = out.merge(own[["session_date", *keep]], on="session_date", how="left")
    for pair_id, columns in (
        ("rut_vs_ixic", {"spread_1d": "rut_vs_ixic_spread_1d"}),
        (
            "rut_vs_spx",
            {"spread_1d": "rut_vs_spx_spread_1d", "spread_ytd": "rut_vs_spx_spread_ytd"},
        ),
    ):
        pair = daily.loc[daily["pair_id"] == pair_id, ["session_date", *columns]]
        out = out.merge(pair.rename(columns=columns), on="session_date", how="left")
    weeks = weekly.loc[
        weekly["pair_id"] == "rut_vs_spx", ["week_ending", "streak_leader", "streak_length"]
    ].rename(
        columns={
            "week_ending": "session_date",
            "streak_leader": "rut_vs_spx_weekly_streak_leader",
            "streak_length": "rut_vs_spx_weekly_streak_length",
        }
    )
    out = pd.merge_asof(out, weeks.sort_values("session_date"), on="session_date")
    upper = inputs.rates.loc[
        inputs.rates["series_id"] == "DFEDTARU", ["observation_date", "rate_pct"]
    ].rename(columns={"observation_date": "session_date", "rate_pct": "fed_target_upper"})
    out = pd.merge_asof(out, upper.sort_values("session_date"), on="session_date")
    curve = regime.loc[regime["curve_2s10s"].notna(), ["observation_date", "curve_2s10s"]]
    out = pd.merge_asof(
        out, curve.rename(columns={"observation_date": "session_date"}), on="session_date"
    )
    growth = gap[["as_of_date", "fiscal_year", "small_minus_large"]].sort_values("as_of_date")
    out["fiscal_year"] = out["session_date"].dt.year
    out = pd.merge_asof(
        out,
        growth.rename(
            columns={"as_of_date": "session_date", "small_minus_large": "small_minus_large_growth"}
        ),
        on="session_date",
        by="fiscal_year",
    )
    return out.drop(columns="fiscal_year")


# -- comparing with a mart --------------------------------------------------------------
FLOAT_TOLERANCE = 1e-9


def read_mart(warehouse: Path, mart: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select * from marts.{mart}").df()


def _comparable(column: pd.Series) -> pd.Series:
    """Dates as datetime64[ns], integers and booleans nullable, text as objects or None."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.astype("datetime64[ns]")
    if pd.api.types.is_bool_dtype(column):
        return column.astype("boolean")
    if pd.api.types.is_integer_dtype(column):
        return column.astype("Int64")
    if pd.api.types.is_float_dtype(column):
        return column.astype(float)
    values = column.astype(object)
    return values.where(values.notna(), None)


def differences(
    expected: pd.DataFrame, actual: pd.DataFrame, keys: list[str], columns: list[str]
) -> list[str]:
    """One line per (row, column) where the mart differs from the recomputation: floats
    beyond 1e-9 (absolute below 1, relative above), anything else not equal, or a null on
    one side only. Keys missing on either side are listed first."""
    left = expected[keys + columns].copy()
    right = actual[keys + columns].copy()
    for frame in (left, right):
        for column in frame.columns:
            frame[column] = _comparable(frame[column])
    merged = left.merge(
        right, on=keys, how="outer", suffixes=("_expected", "_mart"), indicator=True
    )
    problems = [
        f"{ {k: _plain(v) for k, v in zip(keys, row, strict=True)} }: only in the "
        + ("recomputation" if side == "left_only" else "mart")
        for *row, side in merged.loc[merged["_merge"] != "both", [*keys, "_merge"]].itertuples(
            index=False
        )
    ]
    both = merged[merged["_merge"] == "both"]
    for column in columns:
        mine, theirs = both[f"{column}_expected"], both[f"{column}_mart"]
        if pd.api.types.is_float_dtype(mine) and pd.api.types.is_float_dtype(theirs):
            a, b = mine.to_numpy(float), theirs.to_numpy(float)
            same_null = np.isnan(a) == np.isnan(b)
            close = np.abs(a - b) <= FLOAT_TOLERANCE * np.maximum(1.0, np.abs(a))
            wrong = ~same_null | (~np.isnan(a) & ~np.isnan(b) & ~close)
        else:
            wrong = np.array(
                [
                    not (_missing(x) and _missing(y)) and (_missing(x) or _missing(y) or x != y)
                    for x, y in zip(mine, theirs, strict=True)
                ],
                dtype=bool,
            )
        for index in np.flatnonzero(wrong):
            key = {k: _plain(both[k].iloc[index]) for k in keys}
            problems.append(
                f"{key} {column}: recomputed {_plain(mine.iloc[index])!r}, "
                f"mart {_plain(theirs.iloc[index])!r}"
            )
    return problems


def _missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    )


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- every mart at once -----------------------------------------------------------------
MART_KEYS: dict[str, list[str]] = {
    "divergence_daily": ["pair_id", "session_date"],
    "divergence_weekly": ["pair_id", "week_ending"],
    "outperformance_streaks": ["pair_id", "frequency", "streak_start"],
    "streak_status": ["pair_id", "frequency"],
    "sector_rotation_weekly": ["sector_symbol", "week_ending"],
    "sector_leadership_weekly": ["week_ending"],
    "rates_regime_daily": ["observation_date"],
    "policy_events": ["event_date"],
    "earnings_outlook": ["as_of_date", "universe", "fiscal_year"],
    "earnings_growth_gap": ["as_of_date", "fiscal_year"],
    "market_pulse_daily": ["session_date"],
    "stock_performance_weekly": ["symbol", "week_ending"],
}


def recompute(warehouse: Path) -> dict[str, pd.DataFrame]:
    """Every mart of MART_KEYS, recomputed from the staging tables of `warehouse`."""
    inputs = read_inputs(warehouse)
    daily, weekly = divergence_daily(inputs), divergence_weekly(inputs)
    runs = outperformance_streaks(daily, weekly)
    rotation = sector_rotation_weekly(inputs)
    regime = rates_regime_daily(inputs)
    gap = earnings_growth_gap(inputs)
    return {
        "divergence_daily": daily,
        "divergence_weekly": weekly,
        "outperformance_streaks": runs,
        "streak_status": streak_status(daily, weekly, runs),
        "sector_rotation_weekly": rotation,
        "sector_leadership_weekly": sector_leadership_weekly(rotation),
        "rates_regime_daily": regime,
        "policy_events": policy_events(regime, inputs),
        "earnings_outlook": earnings_outlook(inputs),
        "earnings_growth_gap": gap,
        "market_pulse_daily": market_pulse_daily(inputs, daily, weekly, regime, gap),
        "stock_performance_weekly": stock_performance_weekly(inputs),
    }
