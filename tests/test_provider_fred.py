"""The FRED rates provider against a local HTTP server, in both modes (the public CSV
download without FRED_API_KEY, the JSON observations API with it): parsing both CSV header
styles, retries, every fault, and keeping the API key out of messages, logs and landing
file names."""

import json
import logging
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from werkzeug import Response

from ingestion.config import Settings
from ingestion.http import HttpSettings
from ingestion.providers import ProviderContext, get_provider
from ingestion.providers.base import MarketDataProvider, ProviderError
from ingestion.providers.fred import (
    FredProvider,
    api_params,
    csv_params,
    parse_csv,
    parse_json,
)
from ingestion.schemas import RATES, validate
from tests.waiting import SAFETY_NET_SECONDS, wait_for

START = date(2024, 3, 25)
END = date(2024, 4, 1)
KEY = "canarykey0123456789abcdef0123456"
CSV_PATH = "/graph/fredgraph.csv"
API_PATH = "/fred/series/observations"
PATHS = {"csv": CSV_PATH, "api": API_PATH}
CSV_QUERY = {"id": "DGS2", "cosd": "2024-03-25", "coed": "2024-04-01"}
API_QUERY = {
    "series_id": "DGS2",
    "api_key": KEY,
    "file_type": "json",
    "observation_start": "2024-03-25",
    "observation_end": "2024-04-01",
}
MODES = ["csv", "api"]
# Untouched FRED downloads shared by the team (read in place, never copied into the repo).
REAL_RATES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"

# DGS2 as FRED published it (2-year Treasury, percent); Good Friday 2024-03-29 has no value.
DGS2 = [
    ("2024-03-25", "4.54"),
    ("2024-03-26", "4.56"),
    ("2024-03-27", "4.54"),
    ("2024-03-28", "4.59"),
    ("2024-03-29", None),
    ("2024-04-01", "4.72"),
]
DGS2_EXPECTED = [
    ("2024-03-25", 4.54),
    ("2024-03-26", 4.56),
    ("2024-03-27", 4.54),
    ("2024-03-28", 4.59),
    ("2024-04-01", 4.72),
]
# FRED's own answer to a malformed key (HTTP 400), byte for byte apart from spacing.
BAD_KEY_ERROR = {
    "error_code": 400,
    "error_message": "Bad Request.  The value for variable api_key is not a 32 character "
    "alpha-numeric lower-case string.  Read https://fred.stlouisfed.org/docs/api/api_key.html "
    "for more information.",
}


def csv_body(rows, date_header="observation_date", code="DGS2", missing="") -> bytes:
    """fredgraph.csv as FRED writes it: a header line, `date,value` lines, a final newline."""
    lines = [f"{date_header},{code}"]
    lines += [f"{day},{missing if value is None else value}" for day, value in rows]
    return ("\n".join(lines) + "\n").encode()


def json_body(rows, code="DGS2") -> bytes:
    """The series/observations answer with every top-level field FRED sends."""
    payload = {
        "realtime_start": "2024-04-02",
        "realtime_end": "2024-04-02",
        "observation_start": "2024-03-25",
        "observation_end": "2024-04-01",
        "units": "lin",
        "output_type": 1,
        "file_type": "json",
        "order_by": "observation_date",
        "sort_order": "asc",
        "count": len(rows),
        "offset": 0,
        "limit": 100000,
        "observations": [
            {
                "realtime_start": "2024-04-02",
                "realtime_end": "2024-04-02",
                "date": day,
                "value": "." if value is None else value,
            }
            for day, value in rows
        ],
    }
    return json.dumps(payload).encode()


def body_for(mode, rows) -> bytes:
    return csv_body(rows) if mode == "csv" else json_body(rows)


def position(mode, index) -> str:
    """How a message points at DGS2[index]: a CSV line (header is line 1) or a JSON row."""
    return f"line {index + 2}" if mode == "csv" else f"row {index}"


def changed(index, day=None, value="keep") -> list:
    rows = list(DGS2)
    old_day, old_value = rows[index]
    rows[index] = (day or old_day, old_value if value == "keep" else value)
    return rows


def make_provider(httpserver, tmp_path, universe, mode="csv", **http) -> FredProvider:
    env = {
        "SAMPLE_END_DATE": "2024-03-28",
        "LANDING_DIR": str(tmp_path / "landing"),
        "FRED_CSV_BASE_URL": httpserver.url_for(CSV_PATH),
        "FRED_API_BASE_URL": httpserver.url_for(API_PATH),
    }
    if mode == "api":
        env["FRED_API_KEY"] = KEY
    context = ProviderContext(universe, Settings.from_env(env), env)
    settings = {"backoff_initial_seconds": 0.01, "min_interval_seconds": 0, **http}
    return FredProvider(context, http_settings=HttpSettings(**settings))


