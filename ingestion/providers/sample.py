"""The built-in sample market: a deterministic, offline stand-in for real providers.

Every path starts at `EPOCH` and is drawn from random streams seeded by name (one per
factor, per instrument, per rate process), so a value depends only on its symbol and date:
asking for a different window, or adding an instrument to the universe, never changes
the values already handed out. The same arguments give byte-identical frames.

Prices follow a factor model. A symbol's daily return is

    r = b_market * market + b_size * size + b_tech * tech + b_sector * sector + idiosyncratic

where each factor has a slowly wandering drift (so small caps, tech and sectors take
turns leading for weeks at a time) and all shocks share a volatility regime with fat
tails. ETFs that track an index (IWM -> RUT, QQQ -> NDX ...) follow it with a small
tracking error. Rates follow a Fed that moves its target range in 25 bp steps at
scheduled meetings; estimates are monthly EPS-growth snapshots that get revised.
"""

import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar
from pandas.tseries.offsets import CustomBusinessDay

from ingestion.calendar import sessions_between
from ingestion.providers.base import ProviderError
from ingestion.providers.common import check_window, concat_sorted
from ingestion.universe import Instrument, Universe

if TYPE_CHECKING:
    from ingestion.providers import ProviderContext

EPOCH = date(2000, 1, 3)
SEED = 20_000_103
SOURCE = "sample"
T_DOF = 5.0


@dataclass(frozen=True)
class Loadings:
    market: float
    size: float
    tech: float
    sector: float
    idio_vol: float
    base_price: float
    base_volume: float
    tracks: str | None = None


@dataclass(frozen=True)
class Factor:
    vol: float
    mean_drift: float
    drift_sd: float


FACTORS: dict[str, Factor] = {
    "market": Factor(vol=0.0082, mean_drift=0.00035, drift_sd=0.0003),
    "size": Factor(vol=0.0040, mean_drift=0.0, drift_sd=0.0004),
    "tech": Factor(vol=0.0050, mean_drift=0.0001, drift_sd=0.0004),
}
SECTOR_FACTOR = Factor(vol=0.0042, mean_drift=0.0, drift_sd=0.0003)
DRIFT_PERSISTENCE = 0.997

# Loadings for the symbols the project ships; anything an analyst adds gets defaults
# from its kind and role (see `_default_loadings`).
KNOWN: dict[str, Loadings] = {
    "RUT": Loadings(1.12, 1.00, -0.05, 0.0, 0.0022, 480.0, 2.0e9),
    "IXIC": Loadings(1.05, 0.10, 0.85, 0.0, 0.0015, 4000.0, 4.5e9),
    "NDX": Loadings(1.05, -0.20, 1.00, 0.0, 0.0018, 3700.0, 3.0e9),
    "SPX": Loadings(1.00, -0.05, 0.25, 0.0, 0.0010, 1450.0, 3.5e9),
    "IWM": Loadings(0, 0, 0, 0, 0.0003, 48.0, 2.5e7, tracks="RUT"),
    "QQQ": Loadings(0, 0, 0, 0, 0.0003, 90.0, 4.0e7, tracks="NDX"),
    "SPY": Loadings(0, 0, 0, 0, 0.0002, 145.0, 7.0e7, tracks="SPX"),
    "ONEQ": Loadings(0, 0, 0, 0, 0.0004, 80.0, 2.0e5, tracks="IXIC"),
    "RSP": Loadings(1.00, 0.35, -0.20, 0.0, 0.0016, 30.0, 3.0e6),
    "XLK": Loadings(1.12, -0.10, 0.90, 1.0, 0.0020, 40.0, 8.0e6),
    "XLC": Loadings(1.05, -0.05, 0.50, 1.0, 0.0025, 45.0, 4.0e6),
    "XLF": Loadings(1.10, 0.25, -0.20, 1.0, 0.0022, 28.0, 4.0e7),
    "XLI": Loadings(1.02, 0.20, -0.10, 1.0, 0.0020, 29.0, 1.0e7),
    "XLE": Loadings(0.90, 0.20, -0.30, 1.0, 0.0035, 27.0, 1.5e7),
    "XLY": Loadings(1.10, 0.15, 0.20, 1.0, 0.0022, 30.0, 5.0e6),
    "XLB": Loadings(1.00, 0.20, -0.15, 1.0, 0.0025, 24.0, 6.0e6),
    "XLV": Loadings(0.75, -0.05, 0.00, 1.0, 0.0020, 29.0, 8.0e6),
    "XLP": Loadings(0.60, -0.05, -0.10, 1.0, 0.0018, 25.0, 1.0e7),
    "XLU": Loadings(0.50, 0.00, -0.20, 1.0, 0.0025, 30.0, 1.0e7),
    "XLRE": Loadings(0.85, 0.15, -0.10, 1.0, 0.0028, 33.0, 5.0e6),
    "TXRH": Loadings(1.05, 0.70, -0.10, 0.8, 0.0200, 12.0, 1.0e6),
    "ANF": Loadings(1.25, 0.80, -0.10, 0.8, 0.0280, 25.0, 3.0e6),
    "PARR": Loadings(1.20, 0.90, -0.20, 0.9, 0.0280, 8.0, 1.0e6),
}


