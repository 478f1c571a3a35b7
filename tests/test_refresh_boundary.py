"""Rows a refresh refuses before loading, one key at a time: rows outside the window asked
for, and prices whose daily return leaves the bounds the warehouse tests. The key fails
with provider, symbol and dates named; nothing of it is stored; the other keys load."""

from datetime import date

import pandas as pd
import pytest

from ingestion.boundary import (
    BoundaryError,
    adjustment_changed,
    check_returns,
    symbols_adjusted,
    symbols_out_of_bounds,
)
from ingestion.config import Settings
from ingestion.providers.sample import SampleProvider
from ingestion.refresh import refresh_prices, refresh_rates
from ingestion.schemas import PRICES, validate

QUIET = lambda _message: None  # noqa: E731


def _settings(path, end: str = "2024-03-28") -> Settings:
    return Settings.from_env(
        {"WAREHOUSE_PATH": str(path), "HISTORY_START": "2024-01-02", "SAMPLE_END_DATE": end}
    )


class EditedMarket(SampleProvider):
    """The sample market with RUT's price on some sessions multiplied, or a bar added."""

    def __init__(self, universe, scale: dict[str, float] | None = None, extra: str = ""):
        super().__init__(universe)
        self.scale, self.extra = scale or {}, extra

    def prices(self, symbols, start, end):
        frame = super().prices(symbols, start, end)
        rut = frame["symbol"] == "RUT"
        for day, factor in self.scale.items():
            rows = rut & (frame["session_date"] == pd.Timestamp(day))
            frame.loc[rows, ["open", "high", "low", "close", "adj_close"]] *= factor
        if self.extra and rut.any():
            bar = frame[rut].head(1).assign(session_date=pd.Timestamp(self.extra))
            frame = pd.concat([bar, frame], ignore_index=True)
        return frame


def _rut(con) -> list[tuple]:
    return con.execute("select * from raw.prices where symbol = 'RUT' order by all").fetchall()


def _price(con, day: str) -> float:
    (price,) = con.execute(
        "select coalesce(adj_close, close) from raw.prices "
        "where symbol = 'RUT' and session_date = ?",
        [day],
    ).fetchone()
    return price


def test_a_price_jump_beyond_the_warehouse_bounds_fails_that_symbol(con, warehouse_path, universe):
    refresh_prices(con, SampleProvider(universe), universe, _settings(warehouse_path), QUIET)
    before = _rut(con)
    # The next week, one bar of RUT comes eleven and a half times too high (a wrong unit).
    market = EditedMarket(universe, scale={"2024-04-02": 11.5})
    report = refresh_prices(con, market, universe, _settings(warehouse_path, "2024-04-05"), QUIET)
    sample = SampleProvider(universe).prices(["RUT"], date(2024, 4, 1), date(2024, 4, 2))
    monday, tuesday = sample["adj_close"].fillna(sample["close"]).tolist()
    tuesday *= 11.5
    assert report.failures == {
        "RUT": "provider 'sample': symbol 'RUT': 1 daily return(s) outside -95% .. +1000%, the "
        "bounds the warehouse tests (price = adj_close, else close): "
        f"2024-04-01 {monday:.10g} -> 2024-04-02 {tuesday:.10g} ({tuesday / monday - 1:+.2%})"
    }
    assert tuesday / monday - 1 > 10
    assert _rut(con) == before
    others = con.execute(
        "select count(distinct symbol) from raw.prices where session_date = '2024-04-05'"
    ).fetchone()
    assert others == (len(universe.symbols) - 1,)


def test_a_restated_bar_is_judged_against_the_stored_sessions_after_it(
    con, warehouse_path, universe
):
    """A backfill of an older range: the return into the stored session after it counts."""
    refresh_prices(con, SampleProvider(universe), universe, _settings(warehouse_path), QUIET)
    before = _rut(con)
    stored_next = _price(con, "2024-02-16")
    market = EditedMarket(universe, scale={"2024-02-15": 0.04})
    report = refresh_prices(
        con,
        market,
        universe,
        _settings(warehouse_path, "2024-02-15"),
        QUIET,
        window_start=date(2024, 2, 1),
    )
    message = report.failures["RUT"]
    assert "2 daily return(s)" in message
    assert f"-> 2024-02-16 {stored_next:.10g} " in message  # from the new bar to the stored one
    assert _rut(con) == before
    assert sorted(report.failures) == ["RUT"]