def landed_files(tmp_path) -> list:
    return sorted(p for p in (tmp_path / "landing" / "fred").rglob("*") if p.is_file())


def assert_key_absent(tmp_path, *texts) -> None:
    for text in texts:
        assert KEY not in text
    for path in (tmp_path / "landing").rglob("*"):
        assert KEY not in str(path.relative_to(tmp_path))


def expected(series_id, rows) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": pd.Series([series_id] * len(rows), dtype="str"),
            "observation_date": pd.Series(
                pd.to_datetime([r[0] for r in rows]), dtype="datetime64[ns]"
            ),
            "value": pd.Series([r[1] for r in rows], dtype="float64"),
            "source": pd.Series(["fred"] * len(rows), dtype="str"),
        }
    )


# -- normal responses -------------------------------------------------------------------
def test_csv_current_header_is_parsed_to_the_exact_frame(httpserver, tmp_path, universe):
    body = csv_body(DGS2)
    assert body.startswith(b"observation_date,DGS2\n2024-03-25,4.54\n")
    assert b"\n2024-03-29,\n" in body
    httpserver.expect_request(CSV_PATH, method="GET", query_string=CSV_QUERY).respond_with_data(
        body, content_type="text/csv"
    )
    frame = make_provider(httpserver, tmp_path, universe).rates(["DGS2"], START, END)
    want = expected("DGS2", DGS2_EXPECTED)
    pd.testing.assert_frame_equal(frame, want)
    pd.testing.assert_frame_equal(validate(frame, RATES, "fred"), want)
    assert len(httpserver.log) == 1
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].name.endswith("_DGS2.csv")
    assert files[0].read_bytes() == body


def test_csv_old_header_with_dots_for_missing_values(httpserver, tmp_path, universe):
    body = csv_body(DGS2, date_header="DATE", missing=".")
    assert body.startswith(b"DATE,DGS2\n")
    assert b"\n2024-03-29,.\n" in body
    httpserver.expect_request(CSV_PATH, query_string=CSV_QUERY).respond_with_data(body)
    frame = make_provider(httpserver, tmp_path, universe).rates(["DGS2"], START, END)
    pd.testing.assert_frame_equal(frame, expected("DGS2", DGS2_EXPECTED))
    assert landed_files(tmp_path)[0].read_bytes() == body


def test_csv_with_crlf_line_ends_and_byte_order_mark():
    body = b"\xef\xbb\xbf" + csv_body(DGS2).replace(b"\n", b"\r\n")
    frame = parse_csv(body, "DGS2", "DGS2", START, END)
    pd.testing.assert_frame_equal(frame, expected("DGS2", DGS2_EXPECTED))


def test_json_api_is_parsed_to_the_exact_frame(httpserver, tmp_path, universe):
    body = json_body(DGS2)
    httpserver.expect_request(API_PATH, method="GET", query_string=API_QUERY).respond_with_data(
        body, content_type="application/json"
    )
    provider = make_provider(httpserver, tmp_path, universe, mode="api")
    assert provider.mode == "api"
    frame = provider.rates(["DGS2"], START, END)
    pd.testing.assert_frame_equal(frame, expected("DGS2", DGS2_EXPECTED))
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].name.endswith("_DGS2.json")
    assert files[0].read_bytes() == body
    assert_key_absent(tmp_path)


def test_daily_series_with_every_calendar_day(httpserver, tmp_path, universe):
    rows = [(f"2024-03-{day}", "5.50") for day in range(25, 32)] + [("2024-04-01", "5.50")]
    query = {**CSV_QUERY, "id": "DFEDTARU"}
    httpserver.expect_request(CSV_PATH, query_string=query).respond_with_data(
        csv_body(rows, code="DFEDTARU")
    )
    frame = make_provider(httpserver, tmp_path, universe).rates(["DFEDTARU"], START, END)
    pd.testing.assert_frame_equal(frame, expected("DFEDTARU", [(d, 5.5) for d, _ in rows]))


@pytest.mark.parametrize("mode", MODES)
def test_only_rows_inside_the_window_are_returned(mode):
    parse = parse_csv if mode == "csv" else parse_json
    frame = parse(body_for(mode, DGS2), "DGS2", "DGS2", date(2024, 3, 26), date(2024, 3, 29))
    pd.testing.assert_frame_equal(frame, expected("DGS2", DGS2_EXPECTED[1:4]))


