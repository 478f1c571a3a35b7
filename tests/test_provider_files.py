"""The files provider: vendor CSV exports under MARKET_DATA_DIR, read without a network.

Small hand-written folders in tmp_path cover every header spelling and every error; one
test reads the real vendor files in ../shared/data/real when they are there.
"""

import logging
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from ingestion.calendar import CALENDAR_START
from ingestion.config import Settings
from ingestion.paths import PROJECT_ROOT
from ingestion.providers import ProviderContext, ProviderError, get_provider
from ingestion.providers.csv_reading import FileFormatError
from ingestion.providers.files import FilesProvider
from ingestion.providers.vendor_csv import parse_price_csv, parse_rate_csv
from ingestion.schemas import ESTIMATES, PRICES, RATES, validate

REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
START, END = date(2024, 3, 1), date(2024, 3, 28)


def provider_for(root: Path | None, universe) -> FilesProvider:
    env = {"SAMPLE_END_DATE": "2024-03-28"}
    if root is not None:
        env["MARKET_DATA_DIR"] = str(root)
    return FilesProvider(ProviderContext(universe, Settings.from_env(env), env))


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def prices(symbol: str, rows: list[tuple]) -> pd.DataFrame:
    """rows: (date, open, high, low, close, adj_close, volume)."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([symbol] * len(rows), dtype="str"),
            "session_date": pd.Series(pd.to_datetime([r[0] for r in rows]), dtype="datetime64[ns]"),
            "open": pd.Series([r[1] for r in rows], dtype="float64"),
            "high": pd.Series([r[2] for r in rows], dtype="float64"),
            "low": pd.Series([r[3] for r in rows], dtype="float64"),
            "close": pd.Series([r[4] for r in rows], dtype="float64"),
            "adj_close": pd.Series([r[5] for r in rows], dtype="float64"),
            "volume": pd.array([r[6] for r in rows], dtype="Int64"),
            "source": pd.Series(["files"] * len(rows), dtype="str"),
        }
    )


def rates(series_id: str, rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": pd.Series([series_id] * len(rows), dtype="str"),
            "observation_date": pd.Series(
                pd.to_datetime([r[0] for r in rows]), dtype="datetime64[ns]"
            ),
            "value": pd.Series([r[1] for r in rows], dtype="float64"),
            "source": pd.Series(["files"] * len(rows), dtype="str"),
        }
    )


def estimates(rows: list[tuple]) -> pd.DataFrame:
    """rows: (universe, fiscal_year, as_of_date, eps_growth_pct, source)."""
    return pd.DataFrame(
        {
            "universe": pd.Series([r[0] for r in rows], dtype="str"),
            "fiscal_year": pd.Series([r[1] for r in rows], dtype="int64"),
            "as_of_date": pd.Series(pd.to_datetime([r[2] for r in rows]), dtype="datetime64[ns]"),
            "eps_growth_pct": pd.Series([r[3] for r in rows], dtype="float64"),
            "source": pd.Series([r[4] for r in rows], dtype="str"),
        }
    )


def message_of(excinfo: pytest.ExceptionInfo) -> str:
    return str(excinfo.value)


# -- prices: header spellings -------------------------------------------------------------
HEADER_CASES = {
    # Interactive Brokers index export: float volume, wap/count ignored, recent rows empty.
    "ib_index": (
        "RUT",
        "date,open,high,low,close,volume,wap,count\n"
        "2024-03-26,2083.44,2093.52,2070.0,2070.16,3871790000.0,0.0,3953.0\n"
        "2024-03-27,2079.7,2114.65,2079.7,2114.35,0.0,,\n",
        [
            ("2024-03-26", 2083.44, 2093.52, 2070.0, 2070.16, None, 3871790000),
            ("2024-03-27", 2079.7, 2114.65, 2079.7, 2114.35, None, 0),
        ],
    ),
    # Yahoo index export: capitalised, no volume.
    "yahoo_index": (
        "NDX",
        "Date,Open,High,Low,Close\n"
        "2024-03-26,18329.2890625,18378.69921875,18207.880859375,18210.5390625\n"
        "2024-03-27,18338.189453125,18344.08984375,18168.19921875,18280.83984375\n",
        [
            (
                "2024-03-26",
                18329.2890625,
                18378.69921875,
                18207.880859375,
                18210.5390625,
                None,
                None,
            ),
            (
                "2024-03-27",
                18338.189453125,
                18344.08984375,
                18168.19921875,
                18280.83984375,
                None,
                None,
            ),
        ],
    ),
    "one_letter": (
        "IWM",
        "date,o,h,l,c,v\n2024-03-26,202.0401,202.6158,200.0299,200.2055,23434800\n",
        [("2024-03-26", 202.0401, 202.6158, 200.0299, 200.2055, None, 23434800)],
    ),
    "stock": (
        "AAPL",
        "date,open,high,low,close,volume\n2024-03-26,168.31,169.71,167.89,168.02,57388400\n",
        [("2024-03-26", 168.31, 169.71, 167.89, 168.02, None, 57388400)],
    ),
    "adj_close_and_price": (
        "MSFT",
        "timestamp,Open,High,Low,Price,Adj Close,Volume\n"
        "2024-03-26 00:00:00-04:00,425.61,425.99,421.35,421.65,420.0,16725600\n",
        [("2024-03-26", 425.61, 425.99, 421.35, 421.65, 420.0, 16725600)],
    ),
    "upper_case_adjusted_close": (
        "SPY",
        "DATE,OPEN,HIGH,LOW,CLOSE,ADJUSTED_CLOSE,VOLUME\n"
        "20240326,521.23,521.58,518.4,519.77,519.77,65463700\n",
        [("2024-03-26", 521.23, 521.58, 518.4, 519.77, 519.77, 65463700)],
    ),
    "adj_close_with_a_space": (
        "XLF",
        "date,open,high,low,close,adj close,volume\n2024-03-26,41.1,41.3,40.9,41.0,40.5,100\n",
        [("2024-03-26", 41.1, 41.3, 40.9, 41.0, 40.5, 100)],
    ),
    "adjclose_close_only": (
        "QQQ",
        "Date,Close,adjclose\n2024-03-26,444.29,443.0\n",
        [("2024-03-26", None, None, None, 444.29, 443.0, None)],
    ),
    "bom_crlf_blank_lines": (
        "SPX",
        "\ufeffdate,open,high,low,close\r\n2024-03-26,5219.52,5235.16,5203.42,5203.58\r\n\r\n",
        [("2024-03-26", 5219.52, 5235.16, 5203.42, 5203.58, None, None)],
    ),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_price_headers_are_read_whatever_their_spelling(tmp_path, universe, case):
    symbol, text, rows = HEADER_CASES[case]
    write(tmp_path, f"prices/{symbol}.csv", text)
    frame = provider_for(tmp_path, universe).prices([symbol], START, END)
    assert_frame_equal(frame, prices(symbol, rows))
    validate(frame, PRICES, "files")


def test_prices_window_empty_values_and_missing_spellings(tmp_path, universe):
    write(
        tmp_path,
        "prices/XLK.csv",
        "date,open,high,low,close,volume\n"
        "2024-02-29,10,11,9,10.5,100\n"  # before the window
        "2024-03-01,10,11,9,10.5,\n"  # empty volume: missing
        "2024-03-04,,11,9,10.5,200\n"  # empty open: missing
        "2024-03-05,10,11,9,,300\n"  # empty close: no row
        "2024-03-06,null,null,null,null,null\n"  # Yahoo's old "null" rows: no row
        "2024-03-07,10,11,9,10.75,400\n"
        "2024-04-01,10,11,9,10.5,500\n",  # after the window
    )
    frame = provider_for(tmp_path, universe).prices(["XLK"], START, END)
    expected = prices(
        "XLK",
        [
            ("2024-03-01", 10.0, 11.0, 9.0, 10.5, None, None),
            ("2024-03-04", None, 11.0, 9.0, 10.5, None, 200),
            ("2024-03-07", 10.0, 11.0, 9.0, 10.75, None, 400),
        ],
    )
    assert_frame_equal(frame, expected)


def test_a_window_without_rows_is_an_empty_typed_frame(tmp_path, universe):
    write(tmp_path, "prices/XLK.csv", "date,close\n2020-01-02,10\n")
    frame = provider_for(tmp_path, universe).prices(["XLK"], START, END)
    assert_frame_equal(frame, prices("XLK", []))
    validate(frame, PRICES, "files")


def test_several_symbols_are_sorted_by_key(tmp_path, universe):
    write(tmp_path, "prices/XLK.csv", "date,close\n2024-03-01,2\n2024-03-04,3\n")
    write(tmp_path, "prices/AAPL.csv", "date,close\n2024-03-04,1\n")
    frame = provider_for(tmp_path, universe).prices(["XLK", "AAPL"], START, END)
    assert list(zip(frame["symbol"], frame["close"], strict=True)) == [
        ("AAPL", 1.0),
        ("XLK", 2.0),
        ("XLK", 3.0),
    ]


def test_inconsistent_ohlc_keeps_the_close_and_warns(tmp_path, universe, caplog):
    write(
        tmp_path,
        "prices/BAC.csv",
        "date,open,high,low,close,volume\n"
        "2024-03-01,10,11,9,10.5,100\n"
        # low above the close by one unit in the last place, as in real Yahoo exports
        "2024-03-04,0.4599538684571868,0.461743421044767,0.4492155015468598,"
        "0.4492155015468597,200\n"
        "2024-03-05,10,10.4,9,10.5,300\n"  # high below the close
        "2024-03-06,10,11,0,10.5,400\n"  # a zero low
        "2024-03-07,10,11,9,10.5,500\n",
    )
    with caplog.at_level(logging.WARNING, logger="ingestion.providers.files"):
        frame = provider_for(tmp_path, universe).prices(["BAC"], START, END)
    expected = prices(
        "BAC",
        [
            ("2024-03-01", 10.0, 11.0, 9.0, 10.5, None, 100),
            ("2024-03-04", None, None, None, 0.4492155015468597, None, 200),
            ("2024-03-05", None, None, None, 10.5, None, 300),
            ("2024-03-06", None, None, None, 10.5, None, 400),
            ("2024-03-07", 10.0, 11.0, 9.0, 10.5, None, 500),
        ],
    )
    assert_frame_equal(frame, expected)
    validate(frame, PRICES, "files")
    [record] = caplog.records
    assert "files: BAC:" in record.getMessage()
    assert "3 row(s) where open/high/low contradict the close" in record.getMessage()
    assert "line 3 (2024-03-04), line 4 (2024-03-05), line 5 (2024-03-06)" in record.getMessage()


def test_inconsistent_rows_outside_the_window_are_neither_counted_nor_warned(
    tmp_path, universe, caplog
):
    write(
        tmp_path,
        "prices/BAC.csv",
        "date,open,high,low,close\n2020-01-02,10,10.4,9,10.5\n2024-03-01,10,11,9,10.5\n",
    )
    with caplog.at_level(logging.WARNING, logger="ingestion.providers.files"):
        frame = provider_for(tmp_path, universe).prices(["BAC"], START, END)
    assert frame["open"].tolist() == [10.0]
    assert caplog.records == []


def test_dates_are_judged_against_the_given_today_and_only_rows_with_a_value():
    body = b"Date,Close\n2024-03-28,5\n2024-03-30,\n2024-04-01,6\n"  # a Saturday, no close
    with pytest.raises(FileFormatError) as excinfo:
        parse_price_csv(body, symbol="RUT", file="x.csv", today=date(2024, 3, 28))
    assert message_of(excinfo) == (
        "x.csv line 4: Date 2024-04-01 is after today in New York (2024-03-28)"
    )
    frame = parse_price_csv(body, symbol="RUT", file="x.csv", today=date(2024, 4, 1))
    assert frame["close"].tolist() == [5.0, 6.0]

    rates_body = b"observation_date,DGS2\n2024-03-28,4.5\n2024-03-29,.\n"
    frame = parse_rate_csv(rates_body, series_id="DGS2", file="r.csv", today=date(2024, 3, 28))
    assert frame["value"].tolist() == [4.5]  # a future date without a value is no row
    with_value = rates_body.replace(b",.", b",4.6")
    with pytest.raises(FileFormatError) as excinfo:
        parse_rate_csv(with_value, series_id="DGS2", file="r.csv", today=date(2024, 3, 28))
    assert message_of(excinfo) == (
        "r.csv line 3: observation_date 2024-03-29 is after today in New York (2024-03-28)"
    )


def test_prices_before_the_calendar_are_not_judged_by_the_file_reader():
    """The calendar starts in 1990: older history is read, and the frame validation
    refuses it only if a window asks for it."""
    frame = parse_price_csv(b"date,close\n1985-10-05,5\n", symbol="NDX", file="x.csv")
    assert frame["session_date"].tolist() == [pd.Timestamp("1985-10-05")]  # a Saturday


def test_parsing_is_a_pure_function_of_bytes():
    frame = parse_price_csv(b"Date,Close\n2024-03-01,5\n", symbol="RUT", file="x.csv")
    assert_frame_equal(frame, prices("RUT", [("2024-03-01", None, None, None, 5.0, None, None)]))
    frame = parse_rate_csv(b"DATE,DGS2\n2024-03-01,4.5\n", series_id="DGS2", file="x.csv")
    assert_frame_equal(frame, rates("DGS2", [("2024-03-01", 4.5)]))


def test_the_registry_builds_the_files_provider(tmp_path, universe):
    env = {"SAMPLE_END_DATE": "2024-03-28", "MARKET_DATA_DIR": str(tmp_path)}
    provider = get_provider("files", ProviderContext(universe, Settings.from_env(env), env))
    assert isinstance(provider, FilesProvider)
    assert provider.name == "files"


# -- prices: errors ------------------------------------------------------------------------
PRICE_ERRORS = {
    "no_date_column": (
        "when,close\n2024-03-01,5\n",
        "no date column (accepted: date, timestamp, session_date, any case); "
        "header found: ['when', 'close']",
    ),
    "no_close_column": (
        "date,open,high,low,last\n2024-03-01,1,2,1,2\n",
        "no close column (accepted: close, c, price, any case); "
        "header found: ['date', 'open', 'high', 'low', 'last']",
    ),
    "two_closes": (
        "date,close,c\n2024-03-01,5,5\n",
        "columns 'close' and 'c' both look like close",
    ),
    "non_numeric_close": (
        "date,close\n2024-03-01,5\n2024-03-04,abc\n",
        "line 3: close 'abc' is not a number",
    ),
    "infinite_close": ("date,close\n2024-03-01,inf\n", "line 2: close 'inf' is not a number"),
    "zero_close": ("date,close\n2024-03-01,0\n", "line 2: close 0.0 is not a positive price"),
    "negative_close": (
        "date,close\n2024-03-01,-3.5\n",
        "line 2: close -3.5 is not a positive price",
    ),
    "negative_adj_close": (
        "date,close,adj_close\n2024-03-01,3,-1\n",
        "line 2: adj_close -1.0 is not a positive price",
    ),
    "non_numeric_open": ("date,open,close\n2024-03-01,x,5\n", "line 2: open 'x' is not a number"),
    "fractional_volume": (
        "date,close,volume\n2024-03-01,5,10.5\n",
        "line 2: volume '10.5' is not a whole, non-negative number",
    ),
    "negative_volume": (
        "date,close,volume\n2024-03-01,5,-10\n",
        "line 2: volume '-10' is not a whole, non-negative number",
    ),
    "duplicate_dates": (
        "date,close\n2024-03-01,5\n2024-03-04,6\n2024-03-04,6\n",
        "line 4: date 2024-03-04 repeats line 3",
    ),
    "dates_out_of_order": (
        "date,close\n2024-03-04,5\n2024-03-01,6\n",
        "line 3: date 2024-03-01 comes after 2024-03-04 (line 2); dates must ascend",
    ),
    "bad_date": (
        "date,close\n03/01/2024,5\n",
        "line 2: date '03/01/2024' is not a date (expected YYYY-MM-DD)",
    ),
    "impossible_date": (
        "date,close\n2024-02-30,5\n",
        "line 2: date '2024-02-30' is not a date (expected YYYY-MM-DD)",
    ),
    "truncated_row": (
        "date,open,high,low,close\n2024-03-01,1,2,1,2\n2024-03-04,1,2",
        "line 3: 3 field(s) where the header has 5 (a truncated or malformed row)",
    ),
    "empty_file": ("", "the file is empty"),
    "header_only": ("date,close\n", "a header but no data rows"),
    "html": ("<!DOCTYPE html><html><body>Not found</body></html>", "looks like an HTML"),
    "not_utf8": (
        b"date,close\n2024-03-01,5\n2024-03-04,\xff5\n",
        "line 3: not UTF-8 text (byte 0xff at offset 35)",
    ),
    "saturday": (
        "date,close\n2024-03-01,5\n2024-03-02,5.5\n2024-03-04,6\n",
        "line 3: date 2024-03-02 is not an XNYS session (a Saturday)",
    ),
    # The whole file is checked: a holiday after the window is still an error.
    "holiday_outside_the_window": (
        "Date,Close\n2024-03-01,5\n2024-03-29,6\n",
        "line 3: Date 2024-03-29 is not an XNYS session (a Friday the exchange was closed)",
    ),
    "future": (
        "date,close\n2024-03-01,5\n2099-01-02,6\n",
        "line 3: date 2099-01-02 is after today in New York (",
    ),
}


@pytest.mark.parametrize("case", sorted(PRICE_ERRORS))
def test_malformed_price_files_are_errors_naming_file_and_line(tmp_path, universe, case):
    text, expected = PRICE_ERRORS[case]
    path = write(tmp_path, "prices/XLE.csv", text)
    with pytest.raises(ProviderError) as excinfo:
        provider_for(tmp_path, universe).prices(["XLE"], START, END)
    message = message_of(excinfo)
    assert message.startswith(f"files: symbol 'XLE': {path}")
    assert expected in message


def test_market_data_dir_must_be_set(universe):
    with pytest.raises(ProviderError, match=r"^files: MARKET_DATA_DIR is not set"):
        provider_for(None, universe)


def test_market_data_dir_must_be_a_folder(tmp_path, universe):
    missing = tmp_path / "nowhere"
    with pytest.raises(
        ProviderError, match=rf"^files: MARKET_DATA_DIR={re.escape(str(missing))} is not a folder"
    ):
        provider_for(missing, universe)


def test_a_missing_file_names_provider_symbol_and_expected_path(tmp_path, universe):
    (tmp_path / "prices").mkdir()
    with pytest.raises(ProviderError) as excinfo:
        provider_for(tmp_path, universe).prices(["ONEQ"], START, END)
    assert message_of(excinfo) == (
        f"files: no price file for symbol 'ONEQ': expected {tmp_path / 'prices' / 'ONEQ.csv'}"
    )


def test_a_symbol_outside_the_universe_is_refused(tmp_path, universe):
    write(tmp_path, "prices/ZZZZ.csv", "date,close\n2024-03-01,5\n")
    with pytest.raises(ProviderError, match=r"^files: symbol 'ZZZZ' is not in the instrument"):
        provider_for(tmp_path, universe).prices(["ZZZZ"], START, END)


def test_a_link_leading_outside_the_folder_is_refused(tmp_path, universe):
    outside = write(tmp_path, "elsewhere/secret.csv", "date,close\n2024-03-01,5\n")
    root = tmp_path / "data"
    (root / "prices").mkdir(parents=True)
    (root / "prices" / "AAPL.csv").symlink_to(outside)
    with pytest.raises(ProviderError) as excinfo:
        provider_for(root, universe).prices(["AAPL"], START, END)
    assert message_of(excinfo) == (
        f"files: symbol 'AAPL': {root / 'prices' / 'AAPL.csv'} leads outside MARKET_DATA_DIR "
        f"({root.resolve()}); refused"
    )


def test_a_link_inside_the_folder_is_followed(tmp_path, universe):
    target = write(tmp_path, "prices/SPY.csv", "date,close\n2024-03-01,5\n")
    (tmp_path / "prices" / "RSP.csv").symlink_to(target)
    frame = provider_for(tmp_path, universe).prices(["RSP"], START, END)
    assert frame["symbol"].tolist() == ["RSP"]


def test_a_data_folder_reached_through_a_link_is_named_by_its_real_path(tmp_path, universe):
    """As when ../shared is a symbolic link: paths in errors are the resolved ones."""
    real = tmp_path / "elsewhere" / "shared" / "data"
    write(real, "prices/SPY.csv", "date,close\n2024-03-01,5\n")
    (tmp_path / "shared").symlink_to(tmp_path / "elsewhere" / "shared")
    linked = tmp_path / "shared" / "data"
    provider = provider_for(linked, universe)
    assert provider.root == real.resolve() != linked
    assert provider.prices(["SPY"], START, END)["close"].tolist() == [5.0]
    with pytest.raises(ProviderError) as excinfo:
        provider.prices(["ONEQ"], START, END)
    assert message_of(excinfo) == (
        f"files: no price file for symbol 'ONEQ': expected {linked.resolve() / 'prices/ONEQ.csv'}"
    )


def test_a_window_ending_before_it_starts_is_refused(tmp_path, universe):
    with pytest.raises(ProviderError, match="window end 2024-03-01 is before its start"):
        provider_for(tmp_path, universe).prices(["XLE"], date(2024, 3, 4), date(2024, 3, 1))


# -- rates --------------------------------------------------------------------------------
def test_fred_rates_skip_missing_values_and_keep_the_window(tmp_path, universe):
    write(
        tmp_path,
        "rates/DGS2.csv",
        "observation_date,DGS2\n"
        "2024-02-29,4.64\n"
        "2024-03-01,4.53\n"
        "2024-03-04,.\n"
        "2024-03-05,\n"
        "2024-03-06,4.56\n"
        "2024-03-29,4.59\n",
    )
    write(tmp_path, "rates/DFEDTARL.csv", "DATE,DFEDTARL\n2024-03-01,5.25\n2024-03-02,0.0\n")
    provider = provider_for(tmp_path, universe)
    assert_frame_equal(
        provider.rates(["DGS2"], START, END),
        rates("DGS2", [("2024-03-01", 4.53), ("2024-03-06", 4.56)]),
    )
    frame = provider.rates(["DGS2", "DFEDTARL"], START, END)
    assert_frame_equal(
        frame,
        pd.concat(
            [
                rates("DFEDTARL", [("2024-03-01", 5.25), ("2024-03-02", 0.0)]),
                rates("DGS2", [("2024-03-01", 4.53), ("2024-03-06", 4.56)]),
            ],
            ignore_index=True,
        ),
    )
    validate(frame, RATES, "files")


RATE_ERRORS = {
    "no_value_column": (
        "observation_date,DGS10\n2024-03-01,4.2\n",
        "no 'DGS2' column; header found: ['observation_date', 'DGS10']",
    ),
    "no_date_column": (
        "day,DGS2\n2024-03-01,4.2\n",
        "no observation_date (or DATE) column; header found: ['day', 'DGS2']",
    ),
    "non_numeric": (
        "observation_date,DGS2\n2024-03-01,4.2\n2024-03-04,n.a.\n",
        "line 3: DGS2 'n.a.' is not a number",
    ),
    "duplicate": (
        "observation_date,DGS2\n2024-03-01,4.2\n2024-03-01,4.3\n",
        "line 3: date 2024-03-01 repeats line 2",
    ),
    "out_of_order": (
        "observation_date,DGS2\n2024-03-04,4.2\n2024-03-01,4.3\n",
        "line 3: date 2024-03-01 comes after 2024-03-04 (line 2); dates must ascend",
    ),
    "html": ("<html>rate limited</html>", "looks like an HTML"),
    "empty": ("\n", "the file is empty"),
    "future": (
        "observation_date,DGS2\n2024-03-01,4.2\n2099-01-02,4.3\n",
        "line 3: observation_date 2099-01-02 is after today in New York (",
    ),
}


@pytest.mark.parametrize("case", sorted(RATE_ERRORS))
def test_malformed_rate_files_are_errors_naming_file_and_line(tmp_path, universe, case):
    text, expected = RATE_ERRORS[case]
    path = write(tmp_path, "rates/DGS2.csv", text)
    with pytest.raises(ProviderError) as excinfo:
        provider_for(tmp_path, universe).rates(["DGS2"], START, END)
    assert message_of(excinfo).startswith(f"files: series 'DGS2': {path}")
    assert expected in message_of(excinfo)


def test_a_missing_rate_file_and_an_unknown_series(tmp_path, universe):
    provider = provider_for(tmp_path, universe)
    with pytest.raises(ProviderError) as excinfo:
        provider.rates(["DFF"], START, END)
    assert message_of(excinfo) == (
        f"files: no rate file for series 'DFF': expected {tmp_path / 'rates' / 'DFF.csv'}"
    )
    with pytest.raises(ProviderError, match=r"^files: series 'T10Y2Y' is not in rate_series"):
        provider.rates(["T10Y2Y"], START, END)


# -- estimates ----------------------------------------------------------------------------
def test_estimates_files_are_concatenated_and_filtered(tmp_path, universe):
    write(
        tmp_path,
        "estimates/2024-q1.csv",
        "as_of_date,universe,fiscal_year,eps_growth_pct,source\n"
        "2024-03-01,russell_2000,2024,11.5,factset\n"
        "2024-03-01,sp500,2024,8.25,\n"
        "2024-02-01,russell_2000,2024,12.0,factset\n",
    )
    write(
        tmp_path,
        "estimates/march.csv",
        "Universe,Fiscal_Year,As_Of_Date,EPS_Growth_Pct\n"
        "russell_2000,2025,2024-03-15,14.0\n"
        "nasdaq_100,2024,2024-03-15,-2.5\n"
        "not_in_seeds,2024,2024-03-15,1.0\n",
    )
    write(tmp_path, "estimates/notes.txt", "ignored")
    provider = provider_for(tmp_path, universe)
    frame = provider.estimates(["russell_2000", "sp500"], START, END)
    expected = estimates(
        [
            ("russell_2000", 2024, "2024-03-01", 11.5, "factset"),
            ("russell_2000", 2025, "2024-03-15", 14.0, "files"),
            ("sp500", 2024, "2024-03-01", 8.25, "files"),
        ]
    )
    assert_frame_equal(frame, expected)
    validate(frame, ESTIMATES, "files")
    assert_frame_equal(provider.estimates(["nasdaq_100"], date(2024, 3, 16), END), estimates([]))


ESTIMATE_ERRORS = {
    "missing_column": (
        "as_of_date,universe,fiscal_year\n2024-03-01,sp500,2024\n",
        "missing column(s) ['eps_growth_pct']; header found: "
        "['as_of_date', 'universe', 'fiscal_year']",
    ),
    "unexpected_column": (
        "as_of_date,universe,fiscal_year,eps_growth_pct,notes\n2024-03-01,sp500,2024,1,x\n",
        "unexpected column(s) ['notes']; the columns are as_of_date, universe, fiscal_year, "
        "eps_growth_pct and optionally source",
    ),
    "bad_year": (
        "as_of_date,universe,fiscal_year,eps_growth_pct\n2024-03-01,sp500,FY24,1\n",
        "line 2: fiscal_year 'FY24' is not a four-digit year",
    ),
    "bad_growth": (
        "as_of_date,universe,fiscal_year,eps_growth_pct\n2024-03-01,sp500,2024,12%\n",
        "line 2: eps_growth_pct '12%' is not a number",
    ),
    "duplicate_key": (
        "as_of_date,universe,fiscal_year,eps_growth_pct\n"
        "2024-03-01,sp500,2024,1\n2024-03-01,sp500,2024,2\n",
        "line 3: universe=sp500, fiscal_year=2024, as_of_date=2024-03-01 repeats line 2",
    ),
    "future_as_of_date": (
        "as_of_date,universe,fiscal_year,eps_growth_pct\n"
        "2024-03-01,sp500,2024,1\n2099-01-01,sp500,2099,2\n",
        "line 3: as_of_date 2099-01-01 is after today in New York (",
    ),
}


@pytest.mark.parametrize("case", sorted(ESTIMATE_ERRORS))
def test_malformed_estimates_files_are_errors_naming_file_and_line(tmp_path, universe, case):
    text, expected = ESTIMATE_ERRORS[case]
    path = write(tmp_path, "estimates/drop.csv", text)
    with pytest.raises(ProviderError) as excinfo:
        provider_for(tmp_path, universe).estimates(["sp500"], START, END)
    assert message_of(excinfo).startswith(f"files: estimate universe(s) ['sp500']: {path}")
    assert expected in message_of(excinfo)


def test_a_key_in_two_estimates_files_names_both(tmp_path, universe):
    header = "as_of_date,universe,fiscal_year,eps_growth_pct\n"
    first = write(tmp_path, "estimates/a.csv", header + "2024-03-01,sp500,2024,1\n")
    second = write(
        tmp_path, "estimates/b.csv", header + "2024-02-01,sp500,2024,1\n2024-03-01,sp500,2024,2\n"
    )
    with pytest.raises(ProviderError) as excinfo:
        provider_for(tmp_path, universe).estimates(["sp500"], START, END)
    assert message_of(excinfo) == (
        f"files: estimate universe(s) ['sp500']: {second} line 3: universe=sp500, "
        f"fiscal_year=2024, as_of_date=2024-03-01 is already in {first} line 2"
    )


def test_missing_estimates_are_reported_not_invented(tmp_path, universe):
    provider = provider_for(tmp_path, universe)
    with pytest.raises(ProviderError) as excinfo:
        provider.estimates(["sp500"], START, END)
    assert message_of(excinfo) == (
        f"files: no estimates file for estimate universe(s) ['sp500']: expected "
        f"{tmp_path / 'estimates'}/*.csv"
    )
    write(
        tmp_path,
        "estimates/a.csv",
        "as_of_date,universe,fiscal_year,eps_growth_pct\n2024-03-01,sp500,2024,1\n",
    )
    with pytest.raises(ProviderError) as excinfo:
        provider.estimates(["nasdaq_100"], START, END)
    assert message_of(excinfo) == (
        f"files: no estimates for universe(s) ['nasdaq_100'] in any of ['a.csv'] under "
        f"{(tmp_path / 'estimates').resolve()}"
    )
    with pytest.raises(ProviderError, match=r"universe\(s\) \['midcaps'\] are not in the seeds"):
        provider.estimates(["midcaps"], START, END)


# -- the real vendor files ----------------------------------------------------------------
@pytest.fixture(scope="module")
def real_provider(universe) -> FilesProvider:
    if not (REAL_DATA / "prices").is_dir():
        pytest.skip(f"the real market data folder {REAL_DATA} is not here")
    return provider_for(REAL_DATA, universe)


def test_real_vendor_files(real_provider, caplog):
    window = (date(2024, 3, 25), date(2024, 3, 28))
    rut = validate(real_provider.prices(["RUT"], *window), PRICES, "files")
    # prices/RUT.csv line 1950: 2024-03-26,2083.44,2093.52,2070.0,2070.16,3871790000.0,0.0,3953.0
    row = rut.iloc[1]
    assert (row["session_date"], row["open"], row["close"], row["volume"]) == (
        pd.Timestamp("2024-03-26"),
        2083.44,
        2070.16,
        3871790000,
    )
    assert len(rut) == 4

    ndx = validate(real_provider.prices(["NDX"], *window), PRICES, "files")
    # prices/NDX.csv line 9702: 2024-03-28,18263.41015625,18308.3203125,18231.380859375,
    # 18254.689453125 (no volume column)
    assert ndx.iloc[-1]["close"] == 18254.689453125
    assert ndx.iloc[-1]["high"] == 18308.3203125
    assert ndx["volume"].isna().all()

    iwm = validate(real_provider.prices(["IWM"], *window), PRICES, "files")
    # prices/IWM.csv line 5997: 2024-03-27,201.7961,204.6357,201.1716,204.5674,35028400
    row = iwm.iloc[2]
    assert (row["session_date"], row["low"], row["close"], row["volume"]) == (
        pd.Timestamp("2024-03-27"),
        201.1716,
        204.5674,
        35028400,
    )

    aapl = validate(real_provider.prices(["AAPL"], *window), PRICES, "files")
    # prices/AAPL.csv line 10915: 2024-03-28,...,169.7770538330078,65672700
    assert aapl.iloc[-1]["close"] == 169.7770538330078
    assert aapl.iloc[-1]["volume"] == 65672700

    # prices/AAPL.csv line 2828: 1992-02-18,0.4599538684571868,0.461743421044767,
    # 0.4492155015468598,0.4492155015468597,68353600 -- low above close by one unit in the
    # last place: the close loads, open/high/low are dropped with a warning.
    with caplog.at_level(logging.WARNING, logger="ingestion.providers.files"):
        old = real_provider.prices(["AAPL"], date(1992, 2, 18), date(1992, 2, 18))
    assert old["close"].tolist() == [0.4492155015468597]
    assert old[["open", "high", "low"]].isna().all(axis=None)
    assert old["volume"].tolist() == [68353600]
    assert "1 row(s) where open/high/low contradict the close" in caplog.text
    assert "line 2828 (1992-02-18)" in caplog.text

    dgs10 = validate(real_provider.rates(["DGS10"], *window), RATES, "files")
    # rates/DGS10.csv lines 15544-15547: 4.25, 4.24, 4.2, 4.2
    assert dgs10["value"].tolist() == [4.25, 4.24, 4.2, 4.2]

    # prices/RUT.csv line 2553: 2026-08-21,3007.16,3020.24,3000.05,3017.87,0.0,, -- the
    # vendor's volume of 0 is kept as written, not turned into a missing value.
    last = real_provider.prices(["RUT"], date(2026, 8, 21), date(2026, 8, 21))
    assert (last.iloc[0]["close"], last.iloc[0]["volume"]) == (3017.87, 0)

    with pytest.raises(ProviderError) as excinfo:
        real_provider.prices(["ONEQ"], *window)
    assert message_of(excinfo) == (
        "files: no price file for symbol 'ONEQ': expected "
        f"{REAL_DATA.resolve() / 'prices' / 'ONEQ.csv'}"
    )


def test_every_real_price_file_passes_the_schema(real_provider, universe, caplog):
    """Whole histories, so every quirk of the real files is met (a second or two). The
    schema takes the sessions of the calendar, which starts in 1990."""
    loaded = 0
    with caplog.at_level(logging.WARNING, logger="ingestion.providers.files"):
        for symbol in universe.symbols:
            if not (REAL_DATA / "prices" / f"{symbol}.csv").is_file():
                continue
            frame = real_provider.prices([symbol], date(1970, 1, 1), date(2026, 8, 21))
            validate(frame[frame["session_date"] >= pd.Timestamp(CALENDAR_START)], PRICES, "files")
            loaded += 1
    assert loaded == 30
    dropped = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"files: (\w+): \S+: (\d+) row\(s\)", caplog.text)
    }
    assert dropped == {"AAPL": 4, "BAC": 147, "JPM": 42, "MSFT": 21, "ORCL": 9}
