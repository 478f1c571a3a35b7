"""The Yahoo chart provider against a local HTTP server: parsing, retries and every fault."""

import copy
import json
import threading
import time
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from werkzeug import Response

from ingestion.config import Settings
from ingestion.http import HttpSettings
from ingestion.providers import ProviderContext, get_provider
from ingestion.providers.base import MarketDataProvider, ProviderError
from ingestion.providers.yahoo import YahooProvider, chart_params, parse_chart
from ingestion.schemas import PRICES, validate
from ingestion.universe import load_universe
from tests.waiting import SAFETY_NET_SECONDS, wait_for

START = date(2024, 3, 25)
END = date(2024, 3, 28)
# period1 = 2024-03-25 00:00 UTC, period2 = 2024-03-29 00:00 UTC (end + 1 day)
QUERY = {
    "period1": "1711324800",
    "period2": "1711670400",
    "interval": "1d",
    "events": "div,splits",
    "includeAdjustedClose": "true",
}
# Market opens, 09:30 New York (EDT) = 13:30 UTC, 2024-03-25 .. 2024-03-28
OPENS = [1711373400, 1711459800, 1711546200, 1711632600]

# The real chart shape (trimmed meta); 2024-03-26 carries Yahoo's null bar.
IWM_CHART = {
    "chart": {
        "result": [
            {
                "meta": {
                    "currency": "USD",
                    "symbol": "IWM",
                    "exchangeName": "PCX",
                    "fullExchangeName": "NYSEArca",
                    "instrumentType": "ETF",
                    "firstTradeDate": 958743000,
                    "regularMarketTime": 1711656000,
                    "hasPrePostMarketData": True,
                    "gmtoffset": -14400,
                    "timezone": "EDT",
                    "exchangeTimezoneName": "America/New_York",
                    "regularMarketPrice": 210.3,
                    "priceHint": 2,
                    "dataGranularity": "1d",
                    "range": "",
                },
                "timestamp": OPENS,
                "events": {
                    "dividends": {"1711373400": {"amount": 0.438, "date": 1711373400}},
                },
                "indicators": {
                    "quote": [
                        {
                            "open": [205.35000610351562, None, 205.9, 209.89],
                            "volume": [31846200, None, 38012000, 23547000],
                            "low": [203.9199981689453, None, 205.6, 209.37],
                            "close": [204.13, None, 209.87, 210.3],
                            "high": [206.04, None, 210.07, 210.37],
                        }
                    ],
                    "adjclose": [{"adjclose": [200.6, None, 206.24, 206.67]}],
                },
            }
        ],
        "error": None,
    }
}

RUT_CHART = {
    "chart": {
        "result": [
            {
                "meta": {
                    "currency": "USD",
                    "symbol": "^RUT",
                    "exchangeName": "WCB",
                    "instrumentType": "INDEX",
                    "gmtoffset": -14400,
                    "timezone": "EDT",
                    "exchangeTimezoneName": "America/New_York",
                },
                "timestamp": OPENS[2:],
                "indicators": {
                    "quote": [
                        {
                            "open": [2058.12, 2112.0],
                            "volume": [0, 0],
                            "low": [2057.0, 2110.5],
                            "close": [2111.27, 2124.55],
                            "high": [2113.3, 2126.9],
                        }
                    ]
                },
            }
        ],
        "error": None,
    }
}

NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}

FAST = {"backoff_initial_seconds": 0.01, "min_interval_seconds": 0}


@pytest.fixture(scope="module")
def universe():
    return load_universe()


def make_provider(httpserver, tmp_path, universe, **http) -> YahooProvider:
    env = {
        "SAMPLE_END_DATE": "2024-03-28",
        "LANDING_DIR": str(tmp_path / "landing"),
        "YAHOO_BASE_URL": httpserver.url_for("/"),
    }
    context = ProviderContext(universe, Settings.from_env(env), env)
    return YahooProvider(context, http_settings=HttpSettings(**{**FAST, **http}))


def landed(tmp_path) -> list:
    return sorted((tmp_path / "landing" / "yahoo").rglob("*"))


def landed_files(tmp_path) -> list:
    return [p for p in landed(tmp_path) if p.is_file()]


def expected(symbol, rows, adj=True) -> pd.DataFrame:
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
            "volume": pd.Series([r[6] for r in rows], dtype="Int64"),
            "source": pd.Series(["yahoo"] * len(rows), dtype="str"),
        }
    )


