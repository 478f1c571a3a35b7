"""The Tiingo end-of-day provider against a local HTTP server: parsing, retries, faults and
keeping the API key out of URLs, messages and landing file names."""

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
from ingestion.providers.tiingo import TiingoProvider, parse_prices, prices_params
from ingestion.schemas import PRICES, validate
from ingestion.universe import load_universe
from tests.waiting import SAFETY_NET_SECONDS, wait_for

START = date(2024, 3, 25)
END = date(2024, 3, 28)
KEY = "canarykey0123456789"
QUERY = {
    "startDate": "2024-03-25",
    "endDate": "2024-03-28",
    "format": "json",
    "resampleFreq": "daily",
}
AUTH = {"Authorization": f"Token {KEY}"}


def bar(day, open_, high, low, close, volume, adj_close, div_cash=0.0) -> dict:
    """One element of Tiingo's list, with every field Tiingo sends."""
    factor = adj_close / close
    return {
        "date": f"{day}T00:00:00+00:00",
        "close": close,
        "high": high,
        "low": low,
        "open": open_,
        "volume": volume,
        "adjClose": adj_close,
        "adjHigh": high * factor,
        "adjLow": low * factor,
        "adjOpen": open_ * factor,
        "adjVolume": volume,
        "divCash": div_cash,
        "splitFactor": 1.0,
    }


IWM_PRICES = [
    bar("2024-03-25", 205.35, 206.04, 203.92, 204.13, 31846200, 200.6, div_cash=0.438),
    bar("2024-03-26", 204.62, 205.5, 203.41, 203.8, 25177700, 200.28),
    bar("2024-03-27", 205.9, 210.07, 205.6, 209.87, 38012000, 206.24),
    bar("2024-03-28", 209.89, 210.37, 209.37, 209.86, 23547000, 206.23),
]


@pytest.fixture(scope="module")
def universe():
    return load_universe()


def make_provider(httpserver, tmp_path, universe, key=KEY, **http) -> TiingoProvider:
    env = {
        "SAMPLE_END_DATE": "2024-03-28",
        "LANDING_DIR": str(tmp_path / "landing"),
        "TIINGO_BASE_URL": httpserver.url_for("/"),
    }
    if key is not None:
        env["TIINGO_API_KEY"] = key
    context = ProviderContext(universe, Settings.from_env(env), env)
    settings = {"backoff_initial_seconds": 0.01, "min_interval_seconds": 0, **http}
    return TiingoProvider(context, http_settings=HttpSettings(**settings))


def landed_files(tmp_path) -> list:
    return sorted(p for p in (tmp_path / "landing" / "tiingo").rglob("*") if p.is_file())


def expected(symbol, rows) -> pd.DataFrame:
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
            "source": pd.Series(["tiingo"] * len(rows), dtype="str"),
        }
    )


def changed(position: int, **fields) -> list[dict]:
    rows = copy.deepcopy(IWM_PRICES)
    rows[position].update(fields)
    return rows


# -- normal responses -------------------------------------------------------------------
def test_normal_response_is_parsed_to_the_exact_frame(httpserver, tmp_path, universe):
    httpserver.expect_request(
        "/IWM/prices", method="GET", query_string=QUERY, headers=AUTH
    ).respond_with_json(IWM_PRICES)
    frame = make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    want = expected(
        "IWM",
        [
            ("2024-03-25", 205.35, 206.04, 203.92, 204.13, 200.6, 31846200),
            ("2024-03-26", 204.62, 205.5, 203.41, 203.8, 200.28, 25177700),
            ("2024-03-27", 205.9, 210.07, 205.6, 209.87, 206.24, 38012000),
            ("2024-03-28", 209.89, 210.37, 209.37, 209.86, 206.23, 23547000),
        ],
    )
    pd.testing.assert_frame_equal(frame, want)
    pd.testing.assert_frame_equal(validate(frame, PRICES, "tiingo"), want)
    assert len(httpserver.log) == 1
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].name.endswith("_IWM.json")
    assert json.loads(files[0].read_bytes()) == IWM_PRICES


def test_key_travels_in_the_header_only(httpserver, tmp_path, universe):
    httpserver.expect_request("/IWM/prices").respond_with_json(IWM_PRICES)
    make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == f"Token {KEY}"
    assert KEY not in request.environ["RAW_URI"]
    assert KEY not in request.url


def test_dates_are_taken_as_written_and_filtered_to_the_window():
    # Midnight UTC is the evening before in New York: the date must not be converted.
    frame = parse_prices(json.dumps(IWM_PRICES).encode(), "IWM", date(2024, 3, 26), END)
    assert list(frame["session_date"].dt.strftime("%Y-%m-%d")) == [
        "2024-03-26",
        "2024-03-27",
        "2024-03-28",
    ]


def test_an_empty_list_gives_an_empty_frame(httpserver, tmp_path, universe):
    httpserver.expect_request("/IWM/prices").respond_with_json([])
    frame = make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, START)
    pd.testing.assert_frame_equal(frame, expected("IWM", []))


