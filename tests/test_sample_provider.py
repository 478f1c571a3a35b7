"""The sample market: deterministic, window-independent, on the XNYS calendar, realistic."""

from datetime import date, timedelta

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from ingestion.providers import get_provider
from ingestion.providers.base import MarketDataProvider, ProviderError
from ingestion.providers.sample import EPOCH, SampleProvider
from ingestion.schemas import ESTIMATES, PRICES, RATES, validate
from ingestion.universe import load_universe

START = date(2015, 1, 1)
END = date(2024, 12, 31)
INDEXES = ["RUT", "IXIC", "NDX", "SPX"]
UNIVERSES = ["russell_2000", "sp500", "nasdaq_100"]
SERIES = ["DFEDTARL", "DFEDTARU", "DFF", "DGS2", "DGS10"]


@pytest.fixture(scope="module")
def shipped():
    return load_universe()


@pytest.fixture(scope="module")
def provider(shipped):
    return SampleProvider(shipped)


@pytest.fixture(scope="module")
def reference():
    return xcals.get_calendar("XNYS", start="2014-01-01", end="2025-12-31")


def _xnys_sessions(reference, start, end):
    return pd.DatetimeIndex(
        reference.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    ).astype("datetime64[ns]")


@pytest.fixture(scope="module")
def prices(provider, shipped):
    """Every shipped symbol over 2015-2024."""
    return provider.prices(shipped.symbols, START, END)


@pytest.fixture(scope="module")
def closes(prices):
    return prices.pivot(index="session_date", columns="symbol", values="close")


@pytest.fixture(scope="module")
def returns(closes):
    return closes.pct_change().iloc[1:]


@pytest.fixture(scope="module")
def rates(provider):
    return provider.rates(SERIES, START, END)


@pytest.fixture(scope="module")
def estimates(provider):
    return provider.estimates(UNIVERSES, START, END)


def _series(rates, series_id):
    return rates.loc[rates["series_id"] == series_id].set_index("observation_date")["value"]


def _digest(frame):
    return int(pd.util.hash_pandas_object(frame, index=True).sum())


def test_is_a_registered_provider(shipped):
    provider = get_provider("sample", shipped)
    assert isinstance(provider, SampleProvider)
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "sample"


# -- determinism ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "keys"),
    [
        ("prices", ["SPX", "RUT", "AAPL", "IWM", "XLE"]),
        ("rates", SERIES),
        ("estimates", UNIVERSES),
    ],
)
def test_same_arguments_give_identical_frames(shipped, method, keys):
    start, end = date(2023, 1, 1), date(2024, 6, 28)
    first_provider, second_provider = SampleProvider(shipped), SampleProvider(load_universe())
    frames = [
        getattr(first_provider, method)(keys, start, end),
        getattr(first_provider, method)(list(reversed(keys)), start, end),
        getattr(second_provider, method)(keys, start, end),
    ]
    assert len(frames[0]) > 0
    digests = {_digest(f) for f in frames}
    assert len(digests) == 1
    assert frames[0].equals(frames[1])
    assert frames[0].equals(frames[2])


# -- window and request independence ----------------------------------------------------
def test_prices_do_not_depend_on_the_window(provider):
    symbols = ["SPX", "RUT", "QQQ", "NVDA", "XLU"]
    short = provider.prices(symbols, date(2023, 1, 3), date(2023, 6, 30))
    long = provider.prices(symbols, date(2022, 6, 1), date(2023, 12, 29))
    in_short = (long["session_date"] >= "2023-01-03") & (long["session_date"] <= "2023-06-30")
    sliced = long.loc[in_short].reset_index(drop=True)
    assert len(short) == 5 * 124
    pd.testing.assert_frame_equal(short, sliced)