def with_quote(**changes) -> dict:
    """IWM_CHART with some quote arrays (or the timestamps) replaced."""
    chart = copy.deepcopy(IWM_CHART)
    result = chart["chart"]["result"][0]
    for key, values in changes.items():
        if key == "timestamp":
            result["timestamp"] = values
        else:
            result["indicators"]["quote"][0][key] = values
    return chart


# -- normal responses -------------------------------------------------------------------
def test_normal_response_is_parsed_to_the_exact_frame(httpserver, tmp_path, universe):
    httpserver.expect_request("/IWM", method="GET", query_string=QUERY).respond_with_json(IWM_CHART)
    frame = make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    want = expected(
        "IWM",
        [
            ("2024-03-25", 205.35000610351562, 206.04, 203.9199981689453, 204.13, 200.6, 31846200),
            ("2024-03-27", 205.9, 210.07, 205.6, 209.87, 206.24, 38012000),
            ("2024-03-28", 209.89, 210.37, 209.37, 210.3, 206.67, 23547000),
        ],
    )
    pd.testing.assert_frame_equal(frame, want)
    pd.testing.assert_frame_equal(validate(frame, PRICES, "yahoo"), want)
    assert len(httpserver.log) == 1
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].name.endswith("_IWM.json")
    assert json.loads(files[0].read_bytes()) == IWM_CHART


def test_index_ticker_is_url_encoded_and_has_no_volume_or_adjusted_close(
    httpserver, tmp_path, universe
):
    httpserver.expect_request("/^RUT", query_string=QUERY).respond_with_json(RUT_CHART)
    frame = make_provider(httpserver, tmp_path, universe).prices(["RUT"], START, END)
    want = expected(
        "RUT",
        [
            ("2024-03-27", 2058.12, 2113.3, 2057.0, 2111.27, None, None),
            ("2024-03-28", 2112.0, 2126.9, 2110.5, 2124.55, None, None),
        ],
    )
    pd.testing.assert_frame_equal(frame, want)
    request = httpserver.log[0][0]
    assert request.environ["RAW_URI"].startswith("/%5ERUT?")
    assert len(landed_files(tmp_path)) == 1


def test_several_symbols_come_back_sorted_by_symbol_and_date(httpserver, tmp_path, universe):
    httpserver.expect_request("/IWM").respond_with_json(IWM_CHART)
    httpserver.expect_request("/^RUT").respond_with_json(RUT_CHART)
    frame = make_provider(httpserver, tmp_path, universe).prices(["RUT", "IWM"], START, END)
    assert list(frame["symbol"]) == ["IWM", "IWM", "IWM", "RUT", "RUT"]
    assert list(frame["session_date"].dt.day) == [25, 27, 28, 27, 28]


def test_session_date_is_the_new_york_date_of_the_timestamp():
    # 2024-03-28 02:00 UTC is 2024-03-27 22:00 in New York; 2024-01-02 14:30 UTC is 09:30 EST
    chart = with_quote(
        timestamp=[1704205800, 1711591200],
        open=[1.0, 2.0],
        high=[1.0, 2.0],
        low=[1.0, 2.0],
        close=[1.0, 2.0],
        volume=[1, 2],
    )
    chart["chart"]["result"][0]["indicators"]["adjclose"] = [{"adjclose": [1.0, 2.0]}]
    frame = parse_chart(json.dumps(chart).encode(), "IWM", date(2024, 1, 1), date(2024, 3, 28))
    assert list(frame["session_date"].dt.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-03-27"]


def test_only_rows_inside_the_window_are_returned():
    frame = parse_chart(json.dumps(IWM_CHART).encode(), "IWM", date(2024, 3, 26), END)
    assert list(frame["session_date"].dt.day) == [27, 28]


def test_a_window_without_bars_gives_an_empty_frame(httpserver, tmp_path, universe):
    chart = {
        "chart": {
            "result": [
                {
                    "meta": IWM_CHART["chart"]["result"][0]["meta"],
                    "indicators": {"quote": [{}], "adjclose": [{}]},
                }
            ],
            "error": None,
        }
    }
    httpserver.expect_request("/IWM").respond_with_json(chart)
    frame = make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, START)
    pd.testing.assert_frame_equal(frame, expected("IWM", []))