def test_a_drop_of_more_than_95_percent_fails_and_95_percent_loads(con, warehouse_path, universe):
    refresh_prices(con, SampleProvider(universe), universe, _settings(warehouse_path), QUIET)
    last = _price(con, "2024-03-28")
    # 2024-04-01 at 5.5 % of the stored price: a -94.5 % return, inside the bounds, but
    # 2024-04-02 comes back at full price, +1718 %: refused.
    market = EditedMarket(universe, scale={"2024-04-01": 0.055})
    report = refresh_prices(con, market, universe, _settings(warehouse_path, "2024-04-01"), QUIET)
    assert report.failures == {}
    assert _price(con, "2024-04-01") / last - 1 == pytest.approx(-0.945, abs=1e-3)
    report = refresh_prices(con, market, universe, _settings(warehouse_path, "2024-04-02"), QUIET)
    assert list(report.failures) == ["RUT"]
    assert "1 daily return(s)" in report.failures["RUT"]
    assert " -> 2024-04-02 " in report.failures["RUT"]


def test_a_row_outside_the_window_asked_for_fails_that_key(con, warehouse_path, universe):
    market = EditedMarket(universe, extra="2023-12-29")  # before HISTORY_START
    report = refresh_prices(con, market, universe, _settings(warehouse_path), QUIET)
    assert report.failures == {
        "RUT": "provider 'sample': RUT: 1 row(s) outside the window asked for, 2024-01-02 .. "
        "2024-03-28: session_date 2023-12-29"
    }
    assert _rut(con) == []
    (symbols,) = con.execute("select count(distinct symbol) from raw.prices").fetchone()
    assert symbols == len(universe.symbols) - 1


class LateRates(SampleProvider):
    """Rates with one DGS2 observation after the window end."""

    def rates(self, series, start, end):
        frame = super().rates(series, start, end)
        late = frame[frame["series_id"] == "DGS2"].tail(1)
        late = late.assign(observation_date=pd.Timestamp(end) + pd.Timedelta(days=3))
        return pd.concat([frame, late], ignore_index=True)


def test_a_rate_after_the_window_fails_that_series(con, warehouse_path, universe):
    report = refresh_rates(con, LateRates(universe), universe, _settings(warehouse_path), QUIET)
    assert report.failures == {
        "DGS2": "provider 'sample': DGS2: 1 row(s) outside the window asked for, 2024-01-02 "
        ".. 2024-03-28: observation_date 2024-03-31"
    }
    (series,) = con.execute("select count(distinct series_id) from raw.rates").fetchone()
    assert series == len(universe.series_ids) - 1


class WrongSymbol(SampleProvider):
    """Answers a question about RUT with SPX's rows, as a mixed-up code mapping would."""

    def prices(self, symbols, start, end):
        asked = ["SPX" if s == "RUT" else s for s in symbols]
        return super().prices(asked, start, end)


def test_rows_of_another_key_fail_the_key_asked_for(con, warehouse_path, universe):
    report = refresh_prices(con, WrongSymbol(universe), universe, _settings(warehouse_path), QUIET)
    expected = "provider 'sample': RUT: asked for RUT but got rows of symbol SPX"
    assert report.failures == {"RUT": expected}
    assert _rut(con) == []
    (spx_loads,) = con.execute(
        "select count(*) from raw.load_log where scope = 'SPX' and status = 'success'"
    ).fetchone()
    assert spx_loads == 1  # SPX loaded once, under its own name