@pytest.mark.parametrize("mode", MODES)
def test_no_observations_gives_an_empty_frame(httpserver, tmp_path, universe, mode):
    httpserver.expect_request(PATHS[mode]).respond_with_data(body_for(mode, []))
    provider = make_provider(httpserver, tmp_path, universe, mode=mode)
    frame = provider.rates(["DGS2"], START, START)
    pd.testing.assert_frame_equal(frame, expected("DGS2", []))
    assert len(landed_files(tmp_path)) == 1


def test_several_series_are_sorted_by_key(httpserver, tmp_path, universe):
    httpserver.expect_request(CSV_PATH, query_string=CSV_QUERY).respond_with_data(csv_body(DGS2))
    httpserver.expect_request(CSV_PATH, query_string={**CSV_QUERY, "id": "DFF"}).respond_with_data(
        csv_body([("2024-03-25", "5.33")], code="DFF")
    )
    frame = make_provider(httpserver, tmp_path, universe).rates(["DGS2", "DFF"], START, END)
    assert list(frame["series_id"]) == ["DFF"] + ["DGS2"] * 5
    assert [p.name.split("_", 1)[1] for p in landed_files(tmp_path)] == ["DFF.csv", "DGS2.csv"]


@pytest.mark.parametrize("mode", MODES)
def test_the_fred_code_is_asked_and_the_series_id_returned(httpserver, tmp_path, mode, universe):
    series = tuple(
        replace(s, codes={**s.codes, "fred": "DGS2X"}) if s.series_id == "DGS2" else s
        for s in universe.rate_series
    )
    odd = replace(universe, rate_series=series)
    key = "id" if mode == "csv" else "series_id"
    query = {**(CSV_QUERY if mode == "csv" else API_QUERY), key: "DGS2X"}
    body = csv_body(DGS2, code="DGS2X") if mode == "csv" else json_body(DGS2, code="DGS2X")
    httpserver.expect_request(PATHS[mode], query_string=query).respond_with_data(body)
    frame = make_provider(httpserver, tmp_path, odd, mode=mode).rates(["DGS2"], START, END)
    pd.testing.assert_frame_equal(frame, expected("DGS2", DGS2_EXPECTED))


@pytest.mark.parametrize("folder", ["rates_fredgraph", "rates"])
def test_real_fred_download_parses(folder):
    path = REAL_RATES / folder / "DGS2.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    body = path.read_bytes()
    frame = parse_csv(body, "DGS2", "DGS2", date(2021, 1, 1), date(2024, 12, 31))
    lines = body.decode().splitlines()[1:]
    kept = [line for line in lines if "2021-01-01" <= line[:10] <= "2024-12-31"]
    assert len(frame) == len([line for line in kept if not line.endswith(",")])
    window = frame.set_index("observation_date")["value"]
    assert window[pd.Timestamp("2024-03-28")] == 4.59
    assert window[pd.Timestamp("2024-04-01")] == 4.72
    assert pd.Timestamp("2024-03-29") not in window.index  # Good Friday: empty in the download
    validate(frame, RATES, "fred")


def test_query_parameters():
    assert csv_params("DGS2", START, END) == CSV_QUERY
    assert api_params("DGS2", KEY, START, END) == API_QUERY


def test_registry_builds_the_provider_with_public_defaults(tmp_path, universe):
    env = {"SAMPLE_END_DATE": "2024-03-28", "LANDING_DIR": str(tmp_path / "landing")}
    provider = get_provider("fred", ProviderContext(universe, Settings.from_env(env), env))
    assert isinstance(provider, FredProvider)
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "fred"
    assert provider.mode == "csv"
    assert provider.csv_base_url == "https://fred.stlouisfed.org/graph/fredgraph.csv"
    assert provider.api_base_url == "https://api.stlouisfed.org/fred/series/observations"
    keyed = {**env, "FRED_API_KEY": KEY}
    provider = get_provider("fred", ProviderContext(universe, Settings.from_env(keyed), keyed))
    assert provider.mode == "api"
    assert KEY not in repr(provider)
    assert KEY not in repr(vars(provider).get("http"))


# -- configuration and datasets ---------------------------------------------------------
def test_unknown_series(httpserver, tmp_path, universe):
    with pytest.raises(ProviderError, match=r"^fred: series 'T10Y2Y' is not in rate_series.csv$"):
        make_provider(httpserver, tmp_path, universe).rates(["T10Y2Y"], START, END)
    assert len(httpserver.log) == 0


