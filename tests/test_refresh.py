"""Refresh rules: one failing symbol loses nothing else, restatements reload a symbol's
history, a change of provider starts a key over, and the keys of a batch are validated
in one call only when each would pass alone."""

from datetime import date

import pandas as pd
import pytest

from ingestion.config import Settings
from ingestion.providers.base import ProviderError
from ingestion.providers.sample import SampleProvider
from ingestion.refresh import refresh_prices
from ingestion.runner import RefreshError, validated_together
from ingestion.schemas import PRICES, validate

QUIET = lambda _message: None  # noqa: E731


class FlakyMarket(SampleProvider):
    """The sample market, except that some symbols fail the way live providers do."""

    def __init__(self, universe, broken: dict[str, str]):
        super().__init__(universe)
        self.broken = broken
        self.calls: list[tuple[str, date, date]] = []

    def prices(self, symbols, start, end):
        self.calls.extend((s, start, end) for s in symbols)
        frame = super().prices(symbols, start, end)
        for symbol in symbols:
            fault = self.broken.get(symbol)
            if fault == "missing":
                raise ProviderError(f"test: no data for {symbol}")
            if fault == "zero_close":
                frame.loc[frame["symbol"] == symbol, "close"] = 0.0
        return frame


class RebasedMarket(SampleProvider):
    """Adjusted closes before `cut` are scaled, as after a dividend re-bases history."""

    name = "sample"

    def __init__(self, universe, symbol: str, cut: date, factor: float):
        super().__init__(universe)
        self.symbol, self.cut, self.factor = symbol, pd.Timestamp(cut), factor
        self.calls: list[tuple[date, date]] = []

    def prices(self, symbols, start, end):
        self.calls.append((start, end))
        frame = super().prices(symbols, start, end)
        rebased = (frame["symbol"] == self.symbol) & (frame["session_date"] < self.cut)
        frame.loc[rebased, "adj_close"] = (frame.loc[rebased, "adj_close"] * self.factor).round(4)
        return frame


def _settings(path, end="2024-03-28"):
    return Settings.from_env(
        {"WAREHOUSE_PATH": str(path), "HISTORY_START": "2024-01-02", "SAMPLE_END_DATE": end}
    )


def test_failing_symbols_are_logged_and_the_others_load(con, warehouse_path, universe):
    market = FlakyMarket(universe, {"ONEQ": "missing", "PARR": "zero_close"})
    report = refresh_prices(con, market, universe, _settings(warehouse_path), QUIET)

    assert sorted(report.failures) == ["ONEQ", "PARR"]
    assert "no data for ONEQ" in report.failures["ONEQ"]
    assert "PARR" in report.failures["PARR"]
    assert "greater_than(0)" in report.failures["PARR"]
    assert "FAILED for ONEQ, PARR" in report.summary()
    loaded = {row[0] for row in con.execute("select distinct symbol from raw.prices").fetchall()}
    assert loaded == set(universe.symbols) - {"ONEQ", "PARR"}
    outcomes = dict(
        con.execute("select scope, status from raw.load_log where asset = 'raw/prices'").fetchall()
    )
    assert outcomes["ONEQ"] == "failed"
    assert outcomes["PARR"] == "failed"
    assert outcomes["RUT"] == "success"
    assert len(outcomes) == len(universe.symbols)


def test_a_provider_failing_for_every_symbol_fails_the_refresh(con, warehouse_path, universe):
    market = FlakyMarket(universe, dict.fromkeys(universe.symbols, "missing"))
    with pytest.raises(RefreshError, match=r"every key failed for raw\.prices"):
        refresh_prices(con, market, universe, _settings(warehouse_path), QUIET)
    assert con.execute("select count(*) from raw.prices").fetchone() == (0,)