class EditedRates(SampleProvider):
    """Sample rates with one series' values replaced on some dates."""

    def __init__(self, universe, series_id: str, values: dict[str, float]):
        super().__init__(universe)
        self.series_id, self.values = series_id, values

    def rates(self, series, start, end):
        frame = super().rates(series, start, end)
        for day, value in self.values.items():
            rows = (frame["series_id"] == self.series_id) & (
                frame["observation_date"] == pd.Timestamp(day)
            )
            frame.loc[rows, "value"] = value
        return frame


def _rates(con, series_id: str) -> list[tuple]:
    return con.execute(
        "select * from raw.rates where series_id = ? order by all", [series_id]
    ).fetchall()


def test_a_rate_the_blocking_check_would_refuse_fails_that_series(con, warehouse_path, universe):
    """30 % is inside the dbt test's -5 .. 50 but not the raw check's -1 .. 25."""
    market = EditedRates(universe, "DGS10", {"2024-03-05": 30.0})
    report = refresh_rates(con, market, universe, _settings(warehouse_path), QUIET)
    assert report.failures == {
        "DGS10": "provider 'sample' returned an invalid rates frame (1 problem(s)):\n  - row 43 "
        "(series_id=DGS10, observation_date=2024-03-05): column 'value' failed "
        "in_range(-1.0, 25.0) (value 30.0)"
    }
    assert _rates(con, "DGS10") == []
    (series,) = con.execute("select count(distinct series_id) from raw.rates").fetchone()
    assert series == len(universe.series_ids) - 1


def test_a_target_range_upside_down_fails_the_series_loaded_second(con, warehouse_path, universe):
    settings = _settings(warehouse_path)
    refresh_rates(con, SampleProvider(universe), universe, settings, QUIET)
    (upper,) = con.execute(
        "select value from raw.rates where series_id = 'DFEDTARU' and observation_date = "
        "'2024-03-27'"
    ).fetchone()
    before = _rates(con, "DFEDTARL")
    # The lower limit restated up to the upper one: the range would be empty.
    market = EditedRates(universe, "DFEDTARL", {"2024-03-27": upper})
    report = refresh_rates(con, market, universe, _settings(warehouse_path), QUIET)
    assert report.failures == {
        "DFEDTARL": "provider 'sample': series 'DFEDTARL': the target range's lower limit "
        "DFEDTARL is not below its upper limit DFEDTARU (stored) on 1 date(s): 2024-03-27 "
        f"(DFEDTARL {upper:g}, DFEDTARU {upper:g})"
    }
    assert _rates(con, "DFEDTARL") == before

    # The same seen from the other side: an upper limit restated down to the lower one.
    (lower,) = con.execute(
        "select value from raw.rates where series_id = 'DFEDTARL' and observation_date = "
        "'2024-03-27'"
    ).fetchone()
    market = EditedRates(universe, "DFEDTARU", {"2024-03-27": lower - 0.25})
    report = refresh_rates(con, market, universe, _settings(warehouse_path), QUIET)
    assert list(report.failures) == ["DFEDTARU"]
    assert (
        f"2024-03-27 (DFEDTARL {lower:g}, DFEDTARU {lower - 0.25:g})"
        in (report.failures["DFEDTARU"])
    )


def _refused(con, symbol: str, frame: pd.DataFrame) -> bool:
    try:
        check_returns(con, "sample", symbol, frame)
    except BoundaryError:
        return True
    return False