def test_series_without_fred_code(httpserver, tmp_path, universe):
    series = tuple(
        replace(s, codes={k: v for k, v in s.codes.items() if k != "fred"})
        if s.series_id == "DFF"
        else s
        for s in universe.rate_series
    )
    odd = replace(universe, rate_series=series)
    with pytest.raises(ProviderError) as caught:
        make_provider(httpserver, tmp_path, odd).rates(["DFF"], START, END)
    assert str(caught.value).startswith("fred: FRED has no code for series 'DFF'")
    assert len(httpserver.log) == 0


def test_prices_and_estimates_are_not_served(httpserver, tmp_path, universe):
    provider = make_provider(httpserver, tmp_path, universe)
    with pytest.raises(ProviderError, match=r"^fred does not serve prices$"):
        provider.prices(["IWM"], START, END)
    with pytest.raises(ProviderError, match=r"^fred does not serve estimates$"):
        provider.estimates(["sp500"], START, END)


# -- HTTP faults ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_500_then_200_succeeds(httpserver, tmp_path, universe, mode):
    httpserver.expect_ordered_request(PATHS[mode]).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(PATHS[mode]).respond_with_data(body_for(mode, DGS2))
    frame = make_provider(httpserver, tmp_path, universe, mode=mode).rates(["DGS2"], START, END)
    pd.testing.assert_frame_equal(frame, expected("DGS2", DGS2_EXPECTED))
    assert len(httpserver.log) == 2
    names = [p.name.split("_", 1)[1] for p in landed_files(tmp_path)]
    suffix = "csv" if mode == "csv" else "json"
    assert sorted(names) == sorted([f"DGS2.http500.{suffix}", f"DGS2.{suffix}"])
    assert_key_absent(tmp_path)


def test_429_waits_for_retry_after_then_succeeds(httpserver, tmp_path, universe):
    httpserver.expect_ordered_request(CSV_PATH).respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(CSV_PATH).respond_with_data(csv_body(DGS2))
    provider = make_provider(httpserver, tmp_path, universe)
    began = time.monotonic()
    frame = provider.rates(["DGS2"], START, END)
    assert time.monotonic() - began >= 1.0
    assert len(frame) == 5
    assert len(httpserver.log) == 2
    assert len(landed_files(tmp_path)) == 2  # the 429 body and the data


@pytest.mark.parametrize("mode", MODES)
def test_404_fails_at_once_without_retry(httpserver, tmp_path, universe, mode):
    body = "<html><body><h1>Not Found</h1></body></html>"
    httpserver.expect_request(PATHS[mode]).respond_with_data(body, status=404)
    provider = make_provider(httpserver, tmp_path, universe, mode=mode)
    with pytest.raises(ProviderError) as caught:
        provider.rates(["DGS2"], START, END)
    message = str(caught.value)
    assert message.startswith("fred: DGS2: HTTP 404")
    assert len(httpserver.log) == 1
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert ".http404." in files[0].name
    assert files[0].read_text() == body
    assert_key_absent(tmp_path, message)


def test_json_error_with_http_400_surfaces_error_message(httpserver, tmp_path, universe):
    httpserver.expect_request(API_PATH).respond_with_json(BAD_KEY_ERROR, status=400)
    provider = make_provider(httpserver, tmp_path, universe, mode="api")
    with pytest.raises(ProviderError) as caught:
        provider.rates(["DGS2"], START, END)
    message = str(caught.value)
    assert message.startswith(
        "fred: DGS2: HTTP 400: FRED error: Bad Request.  The value for variable api_key is "
        "not a 32 character alpha-numeric lower-case string."
    )
    assert len(httpserver.log) == 1
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].name.endswith("_DGS2.http400.json")
    assert json.loads(files[0].read_bytes()) == BAD_KEY_ERROR
    assert_key_absent(tmp_path, message)