def test_rates_and_estimates_do_not_depend_on_the_window(provider):
    short = provider.rates(SERIES, date(2023, 1, 3), date(2023, 6, 30))
    long = provider.rates(SERIES, date(2022, 6, 1), date(2023, 12, 29))
    in_short = (long["observation_date"] >= "2023-01-03") & (
        long["observation_date"] <= "2023-06-30"
    )
    pd.testing.assert_frame_equal(short, long.loc[in_short].reset_index(drop=True))

    short = provider.estimates(UNIVERSES, date(2023, 1, 3), date(2023, 6, 30))
    long = provider.estimates(UNIVERSES, date(2022, 6, 1), date(2023, 12, 29))
    in_short = (long["as_of_date"] >= "2023-01-03") & (long["as_of_date"] <= "2023-06-30")
    pd.testing.assert_frame_equal(short, long.loc[in_short].reset_index(drop=True))


def test_adding_a_symbol_does_not_change_the_others(provider):
    start, end = date(2024, 1, 2), date(2024, 6, 28)
    few = provider.prices(["SPX", "AAPL"], start, end)
    more = provider.prices(["SPX", "AAPL", "RUT", "SPY", "XLK"], start, end)
    kept = more.loc[more["symbol"].isin(["SPX", "AAPL"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(few, kept)
    alone = provider.prices(["AAPL"], start, end)
    pd.testing.assert_frame_equal(alone, few.loc[few["symbol"] == "AAPL"].reset_index(drop=True))


def test_symbols_have_different_paths(closes):
    assert not np.allclose(closes["SPX"].pct_change().iloc[1:], closes["RUT"].pct_change().iloc[1:])
    assert closes.loc["2024-12-31"].nunique() == closes.shape[1]


# -- calendar ---------------------------------------------------------------------------
def test_sessions_are_xnys_sessions(prices, reference):
    expected = _xnys_sessions(reference, START, END)
    assert len(expected) == 2516
    for symbol, frame in prices.groupby("symbol"):
        got = pd.DatetimeIndex(frame["session_date"])
        assert got.equals(expected), symbol
    assert pd.Timestamp("2024-07-04") not in set(prices["session_date"])
    assert pd.Timestamp("2024-07-05") in set(prices["session_date"])


def test_short_window_on_a_holiday(provider):
    frame = provider.prices(["SPX"], date(2024, 7, 3), date(2024, 7, 8))
    assert frame["session_date"].dt.date.tolist() == [
        date(2024, 7, 3),
        date(2024, 7, 5),
        date(2024, 7, 8),
    ]


def test_frame_shape(prices, shipped):
    assert list(prices.columns) == list(PRICES.columns)
    assert str(prices["session_date"].dtype) == "datetime64[ns]"
    assert str(prices["volume"].dtype) == "Int64"
    assert sorted(prices["symbol"].unique()) == sorted(shipped.symbols)
    ordered = prices.sort_values(["symbol", "session_date"], ignore_index=True)
    assert prices.equals(ordered)
    assert prices.index.equals(pd.RangeIndex(len(prices)))


# -- OHLC -------------------------------------------------------------------------------
def test_ohlc_consistency(prices):
    upper = prices[["open", "close"]].max(axis=1)
    lower = prices[["open", "close"]].min(axis=1)
    assert (prices["high"] >= upper).all()
    assert (upper >= lower).all()
    assert (lower >= prices["low"]).all()
    assert (prices["low"] > 0).all()
    assert (prices["volume"] > 0).all()
    assert prices[["open", "high", "low", "close", "adj_close", "volume"]].notna().all().all()
    assert (prices["adj_close"] == prices["close"]).all()
    assert (prices["source"] == "sample").all()
    # prices are in cents
    assert np.allclose(prices["close"], prices["close"].round(2))
    # the bar has a range: high above low on almost every row
    assert (prices["high"] > prices["low"]).mean() > 0.95


def test_prices_validate(prices):
    checked = validate(prices, PRICES, "sample")
    assert len(checked) == len(prices) == 36 * 2516


# -- realism ----------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", INDEXES)
def test_index_volatility(returns, symbol):
    assert 0.007 <= returns[symbol].std() <= 0.016


def test_stock_volatility(returns, shipped):
    stocks = [i.symbol for i in shipped.instruments if i.kind == "stock"]
    assert len(stocks) == 16
    vols = returns[stocks].std()
    assert (vols >= 0.015).all(), vols[vols < 0.015]
    assert (vols <= 0.04).all(), vols[vols > 0.04]
    # stocks swing more than any index
    assert vols.min() > returns[INDEXES].std().max()


def test_etfs_track_their_index(returns):
    for etf, index in [("IWM", "RUT"), ("QQQ", "NDX"), ("SPY", "SPX"), ("ONEQ", "IXIC")]:
        assert returns[etf].corr(returns[index]) > 0.98, etf


def _sign_changes(values):
    signs = np.sign(values[values != 0])
    return int((np.diff(signs) != 0).sum())


def test_rut_and_spx_diverge(returns):
    correlation = returns["RUT"].corr(returns["SPX"])
    assert 0.5 <= correlation <= 0.98
    growth = (1.0 + returns[["RUT", "SPX"]]).rolling(63).apply(np.prod, raw=True) - 1.0
    spread = (growth["RUT"] - growth["SPX"]).dropna().to_numpy()
    assert spread.max() > 0 > spread.min()
    assert _sign_changes(spread) >= 4


def test_sector_leadership_rotates(closes, shipped):
    sectors = [i.symbol for i in shipped.instruments if i.role == "sector"]
    assert len(sectors) == 11
    quarter = (closes[sectors] / closes[sectors].shift(63) - 1.0).dropna()
    leaders = quarter.iloc[::21].idxmax(axis=1)
    assert leaders.nunique() >= 4
    assert leaders.value_counts().iloc[0] < 0.5 * len(leaders)


# -- rates ------------------------------------------------------------------------------
def test_target_range_is_25bp_wide(rates):
    upper, lower = _series(rates, "DFEDTARU"), _series(rates, "DFEDTARL")
    assert upper.index.equals(lower.index)
    assert ((upper - lower).round(2) == 0.25).all()
    assert (lower >= 0).all()


def test_target_moves_in_quarter_points(rates):
    upper = _series(rates, "DFEDTARU")
    changes = upper.diff().dropna().round(2)
    changes = changes[changes != 0]
    quarters = changes / 0.25
    assert np.allclose(quarters, quarters.round())
    assert (quarters.round() != 0).all()
    assert len(changes) >= 5
    assert (changes < 0).any()
    assert (changes > 0).any()


def test_effective_rate_inside_the_range(rates):
    upper, lower = _series(rates, "DFEDTARU"), _series(rates, "DFEDTARL")
    effective = _series(rates, "DFF")
    assert effective.index.equals(upper.index)
    assert (effective >= lower).all()
    assert (effective <= upper).all()


@pytest.mark.parametrize("series_id", ["DFEDTARL", "DFEDTARU", "DFF"])
def test_daily_series_have_every_calendar_day(rates, series_id):
    values = _series(rates, series_id)
    days = pd.date_range(START, END, freq="D")
    assert len(days) == 3653
    assert values.index.equals(days)


@pytest.mark.parametrize("series_id", ["DGS2", "DGS10"])
def test_treasury_yields_on_business_days_only(rates, series_id):
    values = _series(rates, series_id)
    assert len(values) > 2400
    assert not values.index.dayofweek.isin([5, 6]).any()
    assert pd.Timestamp("2024-07-04") not in values.index
    assert pd.Timestamp("2024-12-25") not in values.index
    assert pd.Timestamp("2024-07-05") in values.index
    assert values.index.is_monotonic_increasing
    assert (values > 0).all()


def test_rates_validate(rates):
    checked = validate(rates, RATES, "sample")
    assert sorted(checked["series_id"].unique()) == sorted(SERIES)
    assert (checked["source"] == "sample").all()


# -- estimates --------------------------------------------------------------------------
def test_estimates_snapshot_on_the_first_session_of_each_month(estimates, reference):
    as_of = sorted(set(estimates["as_of_date"].dt.date))
    assert len(as_of) == 120
    sessions = _xnys_sessions(reference, START, END)
    first = pd.Series(sessions, index=sessions).groupby(sessions.to_period("M")).min()
    assert as_of == [ts.date() for ts in first]
    assert date(2024, 7, 1) in as_of
    assert date(2024, 9, 3) in as_of  # 2024-09-02 was Labor Day
    assert date(2024, 9, 2) not in as_of
    assert date(2015, 1, 2) in as_of  # 2015-01-01 was New Year's Day


def test_estimates_cover_this_year_and_next(estimates):
    for (universe, as_of), group in estimates.groupby(["universe", "as_of_date"]):
        assert sorted(group["fiscal_year"]) == [as_of.year, as_of.year + 1], (universe, as_of)
    assert sorted(estimates["universe"].unique()) == sorted(UNIVERSES)
    assert len(estimates) == 3 * 120 * 2


def test_estimates_are_revised(estimates):
    fy2024 = estimates.loc[
        (estimates["universe"] == "sp500") & (estimates["fiscal_year"] == 2024), "eps_growth_pct"
    ]
    assert len(fy2024) == 24  # monthly through 2023 and 2024
    assert fy2024.nunique() > 12


def test_estimates_validate(estimates):
    checked = validate(estimates, ESTIMATES, "sample")
    assert str(checked["fiscal_year"].dtype) == "int64"
    assert (checked["source"] == "sample").all()


# -- errors -----------------------------------------------------------------------------
def test_unknown_symbol(provider):
    with pytest.raises(ProviderError, match="'NOPE'"):
        provider.prices(["SPX", "NOPE"], date(2024, 1, 2), date(2024, 1, 5))


def test_start_before_epoch(provider):
    too_early = EPOCH - timedelta(days=1)
    assert too_early == date(2000, 1, 2)
    for method, keys in [("prices", ["SPX"]), ("rates", ["DFF"]), ("estimates", ["sp500"])]:
        with pytest.raises(ProviderError, match="cannot serve 2000-01-02") as info:
            getattr(provider, method)(keys, too_early, date(2000, 2, 1))
        assert "starts on 2000-01-03" in str(info.value)


def test_epoch_itself_is_served(provider):
    frame = provider.prices(["SPX"], EPOCH, date(2000, 1, 7))
    assert frame["session_date"].dt.date.tolist()[0] == date(2000, 1, 3)
    assert len(frame) == 5


def test_end_before_start(provider):
    with pytest.raises(ProviderError, match="before its start"):
        provider.prices(["SPX"], date(2024, 2, 1), date(2024, 1, 31))


def test_unknown_rate_series(provider):
    with pytest.raises(ProviderError, match="SOFR"):
        provider.rates(["DFF", "SOFR"], date(2024, 1, 2), date(2024, 1, 5))


def test_unknown_universe(provider):
    with pytest.raises(ProviderError, match="russell_3000"):
        provider.estimates(["sp500", "russell_3000"], date(2024, 1, 2), date(2024, 3, 5))


def test_empty_request(provider):
    assert provider.prices([], date(2024, 1, 2), date(2024, 1, 5)).empty


def test_window_without_sessions_gives_a_valid_empty_frame(provider):
    weekend = provider.prices(["SPX"], date(2024, 7, 6), date(2024, 7, 7))
    assert weekend.empty
    assert validate(weekend, PRICES, "sample").empty
    no_yields = provider.rates(["DGS2"], date(2024, 7, 6), date(2024, 7, 7))
    assert no_yields.empty
    assert validate(no_yields, RATES, "sample").empty


def test_estimates_window_without_a_snapshot_gives_a_valid_empty_frame(provider):
    frame = provider.estimates(["sp500"], date(2024, 7, 2), date(2024, 7, 20))
    assert frame.empty
    assert validate(frame, ESTIMATES, "sample").empty