def test_query_parameters():
    assert chart_params(START, END) == QUERY


def test_registry_builds_the_provider(httpserver, tmp_path, universe):
    env = {"SAMPLE_END_DATE": "2024-03-28", "LANDING_DIR": str(tmp_path / "landing")}
    provider = get_provider("yahoo", ProviderContext(universe, Settings.from_env(env), env))
    assert isinstance(provider, YahooProvider)
    assert isinstance(provider, MarketDataProvider)
    assert provider.base_url == "https://query1.finance.yahoo.com/v8/finance/chart/"


# -- HTTP faults ------------------------------------------------------------------------
def test_500_then_200_succeeds(httpserver, tmp_path, universe):
    httpserver.expect_ordered_request("/IWM").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/IWM").respond_with_json(IWM_CHART)
    frame = make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    assert len(frame) == 3
    assert len(httpserver.log) == 2
    # The 500 body is kept beside the good one.
    names = sorted(p.name.split("_", 1)[1] for p in landed_files(tmp_path))
    assert names == ["IWM.http500.json", "IWM.json"]


def test_429_waits_for_retry_after_then_succeeds(httpserver, tmp_path, universe):
    httpserver.expect_ordered_request("/IWM").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/IWM").respond_with_json(IWM_CHART)
    provider = make_provider(httpserver, tmp_path, universe)
    began = time.monotonic()
    frame = provider.prices(["IWM"], START, END)
    assert time.monotonic() - began >= 1.0
    assert len(frame) == 3
    assert len(httpserver.log) == 2
    # The 429 body is kept beside the good one.
    names = sorted(p.name.split("_", 1)[1] for p in landed_files(tmp_path))
    assert names == ["IWM.http429.json", "IWM.json"]


def test_404_fails_at_once_naming_yahoo_error(httpserver, tmp_path, universe):
    httpserver.expect_request("/IWM").respond_with_json(NOT_FOUND, status=404)
    with pytest.raises(ProviderError) as caught:
        make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    message = str(caught.value)
    assert message.startswith("yahoo: IWM: HTTP 404")
    assert "Not Found" in message
    assert "No data found, symbol may be delisted" in message
    assert len(httpserver.log) == 1
    # HttpClient lands successful bodies only: a 4xx body is quoted in the message instead.


def test_timeout_gives_provider_error_after_the_attempts(httpserver, tmp_path, universe):
    # Each attempt is answered only after the client gave up on it, so every attempt
    # times out however slow the machine is.
    gave_up = threading.Event()

    def slow(request):
        gave_up.wait(timeout=SAFETY_NET_SECONDS)
        return Response(json.dumps(IWM_CHART), content_type="application/json")

    httpserver.expect_request("/IWM").respond_with_handler(slow)
    provider = make_provider(httpserver, tmp_path, universe, timeout_seconds=0.1, attempts=2)
    try:
        with pytest.raises(ProviderError) as caught:
            provider.prices(["IWM"], START, END)
    finally:
        gave_up.set()
    message = str(caught.value)
    assert message.startswith("yahoo: IWM: no response after 2 attempts")
    assert "timed out" in message
    assert landed_files(tmp_path) == []
    # The test server is single-threaded: it logs each attempt once it has answered it.
    wait_for(lambda: len(httpserver.log) >= 2, "the server to answer both attempts")
    assert len(httpserver.log) == 2


# -- malformed bodies -------------------------------------------------------------------
def run_bad(httpserver, tmp_path, universe, body: bytes, content_type="application/json"):
    httpserver.expect_request("/IWM").respond_with_data(body, content_type=content_type)
    with pytest.raises(ProviderError) as caught:
        make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].read_bytes() == body
    message = str(caught.value)
    assert message.startswith("yahoo: IWM: ")
    return message


def test_html_instead_of_json(httpserver, tmp_path, universe):
    body = b"<!DOCTYPE html><html><head><title>Yahoo</title></head><body>Oops</body></html>"
    message = run_bad(httpserver, tmp_path, universe, body, "text/html")
    assert "HTML page" in message


def test_empty_body(httpserver, tmp_path, universe):
    assert "empty response body" in run_bad(httpserver, tmp_path, universe, b"")