def _rng(stream: str) -> np.random.Generator:
    """A generator whose draws depend only on the stream's name."""
    return np.random.default_rng(np.random.SeedSequence([SEED, zlib.crc32(stream.encode())]))


def _normal(stream: str, n: int) -> np.ndarray:
    return _rng(stream).standard_normal(n)


def _fat_tailed(stream: str, n: int) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return _rng(stream).standard_t(T_DOF, n) * np.sqrt((T_DOF - 2.0) / T_DOF)


def _ar1(stream: str, n: int, phi: float, stationary_sd: float) -> np.ndarray:
    """x_t = phi * x_{t-1} + e_t with the given stationary standard deviation."""
    draws = _normal(stream, n)
    innovations = draws * stationary_sd * np.sqrt(1.0 - phi**2)
    # ewm(adjust=False) starts at its first input: make that a draw from the stationary law
    innovations[:1] = draws[:1] * stationary_sd * (1.0 - phi)
    smoothed = pd.Series(innovations / (1.0 - phi)).ewm(alpha=1.0 - phi, adjust=False).mean()
    return smoothed.to_numpy()


def _default_loadings(instrument: Instrument) -> Loadings:
    if instrument.kind == "stock":
        tech = 0.8 if instrument.sector == "Information Technology" else 0.0
        return Loadings(1.15, -0.10, tech, 1.0, 0.0190, 40.0, 2.0e7)
    if instrument.role == "small_cap":
        return Loadings(1.10, 0.95, 0.0, 0.0, 0.0025, 50.0, 5.0e6)
    if instrument.role == "tech":
        return Loadings(1.05, -0.10, 0.90, 0.0, 0.0020, 60.0, 5.0e6)
    if instrument.role == "sector":
        return Loadings(1.00, 0.10, 0.0, 1.0, 0.0022, 30.0, 5.0e6)
    return Loadings(1.00, 0.0, 0.10, 0.0, 0.0015, 60.0, 5.0e6)


def _loadings(instrument: Instrument) -> Loadings:
    return KNOWN.get(instrument.symbol) or _default_loadings(instrument)


@lru_cache(maxsize=8)
def _session_index(end: date) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(sessions_between(EPOCH, end))


@lru_cache(maxsize=8)
def _vol_regime(n: int) -> np.ndarray:
    """A volatility multiplier shared by every shock, mean about 1."""
    level = _ar1("regime:volatility", n, phi=0.985, stationary_sd=0.35)
    return np.exp(level - 0.35**2 / 2.0)


@lru_cache(maxsize=64)
def _factor_returns(name: str, n: int) -> np.ndarray:
    spec = FACTORS.get(name, SECTOR_FACTOR)
    drift = spec.mean_drift + _ar1(f"drift:{name}", n, DRIFT_PERSISTENCE, spec.drift_sd)
    return drift + spec.vol * _vol_regime(n) * _fat_tailed(f"factor:{name}", n)


