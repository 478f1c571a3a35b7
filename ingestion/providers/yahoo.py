"""Yahoo Finance daily prices from the public chart JSON endpoint (no API key).

One request per symbol: GET <YAHOO_BASE_URL><yahoo_code> with the window as UTC epoch
seconds (period1 = start 00:00, period2 = end + 1 day 00:00), daily bars, dividends and
splits, and the adjusted close. The work is split as query -> fetch -> parse: `chart_params`
builds the query, `YahooProvider._fetch` asks (and keeps the raw body in the landing zone),
and `parse_chart` turns the bytes into a prices frame without touching the network.

Yahoo stamps each bar with the session's market open in UTC; the session date is that
instant's date in the exchange's time zone (`meta.exchangeTimezoneName`). Bars whose close
is null (Yahoo emits them on some days) are skipped. OHLC are the prices as Yahoo reports
them: not adjusted for dividends, but Yahoo does restate them for later splits. adj_close
is Yahoo's split- and dividend-adjusted close. Indexes carry no adjusted close (adj_close
is then missing) and report a volume of 0, which is stored as missing because an index
has no volume.
"""

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from ingestion.http import HttpClient, HttpSettings, LandingZone
from ingestion.providers.base import ProviderError
from ingestion.providers.common import check_window, concat_sorted
from ingestion.providers.json_prices import (
    checked_price,
    checked_volume,
    load_json,
    price_frame,
)
from ingestion.universe import Instrument

if TYPE_CHECKING:
    from ingestion.providers import ProviderContext

NAME = "yahoo"
DEFAULT_BASE_URL = "https://query1.finance.yahoo.com/v8/finance/chart/"
DEFAULT_TIMEZONE = "America/New_York"
PRICE_FIELDS = ("open", "high", "low", "close")


def chart_params(start: date, end: date) -> dict[str, str]:
    """The query for daily bars from `start` to `end` inclusive."""
    return {
        "period1": str(_epoch(start)),
        "period2": str(_epoch(end + timedelta(days=1))),
        "interval": "1d",
        "events": "div,splits",
        "includeAdjustedClose": "true",
    }


def _epoch(day: date) -> int:
    return int(datetime.combine(day, time(0, 0), tzinfo=UTC).timestamp())


def empty_prices() -> pd.DataFrame:
    """A prices frame with no rows and the provider-boundary dtypes."""
    return price_frame([], NAME)


def parse_chart(
    body: bytes,
    symbol: str,
    start: date,
    end: date,
    *,
    code: str | None = None,
    zero_volume_is_missing: bool = False,
) -> pd.DataFrame:
    """Yahoo's chart JSON for one symbol -> the prices frame rows inside [start, end].

    `code` (the Yahoo ticker asked for) is checked against `meta.symbol` when given;
    `zero_volume_is_missing` turns a volume of 0 into a missing value (indexes).
    """
    where = f"{NAME}: {symbol}"
    payload = _load_json(body, where)
    result = _chart_result(payload, where)
    meta = result.get("meta") or {}
    if not isinstance(meta, dict):
        raise ProviderError(f"{where}: 'meta' is not an object")
    answered = meta.get("symbol")
    if code is not None and answered is not None and str(answered).upper() != code.upper():
        raise ProviderError(f"{where}: asked for {code!r} but the response is for {answered!r}")
    zone = _zone(meta, where)

    timestamps = result.get("timestamp")
    indicators = result.get("indicators")
    if not isinstance(indicators, dict):
        raise ProviderError(f"{where}: missing 'indicators' in the chart result")
    quote_block = _first_block(indicators, "quote", where)
    if timestamps is None and not any(quote_block.get(f) for f in PRICE_FIELDS):
        # Yahoo leaves out 'timestamp' (and the quote arrays) when the window has no bars.
        return empty_prices()
    if not isinstance(timestamps, list):
        raise ProviderError(f"{where}: 'timestamp' is missing or not a list")

    columns: dict[str, list[Any]] = {}
    for field in (*PRICE_FIELDS, "volume"):
        columns[field] = _array(quote_block, field, len(timestamps), where, "quote")
    adjusted = indicators.get("adjclose")
    if adjusted:
        columns["adj_close"] = _array(
            _first_block(indicators, "adjclose", where), "adjclose", len(timestamps), where, "adj"
        )
    else:
        columns["adj_close"] = [None] * len(timestamps)

    rows: list[tuple[Any, ...]] = []
    previous: date | None = None
    for position, stamp in enumerate(timestamps):
        session = _session_date(stamp, zone, where, position)
        if previous is not None and session == previous:
            raise ProviderError(f"{where}: {session}: duplicate date (row {position})")
        if previous is not None and session < previous:
            raise ProviderError(
                f"{where}: {session}: dates out of order (row {position} comes after {previous})"
            )
        previous = session
        row = f"{where}: {session}"
        close = checked_price(columns["close"][position], "close", row)
        if close is None or not start <= session <= end:
            continue
        prices = [checked_price(columns[f][position], f, row) for f in ("open", "high", "low")]
        adj_close = checked_price(columns["adj_close"][position], "adj_close", row)
        volume = checked_volume(columns["volume"][position], row)
        if zero_volume_is_missing and volume == 0:
            volume = None
        rows.append((symbol, session, *prices, close, adj_close, volume))
    return price_frame(rows, NAME)