def test_a_rebased_adjusted_history_reloads_the_whole_symbol(con, warehouse_path, universe):
    refresh_prices(con, SampleProvider(universe), universe, _settings(warehouse_path), QUIET)
    (before,) = con.execute(
        "select adj_close from raw.prices where symbol = 'IWM' and session_date = '2024-01-02'"
    ).fetchone()

    # A dividend on 2024-03-25: every earlier adjusted close is scaled by 0.99.
    market = RebasedMarket(universe, "IWM", date(2024, 3, 25), 0.99)
    later = _settings(warehouse_path, "2024-04-05")
    report = refresh_prices(con, market, universe, later, QUIET)

    assert report.restated == ["IWM"]
    # The lookback window first, then IWM's whole history from its first stored session.
    assert (date(2024, 1, 2), date(2024, 4, 5)) in market.calls
    (after,) = con.execute(
        "select adj_close from raw.prices where symbol = 'IWM' and session_date = '2024-01-02'"
    ).fetchone()
    assert after == pytest.approx(round(before * 0.99, 4))
    status, updated = con.execute(
        "select status, rows_updated from raw.load_log where scope = 'IWM' "
        "order by started_at desc limit 1"
    ).fetchone()
    assert status == "restated"
    # Sessions 2024-01-02 .. 2024-03-22 changed basis: January 21, February 20, March 16.
    assert updated == 57
    # Other symbols kept their basis and only grew by the new sessions.
    (spy_restated,) = con.execute(
        "select count(*) from raw.load_log where scope = 'SPY' and status = 'restated'"
    ).fetchone()
    assert spy_restated == 0


def test_a_new_provider_starts_each_key_over(con, warehouse_path, universe):
    refresh_prices(con, SampleProvider(universe), universe, _settings(warehouse_path), QUIET)

    class Other(FlakyMarket):
        name = "other"

    market = Other(universe, {})
    refresh_prices(con, market, universe, _settings(warehouse_path, "2024-04-05"), QUIET)
    assert {start for _symbol, start, _end in market.calls} == {date(2024, 1, 2)}


class UnstorableSource(SampleProvider):
    """The sample market, except that one symbol's rows name a source the warehouse cannot
    store: a lone surrogate (what bytes decoded with surrogateescape leave) passes the frame
    schema but cannot be written as UTF-8, so the load fails inside the loader."""

    def __init__(self, universe, symbol: str):
        super().__init__(universe)
        self.symbol = symbol

    def prices(self, symbols, start, end):
        frame = super().prices(symbols, start, end)
        frame.loc[frame["symbol"] == self.symbol, "source"] = "sample\udc80"
        return frame


def test_a_load_failing_in_the_loader_is_logged_once(con, warehouse_path, universe):
    refresh_prices(con, SampleProvider(universe), universe, _settings(warehouse_path), QUIET)
    stored = "select * from raw.prices where symbol = 'RUT' order by all"
    before = con.execute(stored).fetchall()

    market = UnstorableSource(universe, "RUT")
    report = refresh_prices(con, market, universe, _settings(warehouse_path, "2024-04-05"), QUIET)

    assert list(report.failures) == ["RUT"]
    assert "loading 11 rows into raw.prices" in report.failures["RUT"]
    failed = con.execute(
        "select rows_received, window_start, window_end from raw.load_log "
        "where asset = 'raw/prices' and scope = 'RUT' and status = 'failed'"
    ).fetchall()
    # The lookback from 2024-03-28 starts on 2024-03-21: 11 sessions to 2024-04-05.
    assert failed == [(11, date(2024, 3, 21), date(2024, 4, 5))]
    assert con.execute(stored).fetchall() == before
    assert con.execute(
        "select count(*) from raw.load_log where scope = 'SPY' and status = 'success'"
    ).fetchone() == (2,)


def _fetched(universe, count: int) -> dict[str, pd.DataFrame]:
    market = SampleProvider(universe)
    return {
        symbol: market.prices([symbol], date(2024, 1, 2), date(2024, 3, 28))
        for symbol in universe.symbols[:count]
    }


def test_the_keys_of_a_batch_are_validated_in_one_call_as_each_would_be_alone(universe):
    fetched = _fetched(universe, 3)
    together = validated_together(fetched, PRICES, "sample")
    assert list(together) == list(fetched)
    for symbol, frame in fetched.items():
        assert len(together[symbol]) == len(frame) > 50
        pd.testing.assert_frame_equal(together[symbol], validate(frame, PRICES, "sample"))


def test_a_batch_with_a_bad_frame_leaves_each_key_to_be_validated_alone(universe):
    fetched = _fetched(universe, 3)
    first, second, third = fetched
    fetched[second].loc[5, "close"] = 0.0
    assert validated_together(fetched, PRICES, "sample") == {}

    # a frame without a column (filled with nulls among the others, refused alone)
    fetched = _fetched(universe, 3)
    fetched[third] = fetched[third].drop(columns="adj_close")
    assert validated_together(fetched, PRICES, "sample") == {}

    # what the provider raised, and a frame without rows, are left out of the batch
    fetched = _fetched(universe, 4)
    fetched[first] = ProviderError("test: no data")
    fetched[second] = fetched[second].iloc[0:0]
    assert list(validated_together(fetched, PRICES, "sample")) == list(fetched)[2:]