class SampleProvider:
    """Deterministic prices, rates and estimates for any window after `EPOCH`."""

    name = SOURCE

    def __init__(self, context: "ProviderContext | Universe") -> None:
        self.universe = context if isinstance(context, Universe) else context.universe

    # -- prices -----------------------------------------------------------------------
    def _returns(self, symbol: str, n: int) -> np.ndarray:
        instrument = self._instrument(symbol)
        load = _loadings(instrument)
        # The idiosyncratic drift offsets volatility drag, so a stock does not sink to zero.
        shocks = 0.5 * load.idio_vol**2 + load.idio_vol * _vol_regime(n) * _fat_tailed(
            f"idio:{symbol}", n
        )
        if load.tracks:
            return self._returns(load.tracks, n) + shocks - 0.000_01
        total = load.market * _factor_returns("market", n)
        total = total + load.size * _factor_returns("size", n)
        total = total + load.tech * _factor_returns("tech", n)
        if load.sector and instrument.sector:
            total = total + load.sector * _factor_returns(f"sector:{instrument.sector}", n)
        return np.clip(total + shocks, -0.45, 0.45)

    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self.universe.instrument(symbol)
        except KeyError:
            raise ProviderError(f"sample: symbol {symbol!r} is not in the universe") from None

    def _symbol_frame(self, symbol: str, sessions: pd.DatetimeIndex) -> pd.DataFrame:
        n = len(sessions)
        load = _loadings(self._instrument(symbol))
        returns = self._returns(symbol, n)
        close = load.base_price * np.cumprod(1.0 + returns)
        previous = np.concatenate([[load.base_price], close[:-1]])
        day_vol = max(load.idio_vol, 0.008) * _vol_regime(n)
        gap = 0.25 * returns + 0.15 * day_vol * _normal(f"gap:{symbol}", n)
        open_ = previous * (1.0 + gap)
        reach_up = np.abs(_normal(f"high:{symbol}", n)) * 0.45 * day_vol
        reach_down = np.abs(_normal(f"low:{symbol}", n)) * 0.45 * day_vol
        high = np.maximum(open_, close) * (1.0 + reach_up)
        low = np.minimum(open_, close) * (1.0 - reach_down)
        activity = np.exp(0.25 * _normal(f"volume:{symbol}", n)) * (1.0 + 12.0 * np.abs(returns))
        close_r = np.round(close, 2)
        return pd.DataFrame(
            {
                "symbol": symbol,
                "session_date": sessions,
                "open": np.round(open_, 2),
                "high": np.round(high, 2),
                "low": np.maximum(np.round(low, 2), 0.01),
                "close": close_r,
                "adj_close": close_r,
                "volume": pd.array(np.round(load.base_volume * activity), dtype="Int64"),
                "source": SOURCE,
            }
        )

    def prices(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        _check_window(start, end)
        sessions = _session_index(end)
        keep = sessions >= pd.Timestamp(start)
        frames = [self._symbol_frame(s, sessions).loc[keep] for s in sorted(set(symbols))]
        return _concat(frames, ["symbol", "session_date"])

    # -- rates ------------------------------------------------------------------------
    def rates(self, series: list[str], start: date, end: date) -> pd.DataFrame:
        _check_window(start, end)
        unknown = sorted(set(series) - set(self.universe.series_ids))
        if unknown:
            raise ProviderError(f"sample: rate series {unknown} are not in rate_series.csv")
        paths = _rate_paths(end)
        frames = []
        for series_id in sorted(set(series)):
            values = paths[series_id]
            values = values[(values.index >= pd.Timestamp(start))]
            frames.append(
                pd.DataFrame(
                    {
                        "series_id": series_id,
                        "observation_date": values.index,
                        "value": values.to_numpy(),
                        "source": SOURCE,
                    }
                )
            )
        return _concat(frames, ["series_id", "observation_date"])

    # -- estimates --------------------------------------------------------------------
    def estimates(self, universes: list[str], start: date, end: date) -> pd.DataFrame:
        _check_window(start, end)
        unknown = sorted(set(universes) - set(self.universe.universe_names))
        if unknown:
            raise ProviderError(f"sample: estimate universes {unknown} are not in the seeds")
        snapshots = [d for d in _monthly_snapshot_dates(end) if d >= start]
        rows = [
            (universe, fiscal_year, as_of, _eps_growth(universe, fiscal_year, as_of))
            for universe in sorted(set(universes))
            for as_of in snapshots
            for fiscal_year in (as_of.year, as_of.year + 1)
        ]
        frame = pd.DataFrame(
            {
                "universe": pd.Series([r[0] for r in rows], dtype="str"),
                "fiscal_year": pd.Series([r[1] for r in rows], dtype="int64"),
                "as_of_date": pd.Series(
                    pd.to_datetime([r[2] for r in rows]), dtype="datetime64[ns]"
                ),
                "eps_growth_pct": pd.Series([r[3] for r in rows], dtype="float64"),
            }
        )
        frame["source"] = SOURCE
        return frame.sort_values(["universe", "fiscal_year", "as_of_date"], ignore_index=True)


def _check_window(start: date, end: date) -> None:
    if start < EPOCH:
        raise ProviderError(
            f"sample: the sample market starts on {EPOCH.isoformat()}, "
            f"cannot serve {start.isoformat()}"
        )
    check_window(SOURCE, start, end)


def _concat(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """The frames in key order, dates in nanoseconds (the session index is in seconds)."""
    frame = concat_sorted(frames, keys)
    dates = [c for c in frame.columns if str(frame[c].dtype).startswith("datetime64")]
    return frame if frame.empty else frame.astype(dict.fromkeys(dates, "datetime64[ns]"))


# -- the Fed and the Treasury curve ---------------------------------------------------
MEETING_DAYS = ((1, 31), (3, 20), (5, 3), (6, 14), (7, 26), (9, 20), (11, 1), (12, 13))
NEUTRAL_UPPER = 3.0
FIRST_UPPER = 5.75


def _meetings(end: date) -> list[tuple[date, date]]:
    """(decision, effective) dates: a decision on the first session on or after each
    scheduled day, taking effect on the next session, as FOMC changes do."""
    meetings = []
    for year in range(EPOCH.year, end.year + 1):
        for month, day in MEETING_DAYS:
            following = sessions_between(
                date(year, month, day), date(year, month, day) + timedelta(days=14)
            )
            if len(following) >= 2 and EPOCH <= following[0] <= end:
                meetings.append((following[0], following[1]))
    return meetings


def _policy_decisions(end: date) -> pd.DataFrame:
    """Target upper limit decided at each meeting, with the pressure that drove it."""
    meetings = _meetings(end)
    shocks = _normal("fed:pressure", len(meetings))
    upper, pressure = FIRST_UPPER, 0.0
    rows = []
    for (_decided, effective), shock in zip(meetings, shocks, strict=True):
        pressure = 0.7 * pressure + 0.6 * shock + 0.25 * (NEUTRAL_UPPER - upper)
        step = 0.0
        if pressure > 0.9:
            step = 0.25
        elif pressure < -1.8:
            step = -0.50
        elif pressure < -0.9:
            step = -0.25
        upper = float(np.clip(upper + step, 0.25, 8.0))
        rows.append((effective, upper, pressure))
    return pd.DataFrame(rows, columns=["effective", "upper", "pressure"])


@lru_cache(maxsize=4)
def _rate_paths(end: date) -> dict[str, pd.Series]:
    days = pd.date_range(EPOCH, end, freq="D")
    decisions = _policy_decisions(end)
    decisions = decisions.set_index(pd.DatetimeIndex(decisions["effective"]))
    stepped = decisions.reindex(days.union(decisions.index)).ffill().reindex(days)
    upper = stepped["upper"].fillna(FIRST_UPPER).to_numpy()
    pressure = stepped["pressure"].fillna(0.0).to_numpy()
    lower = upper - 0.25
    n = len(days)
    effective = lower + 0.08 + _ar1("fed:effective", n, 0.9, 0.03)
    effective = np.clip(effective, lower + 0.01, upper - 0.01)

    # the holidays of this range only: given the calendar, pandas computes 1970 to 2200
    holidays = USFederalHolidayCalendar().holidays(EPOCH, end)
    business = pd.date_range(EPOCH, end, freq=CustomBusinessDay(holidays=holidays))
    on_business = days.get_indexer(business)
    two_year = (
        upper[on_business]
        - 0.15
        + 0.35 * pressure[on_business]
        + _ar1("ust:2y", len(business), 0.995, 0.30)
    )
    two_year = np.clip(two_year, 0.05, None)
    # The curve flattens and inverts while the Fed leans towards hiking, as it tends to.
    term = 0.8 - 0.7 * pressure[on_business] + _ar1("ust:term", len(business), 0.998, 0.6)
    ten_year = np.clip(two_year + term, 0.3, None)

    def series(values: np.ndarray, index: pd.DatetimeIndex) -> pd.Series:
        return pd.Series(np.round(values, 2), index=index.astype("datetime64[ns]"))

    return {
        "DFEDTARU": series(upper, days),
        "DFEDTARL": series(lower, days),
        "DFF": series(effective, days),
        "DGS2": series(two_year, business),
        "DGS10": series(ten_year, business),
    }


# -- earnings estimates ---------------------------------------------------------------
BASE_GROWTH_PCT = {"russell_2000": 12.0, "sp500": 8.5, "nasdaq_100": 14.0}
# Small-cap estimates start optimistic and are cut as the year goes by.
MONTHLY_REVISION_DRIFT = {"russell_2000": -0.35, "sp500": -0.12, "nasdaq_100": -0.05}


def _monthly_snapshot_dates(end: date) -> list[date]:
    """The first session of every month from EPOCH's month to end."""
    sessions = pd.DatetimeIndex(sessions_between(EPOCH.replace(day=1), end))
    firsts = sessions.to_series().groupby(sessions.to_period("M")).min()
    return [day.date() for day in firsts]


def _eps_growth(universe: str, fiscal_year: int, as_of: date) -> float:
    """A fiscal year's estimate follows a revised walk from January of the year before."""
    month = (as_of.year - (fiscal_year - 1)) * 12 + as_of.month - 1
    draws = _normal(f"eps:{universe}:{fiscal_year}", 25)
    start = BASE_GROWTH_PCT.get(universe, 10.0) + 4.0 * draws[0]
    drift = MONTHLY_REVISION_DRIFT.get(universe, -0.1)
    path = start + np.cumsum(np.concatenate([[0.0], drift + 0.8 * draws[1:]]))
    return round(float(path[min(month, 24)]), 2)