def _load_json(body: bytes, where: str) -> Any:
    return load_json(body, where, "chart JSON", "chart JSON was expected")


def _chart_result(payload: Any, where: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ProviderError(f"{where}: expected a JSON object with 'chart'")
    # Yahoo's other APIs answer errors as {"finance": {"error": ...}} (e.g. when throttled).
    envelope = payload.get("chart", payload.get("finance"))
    if not isinstance(envelope, dict):
        raise ProviderError(f"{where}: expected a JSON object with 'chart'")
    error = envelope.get("error")
    if error:
        if isinstance(error, dict):
            code = error.get("code") or "error"
            description = error.get("description") or "no description"
            raise ProviderError(f"{where}: Yahoo error {code}: {description}")
        raise ProviderError(f"{where}: Yahoo error {error}")
    results = envelope.get("result")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise ProviderError(f"{where}: the chart has no result")
    return results[0]


def _zone(meta: Mapping[str, Any], where: str) -> ZoneInfo:
    name = meta.get("exchangeTimezoneName") or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ProviderError(f"{where}: unknown exchange time zone {name!r}") from None


def _first_block(indicators: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    blocks = indicators.get(key)
    if not isinstance(blocks, list) or not blocks or not isinstance(blocks[0], dict):
        raise ProviderError(f"{where}: missing 'indicators.{key}' in the chart result")
    return blocks[0]


def _array(block: Mapping[str, Any], field: str, length: int, where: str, kind: str) -> list[Any]:
    values = block.get(field)
    if values is None:
        raise ProviderError(f"{where}: missing column {field!r} in the {kind} indicators")
    if not isinstance(values, list) or len(values) != length:
        count = len(values) if isinstance(values, list) else "no"
        raise ProviderError(f"{where}: column {field!r} has {count} values for {length} timestamps")
    return values


def _session_date(stamp: Any, zone: ZoneInfo, where: str, position: int) -> date:
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        raise ProviderError(f"{where}: row {position}: timestamp {stamp!r} is not a number")
    try:
        return datetime.fromtimestamp(stamp, tz=zone).date()
    except (OverflowError, OSError, ValueError):
        raise ProviderError(
            f"{where}: row {position}: timestamp {stamp!r} is out of range"
        ) from None


class YahooProvider:
    """Daily prices from Yahoo Finance; Yahoo serves no rates or estimates here."""

    name = NAME

    def __init__(
        self, context: "ProviderContext", http_settings: HttpSettings | None = None
    ) -> None:
        self.universe = context.universe
        base = (context.env.get("YAHOO_BASE_URL") or "").strip() or DEFAULT_BASE_URL
        self.base_url = base if base.endswith("/") else base + "/"
        landing = LandingZone(context.settings.landing_dir, context.settings.landing_retention_days)
        self.http = HttpClient(NAME, landing, http_settings or HttpSettings())

    def close(self) -> None:
        self.http.close()

    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self.universe.instrument(symbol)
        except KeyError:
            raise ProviderError(f"{NAME}: symbol {symbol!r} is not in the universe") from None

    def _fetch(self, symbol: str, code: str, start: date, end: date) -> bytes:
        url = self.base_url + quote(code, safe="")
        return self.http.get(url, chart_params(start, end), label=symbol, suffix="json")

    def prices(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        check_window(NAME, start, end)
        frames = []
        for symbol in sorted(set(symbols)):
            instrument = self._instrument(symbol)
            code = instrument.code_for(NAME)
            if code is None:
                raise ProviderError(
                    f"{NAME}: symbol {symbol!r} has no yahoo_code in instruments.csv"
                )
            body = self._fetch(symbol, code, start, end)
            frames.append(
                parse_chart(
                    body,
                    symbol,
                    start,
                    end,
                    code=code,
                    zero_volume_is_missing=instrument.kind == "index",
                )
            )
        return concat_sorted(frames, ["symbol", "session_date"], empty_prices())

    def rates(self, series: list[str], start: date, end: date) -> pd.DataFrame:
        raise ProviderError(f"{NAME} does not serve rates")

    def estimates(self, universes: list[str], start: date, end: date) -> pd.DataFrame:
        raise ProviderError(f"{NAME} does not serve estimates")