def test_a_null_close_is_skipped_and_other_nulls_stay_missing():
    rows = changed(1, close=None)
    rows[2].update(adjClose=None, volume=None)
    frame = parse_prices(json.dumps(rows).encode(), "IWM", START, END)
    assert list(frame["session_date"].dt.day) == [25, 27, 28]
    assert frame["adj_close"].isna().tolist() == [False, True, False]
    assert frame["volume"].isna().tolist() == [False, True, False]


def test_query_parameters():
    assert prices_params(START, END) == QUERY


def test_registry_builds_the_provider(tmp_path, universe):
    env = {"SAMPLE_END_DATE": "2024-03-28", "LANDING_DIR": str(tmp_path / "landing")}
    provider = get_provider("tiingo", ProviderContext(universe, Settings.from_env(env), env))
    assert isinstance(provider, TiingoProvider)
    assert isinstance(provider, MarketDataProvider)
    assert provider.base_url == "https://api.tiingo.com/tiingo/daily/"


# -- configuration ----------------------------------------------------------------------
def test_missing_key_fails_when_prices_are_asked_for(httpserver, tmp_path, universe):
    provider = make_provider(httpserver, tmp_path, universe, key=None)
    with pytest.raises(ProviderError) as caught:
        provider.prices(["IWM"], START, END)
    assert str(caught.value) == ("tiingo: IWM: TIINGO_API_KEY is not set; Tiingo needs an API key")
    assert len(httpserver.log) == 0


def test_index_without_tiingo_code(httpserver, tmp_path, universe):
    with pytest.raises(ProviderError) as caught:
        make_provider(httpserver, tmp_path, universe).prices(["RUT"], START, END)
    assert str(caught.value).startswith("tiingo: Tiingo has no code for symbol 'RUT'")
    assert len(httpserver.log) == 0


def test_unknown_symbol(httpserver, tmp_path, universe):
    with pytest.raises(ProviderError, match=r"^tiingo: symbol 'XYZ' is not in the universe"):
        make_provider(httpserver, tmp_path, universe).prices(["XYZ"], START, END)


def test_ticker_is_url_encoded(httpserver, tmp_path):
    universe = load_universe()
    instruments = tuple(
        replace(i, codes={**i.codes, "tiingo": "BRK/B"}) if i.symbol == "IWM" else i
        for i in universe.instruments
    )
    odd = replace(universe, instruments=instruments)
    httpserver.expect_request("/BRK/B/prices").respond_with_json(IWM_PRICES)
    make_provider(httpserver, tmp_path, odd).prices(["IWM"], START, END)
    assert httpserver.log[0][0].environ["RAW_URI"].startswith("/BRK%2FB/prices?")


def test_rates_and_estimates_are_not_served(httpserver, tmp_path, universe):
    provider = make_provider(httpserver, tmp_path, universe)
    with pytest.raises(ProviderError, match=r"^tiingo does not serve rates$"):
        provider.rates(["DFF"], START, END)
    with pytest.raises(ProviderError, match=r"^tiingo does not serve estimates$"):
        provider.estimates(["sp500"], START, END)


# -- HTTP faults ------------------------------------------------------------------------
def test_500_then_200_succeeds(httpserver, tmp_path, universe):
    httpserver.expect_ordered_request("/IWM/prices").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/IWM/prices").respond_with_json(IWM_PRICES)
    frame = make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    assert len(frame) == 4
    assert len(httpserver.log) == 2
    # The 500 body is kept beside the good one.
    names = sorted(p.name.split("_", 1)[1] for p in landed_files(tmp_path))
    assert names == ["IWM.http500.json", "IWM.json"]


def test_429_waits_for_retry_after_then_succeeds(httpserver, tmp_path, universe):
    httpserver.expect_ordered_request("/IWM/prices").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/IWM/prices").respond_with_json(IWM_PRICES)
    provider = make_provider(httpserver, tmp_path, universe)
    began = time.monotonic()
    frame = provider.prices(["IWM"], START, END)
    assert time.monotonic() - began >= 1.0
    assert len(frame) == 4
    assert len(httpserver.log) == 2
    # The 429 body is kept beside the good one.
    names = sorted(p.name.split("_", 1)[1] for p in landed_files(tmp_path))
    assert names == ["IWM.http429.json", "IWM.json"]


@pytest.mark.parametrize(
    ("status", "detail"),
    [(404, "Error: Ticker 'IWM' not found"), (401, "Invalid token.")],
    ids=["not-found", "bad-token"],
)
def test_4xx_fails_at_once_with_tiingo_detail(httpserver, tmp_path, universe, status, detail):
    httpserver.expect_request("/IWM/prices").respond_with_json({"detail": detail}, status=status)
    with pytest.raises(ProviderError) as caught:
        make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    message = str(caught.value)
    assert message.startswith(f"tiingo: IWM: HTTP {status}")
    assert detail in message
    assert KEY not in message
    assert len(httpserver.log) == 1
    # HttpClient lands successful bodies only: a 4xx body is quoted in the message instead.