def test_truncated_body(httpserver, tmp_path, universe):
    body = json.dumps(IWM_CHART).encode()[:300]
    message = run_bad(httpserver, tmp_path, universe, body)
    assert "truncated or invalid JSON" in message
    assert "line 1 column" in message


def test_json_error_object(httpserver, tmp_path, universe):
    message = run_bad(httpserver, tmp_path, universe, json.dumps(NOT_FOUND).encode())
    assert message == "yahoo: IWM: Yahoo error Not Found: No data found, symbol may be delisted"


def test_missing_column(httpserver, tmp_path, universe):
    chart = copy.deepcopy(IWM_CHART)
    del chart["chart"]["result"][0]["indicators"]["quote"][0]["close"]
    message = run_bad(httpserver, tmp_path, universe, json.dumps(chart).encode())
    assert "missing column 'close'" in message


def test_short_column(httpserver, tmp_path, universe):
    chart = with_quote(high=[206.04, None, 210.07])
    message = run_bad(httpserver, tmp_path, universe, json.dumps(chart).encode())
    assert "column 'high' has 3 values for 4 timestamps" in message


def test_response_for_another_symbol(httpserver, tmp_path, universe):
    chart = copy.deepcopy(IWM_CHART)
    chart["chart"]["result"][0]["meta"]["symbol"] = "QQQ"
    message = run_bad(httpserver, tmp_path, universe, json.dumps(chart).encode())
    assert "asked for 'IWM' but the response is for 'QQQ'" in message


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"close": [204.13, None, "abc", 210.3]}, "2024-03-27: close 'abc' is not a number"),
        ({"open": [205.35, None, 0, 209.89]}, "2024-03-27: open 0 is not a positive price"),
        ({"low": [-1.5, None, 205.6, 209.37]}, "2024-03-25: low -1.5 is not a positive price"),
        ({"volume": [31846200, None, -5, 23547000]}, "2024-03-27: volume -5 is not a whole"),
        (
            {"timestamp": [OPENS[0], OPENS[1], OPENS[2], OPENS[2] + 60]},
            "2024-03-27: duplicate date (row 3)",
        ),
        (
            {"timestamp": [OPENS[0], OPENS[2], OPENS[1], OPENS[3]]},
            "2024-03-26: dates out of order (row 2 comes after 2024-03-27)",
        ),
        ({"timestamp": [OPENS[0], OPENS[1], "x", OPENS[3]]}, "row 2: timestamp 'x' is not"),
    ],
    ids=["non-numeric", "zero", "negative", "negative-volume", "duplicate", "order", "stamp"],
)
def test_bad_values(httpserver, tmp_path, universe, changes, fragment):
    body = json.dumps(with_quote(**changes)).encode()
    assert fragment in run_bad(httpserver, tmp_path, universe, body)


def test_bad_adjusted_close_names_the_date(httpserver, tmp_path, universe):
    chart = copy.deepcopy(IWM_CHART)
    chart["chart"]["result"][0]["indicators"]["adjclose"][0]["adjclose"][3] = -206.67
    message = run_bad(httpserver, tmp_path, universe, json.dumps(chart).encode())
    assert "2024-03-28: adj_close -206.67 is not a positive price" in message


# -- what Yahoo cannot answer -----------------------------------------------------------
def test_rates_and_estimates_are_not_served(httpserver, tmp_path, universe):
    provider = make_provider(httpserver, tmp_path, universe)
    with pytest.raises(ProviderError, match=r"^yahoo does not serve rates$"):
        provider.rates(["DFF"], START, END)
    with pytest.raises(ProviderError, match=r"^yahoo does not serve estimates$"):
        provider.estimates(["sp500"], START, END)
    assert len(httpserver.log) == 0


def test_unknown_symbol_and_missing_code(httpserver, tmp_path, universe):
    with pytest.raises(ProviderError, match=r"^yahoo: symbol 'XYZ' is not in the universe"):
        make_provider(httpserver, tmp_path, universe).prices(["XYZ"], START, END)
    instruments = tuple(
        replace(i, codes={}) if i.symbol == "IWM" else i for i in universe.instruments
    )
    no_code = replace(universe, instruments=instruments)
    with pytest.raises(ProviderError, match=r"^yahoo: symbol 'IWM' has no yahoo_code"):
        make_provider(httpserver, tmp_path, no_code).prices(["IWM"], START, END)
    assert len(httpserver.log) == 0