@pytest.mark.parametrize("status", [200, 400])
def test_a_fred_error_quoting_the_key_is_scrubbed(httpserver, tmp_path, universe, status):
    error = {"error_code": 400, "error_message": f"Bad Request.  api_key {KEY} is unknown."}
    httpserver.expect_request(API_PATH).respond_with_json(error, status=status)
    provider = make_provider(httpserver, tmp_path, universe, mode="api")
    with pytest.raises(ProviderError) as caught:
        provider.rates(["DGS2"], START, END)
    message = str(caught.value)
    assert "FRED error" in message
    assert "api_key <redacted> is unknown." in message
    assert caught.value.__cause__ is None
    assert_key_absent(tmp_path, message, repr(caught.value))
    assert len(landed_files(tmp_path)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_timeout_gives_provider_error_after_the_attempts(httpserver, tmp_path, universe, mode):
    # Each attempt is answered only after the client gave up on it, so every attempt
    # times out however slow the machine is.
    gave_up = threading.Event()

    def slow(request):
        gave_up.wait(timeout=SAFETY_NET_SECONDS)
        return Response(body_for(mode, DGS2))

    httpserver.expect_request(PATHS[mode]).respond_with_handler(slow)
    provider = make_provider(
        httpserver, tmp_path, universe, mode=mode, timeout_seconds=0.1, attempts=2
    )
    try:
        with pytest.raises(ProviderError) as caught:
            provider.rates(["DGS2"], START, END)
    finally:
        gave_up.set()
    message = str(caught.value)
    assert message.startswith("fred: DGS2: no response after 2 attempts")
    assert "timed out" in message
    assert landed_files(tmp_path) == []
    assert_key_absent(tmp_path, message)
    # The test server is single-threaded: it logs each attempt once it has answered it.
    wait_for(lambda: len(httpserver.log) >= 2, "the server to answer both attempts")
    assert len(httpserver.log) == 2


# -- malformed bodies -------------------------------------------------------------------
def run_bad(httpserver, tmp_path, universe, mode, body: bytes, content_type=None) -> str:
    httpserver.expect_request(PATHS[mode]).respond_with_data(body, content_type=content_type)
    provider = make_provider(httpserver, tmp_path, universe, mode=mode)
    with pytest.raises(ProviderError) as caught:
        provider.rates(["DGS2"], START, END)
    files = landed_files(tmp_path)
    assert len(files) == 1
    assert files[0].read_bytes() == body
    message = str(caught.value)
    assert message.startswith("fred: DGS2: ")
    assert_key_absent(tmp_path, message)
    return message


@pytest.mark.parametrize("mode", MODES)
def test_html_instead_of_data(httpserver, tmp_path, universe, mode):
    body = b"<!DOCTYPE html>\n<html><head><title>FRED | St. Louis Fed</title></head></html>"
    message = run_bad(httpserver, tmp_path, universe, mode, body, "text/html")
    assert "got an HTML page where" in message


@pytest.mark.parametrize("mode", MODES)
def test_empty_body(httpserver, tmp_path, universe, mode):
    assert "empty response body" in run_bad(httpserver, tmp_path, universe, mode, b"")


def test_truncated_csv(httpserver, tmp_path, universe):
    body = csv_body(DGS2)[:-3]  # "2024-04-01,4.72\n" cut to "2024-04-01,4."
    message = run_bad(httpserver, tmp_path, universe, "csv", body)
    assert message == "fred: DGS2: truncated body (line 7 does not end with a newline)"


def test_truncated_csv_inside_a_date():
    body = csv_body(DGS2)[:-13] + b"\n"  # "2024-04-01,4.72" cut to "2024-0"
    with pytest.raises(ProviderError, match=r"^fred: DGS2: line 7: expected 2 fields, got 1"):
        parse_csv(body, "DGS2", "DGS2", START, END)


def test_truncated_json(httpserver, tmp_path, universe):
    body = json_body(DGS2)[:400]
    message = run_bad(httpserver, tmp_path, universe, "api", body)
    assert "truncated or invalid JSON" in message
    assert "line 1 column" in message


def test_csv_missing_column(httpserver, tmp_path, universe):
    body = csv_body(DGS2, code="DGS10")
    message = run_bad(httpserver, tmp_path, universe, "csv", body)
    assert message.startswith(
        "fred: DGS2: line 1: expected columns 'observation_date' (or 'DATE') and 'DGS2', "
        "got header ['observation_date', 'DGS10']"
    )


def test_json_missing_observations(httpserver, tmp_path, universe):
    body = json.dumps({"realtime_start": "2024-04-02", "count": 0}).encode()
    message = run_bad(httpserver, tmp_path, universe, "api", body)
    assert "missing column 'observations'" in message


def test_json_observation_missing_value(httpserver, tmp_path, universe):
    payload = json.loads(json_body(DGS2))
    del payload["observations"][2]["value"]
    message = run_bad(httpserver, tmp_path, universe, "api", json.dumps(payload).encode())
    assert message == "fred: DGS2: row 2: missing column(s) ['value']"


def test_json_fewer_observations_than_count(httpserver, tmp_path, universe):
    payload = json.loads(json_body(DGS2))
    payload["count"] = 7
    message = run_bad(httpserver, tmp_path, universe, "api", json.dumps(payload).encode())
    assert message == "fred: DGS2: FRED reported 7 observations but sent 6"


@pytest.mark.parametrize("mode", MODES)
def test_json_error_object_with_http_200(httpserver, tmp_path, universe, mode):
    body = json.dumps(
        {"error_code": 400, "error_message": "Bad Request.  The series does not exist."}
    ).encode()
    message = run_bad(httpserver, tmp_path, universe, mode, body, "application/json")
    assert message == "fred: DGS2: FRED error 400: Bad Request.  The series does not exist."


BAD_VALUES = [
    ("non-numeric", changed(2, value="4.5x"), 2, "2024-03-27: value '4.5x' is not a number"),
    (
        "too-high",
        changed(3, value="75.00"),
        3,
        "2024-03-28: value '75.00' is outside -5..50 percent",
    ),
    (
        "too-low",
        changed(0, value="-5.25"),
        0,
        "2024-03-25: value '-5.25' is outside -5..50 percent",
    ),
    ("nan", changed(1, value="NaN"), 1, "2024-03-26: value 'NaN' is not a number"),
    ("duplicate", changed(5, day="2024-03-29"), 5, "2024-03-29: duplicate date"),
    ("order", changed(1, day="2024-03-24"), 1, "2024-03-24: dates out of order"),
    ("date", changed(2, day="03/27/2024"), 2, "date '03/27/2024' is not a date"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("rows", "index", "fragment"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES]
)
def test_bad_values(httpserver, tmp_path, universe, mode, rows, index, fragment):
    message = run_bad(httpserver, tmp_path, universe, mode, body_for(mode, rows))
    assert fragment in message
    assert position(mode, index) in message


def test_out_of_order_names_the_previous_date():
    body = csv_body(changed(1, day="2024-03-24"))
    with pytest.raises(ProviderError) as caught:
        parse_csv(body, "DGS2", "DGS2", START, END)
    assert str(caught.value) == (
        "fred: DGS2: 2024-03-24: dates out of order (line 3 comes after 2024-03-25)"
    )


def test_a_bad_value_outside_the_window_still_fails():
    # The whole answer is suspect, not only the rows that were asked for.
    body = csv_body(changed(0, value="75.00"))
    with pytest.raises(ProviderError, match=r"2024-03-25: value '75\.00' is outside"):
        parse_csv(body, "DGS2", "DGS2", date(2024, 3, 27), END)


# -- the key ----------------------------------------------------------------------------
def test_key_never_appears_in_messages_or_landing_names(httpserver, tmp_path, universe):
    provider = make_provider(httpserver, tmp_path, universe, mode="api", attempts=2)
    answers = [
        (BAD_KEY_ERROR, 400),
        ({"error_code": 404, "error_message": "Not Found"}, 404),
        (BAD_KEY_ERROR, 200),
        ("<html>denied</html>", 200),
        ("", 200),
        ("busy", 503),
        ("x" * 500, 403),
    ]
    messages = []
    for body, status in answers:
        httpserver.clear()
        if isinstance(body, dict):
            httpserver.expect_request(API_PATH).respond_with_json(body, status=status)
        else:
            httpserver.expect_request(API_PATH).respond_with_data(body, status=status)
        with pytest.raises(ProviderError) as caught:
            provider.rates(["DGS2"], START, END)
        messages.append(str(caught.value))
    assert all(m.startswith("fred: DGS2") for m in messages)
    assert_key_absent(tmp_path, *messages)
    # every body is kept: 3 data bodies, one per 4xx, two for the 503 attempts
    assert len(landed_files(tmp_path)) == 8


def test_key_is_scrubbed_from_the_httpx_request_log(httpserver, tmp_path, universe, caplog):
    httpserver.expect_request(API_PATH, query_string=API_QUERY).respond_with_data(json_body(DGS2))
    with caplog.at_level(logging.INFO, logger="httpx"):
        make_provider(httpserver, tmp_path, universe, mode="api").rates(["DGS2"], START, END)
    # werkzeug's lines are the test server's own log, not the pipeline's.
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]
    assert any("api_key=<redacted>" in m for m in ours if m.startswith("HTTP Request: GET"))
    assert not [m for m in ours if KEY in m]
    assert len(httpserver.log) == 1