def test_the_batch_screen_names_the_symbols_each_check_alone_would(con, warehouse_path, universe):
    """The one-query screens of a batch name the symbols that `check_returns` and
    `adjustment_changed` refuse frame by frame (no symbol's rows count for another's), and
    the planted ones: jumps into and out of new and restated bars, across a stored gap, out
    of a restated start of history; not a whole history restated in step, nor returns at
    the bounds; adjusted closes changed, or missing."""
    refresh_prices(con, SampleProvider(universe), universe, _settings(warehouse_path), QUIET)
    # a stored gap: IWM's sessions of 2024-03-25 .. 03-27 are gone, so the first bar of its
    # frame (03-28 on) is judged against 03-22
    con.execute(
        "delete from raw.prices where symbol = 'IWM' and session_date between '2024-03-25' "
        "and '2024-03-27'"
    )
    fetched = SampleProvider(universe).prices(
        ["SPX", "RUT", "QQQ", "NDX", "XLK", "XLF", "XLE", "XLI"],
        date(2024, 3, 20),
        date(2024, 4, 5),
    )
    frames = {
        symbol: validate(rows.reset_index(drop=True), PRICES, "sample")
        for symbol, rows in fetched.groupby("symbol")
    }
    market = SampleProvider(universe)
    # ONEQ: its whole stored history and the new sessions, all at 4 %: no return changes
    # RSP: its first four stored sessions at 4 %, judged only by the return out of them
    for symbol, start, end in (
        ("ONEQ", "2024-01-02", "2024-04-05"),
        ("RSP", "2024-01-02", "2024-01-05"),
        ("IWM", "2024-03-28", "2024-04-05"),
    ):
        rows = market.prices([symbol], date.fromisoformat(start), date.fromisoformat(end))
        frames[symbol] = validate(rows, PRICES, "sample")
    price_columns = ["open", "high", "low", "close", "adj_close"]
    for symbol in ("ONEQ", "RSP", "XLI"):  # XLI: all of it at 4 %, judged by the return in
        frames[symbol][price_columns] *= 0.04

    def scale(symbol: str, day: str, factor: float) -> None:
        frame = frames[symbol]
        frame.loc[frame["session_date"] == pd.Timestamp(day), price_columns] *= factor

    [(iwm_before_gap,)] = con.execute(
        "select coalesce(adj_close, close) from raw.prices "
        "where symbol = 'IWM' and session_date = '2024-03-22'"
    ).fetchall()
    # +1100 % against 03-22, the stored session before the gap; the rest of IWM in step
    frames["IWM"][price_columns] *= iwm_before_gap * 12 / frames["IWM"]["adj_close"].iloc[0]
    scale("RUT", "2024-04-02", 11.5)  # a new bar too high: into it and out of it
    scale("QQQ", "2024-03-21", 0.04)  # a restated bar: adjusted close changed, and a jump
    # at the bounds exactly: NDX -95 % and SPY +1000 % from a stored 100 on 2024-03-28
    con.execute(
        "update raw.prices set close = 100, adj_close = 100 "
        "where symbol in ('NDX', 'SPY') and session_date = '2024-03-28'"
    )
    for symbol, price in (("NDX", 5.0), ("SPY", 1100.0)):
        rows = market.prices([symbol], date(2024, 4, 1), date(2024, 4, 1))
        frames[symbol] = validate(rows.assign(**dict.fromkeys(price_columns, price)), PRICES, "s")
    scale("XLK", "2024-03-26", 1 + 2e-6)  # adjusted close changed, return in bounds
    frames["XLF"] = frames["XLF"].iloc[0:0]  # nothing fetched
    frames["XLE"]["adj_close"] = float("nan")  # no adjusted closes: prices are closes
    scale("XLE", "2024-04-03", 0.02)

    assert symbols_out_of_bounds(con, frames) == {
        symbol for symbol, frame in frames.items() if _refused(con, symbol, frame)
    }
    assert symbols_adjusted(con, frames) == {
        symbol for symbol, frame in frames.items() if adjustment_changed(con, symbol, frame)
    }
    # what the planted cases are, so that agreeing on nothing cannot pass
    assert symbols_out_of_bounds(con, frames) >= {"IWM", "RUT", "QQQ", "XLE", "RSP", "XLI"}
    assert not symbols_out_of_bounds(con, frames) & {"SPX", "ONEQ", "NDX", "SPY"}
    assert symbols_adjusted(con, frames) == {"IWM", "QQQ", "XLK", "ONEQ", "RSP", "XLI"}
    assert symbols_out_of_bounds(con, {"XLF": frames["XLF"]}) == set()