def test_timeout_gives_provider_error_after_the_attempts(httpserver, tmp_path, universe):
    # Each attempt is answered only after the client gave up on it, so every attempt
    # times out however slow the machine is.
    gave_up = threading.Event()

    def slow(request):
        gave_up.wait(timeout=SAFETY_NET_SECONDS)
        return Response(json.dumps(IWM_PRICES), content_type="application/json")

    httpserver.expect_request("/IWM/prices").respond_with_handler(slow)
    provider = make_provider(httpserver, tmp_path, universe, timeout_seconds=0.1, attempts=2)
    try:
        with pytest.raises(ProviderError) as caught:
            provider.prices(["IWM"], START, END)
    finally:
        gave_up.set()
    message = str(caught.value)
    assert message.startswith("tiingo: IWM: no response after 2 attempts")
    assert "timed out" in message
    assert KEY not in message
    assert landed_files(tmp_path) == []
    # The test server is single-threaded: it logs each attempt once it has answered it.
    wait_for(lambda: len(httpserver.log) >= 2, "the server to answer both attempts")
    assert len(httpserver.log) == 2


# -- malformed bodies -------------------------------------------------------------------
def run_bad(httpserver, tmp_path, universe, body: bytes, content_type="application/json"):
    httpserver.expect_request("/IWM/prices").respond_with_data(body, content_type=content_type)
    with pytest.raises(ProviderError) as caught:
        make_provider(httpserver, tmp_path, universe).prices(["IWM"], START, END)
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].read_bytes() == body
    message = str(caught.value)
    assert message.startswith("tiingo: IWM: ")
    assert KEY not in message
    assert KEY not in files[0].name
    return message


def test_html_instead_of_json(httpserver, tmp_path, universe):
    body = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    assert "HTML page" in run_bad(httpserver, tmp_path, universe, body, "text/html")


def test_empty_body(httpserver, tmp_path, universe):
    assert "empty response body" in run_bad(httpserver, tmp_path, universe, b"")


def test_truncated_body(httpserver, tmp_path, universe):
    body = json.dumps(IWM_PRICES).encode()[:250]
    message = run_bad(httpserver, tmp_path, universe, body)
    assert "truncated or invalid JSON" in message
    assert "line 1 column" in message


def test_json_error_object(httpserver, tmp_path, universe):
    body = json.dumps({"detail": "Error: Ticker 'IWM' not found"}).encode()
    message = run_bad(httpserver, tmp_path, universe, body)
    assert message == "tiingo: IWM: Tiingo error: Error: Ticker 'IWM' not found"


def test_missing_column(httpserver, tmp_path, universe):
    rows = copy.deepcopy(IWM_PRICES)
    del rows[2]["adjClose"]
    message = run_bad(httpserver, tmp_path, universe, json.dumps(rows).encode())
    assert "2024-03-27: missing column(s) ['adjClose'] (row 2)" in message


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        (changed(2, close="209.87x"), "2024-03-27: close '209.87x' is not a number"),
        (changed(1, open=0), "2024-03-26: open 0 is not a positive price"),
        (changed(3, low=-209.37), "2024-03-28: low -209.37 is not a positive price"),
        (changed(0, adjClose=0.0), "2024-03-25: adjClose 0.0 is not a positive price"),
        (changed(1, volume=-1), "2024-03-26: volume -1 is not a whole"),
        (
            changed(3, date="2024-03-27T00:00:00+00:00"),
            "2024-03-27: duplicate date (row 3)",
        ),
        (
            changed(1, date="2024-03-24T00:00:00+00:00"),
            "2024-03-24: dates out of order (row 1 comes after 2024-03-25)",
        ),
        (changed(2, date="March 27"), "row 2: date 'March 27' is not a date"),
    ],
    ids=["non-numeric", "zero", "negative", "zero-adj", "volume", "duplicate", "order", "date"],
)
def test_bad_values(httpserver, tmp_path, universe, rows, fragment):
    assert fragment in run_bad(httpserver, tmp_path, universe, json.dumps(rows).encode())


# -- the key ----------------------------------------------------------------------------
def test_key_never_appears_in_messages_or_landing_names(httpserver, tmp_path, universe):
    provider = make_provider(httpserver, tmp_path, universe, attempts=2)
    answers = [
        ({"detail": "Invalid token."}, 401),
        ({"detail": "Error: Ticker 'IWM' not found"}, 404),
        ({"detail": "Invalid token."}, 200),
        ("<html>denied</html>", 200),
        ("", 200),
        ("busy", 503),
    ]
    messages = []
    for body, status in answers:
        httpserver.clear()
        if isinstance(body, dict):
            httpserver.expect_request("/IWM/prices").respond_with_json(body, status=status)
        else:
            httpserver.expect_request("/IWM/prices").respond_with_data(body, status=status)
        with pytest.raises(ProviderError) as caught:
            provider.prices(["IWM"], START, END)
        messages.append(str(caught.value))
    assert all(m.startswith("tiingo: IWM") for m in messages)
    assert not [m for m in messages if KEY in m]
    names = [str(p.relative_to(tmp_path)) for p in (tmp_path / "landing").rglob("*")]
    # Every body is kept: 401, 404, the three bad 200s and both 503 attempts.
    assert len(landed_files(tmp_path)) == 7
    assert not [n for n in names if KEY in n]
