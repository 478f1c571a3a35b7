"""Tiingo end-of-day prices (needs TIINGO_API_KEY).

One request per symbol: GET <TIINGO_BASE_URL><tiingo_code>/prices with startDate and
endDate (inclusive, YYYY-MM-DD), format=json and resampleFreq=daily. The key travels only
in the `Authorization: Token <key>` header, never in the URL, so it cannot reach a log, an
error message or a landing file name. The work is split as query -> fetch -> parse:
`prices_params` builds the query, `TiingoProvider._fetch` asks (and keeps the raw body in
the landing zone), and `parse_prices` turns the bytes into a prices frame.

Tiingo labels each bar with its session date at midnight UTC ("2024-03-28T00:00:00+00:00");
that calendar date is the session date as written (converting it to New York time would
shift it to the day before). OHLC and volume are the raw prices, adj_close is Tiingo's
split- and dividend-adjusted close. Tiingo has no codes for the indexes.
"""

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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

NAME = "tiingo"
DEFAULT_BASE_URL = "https://api.tiingo.com/tiingo/daily/"
KEY_VARIABLE = "TIINGO_API_KEY"
# Tiingo field -> prices column; every one must be present in each row.
FIELDS = {
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adjClose": "adj_close",
    "volume": "volume",
}


def prices_params(start: date, end: date) -> dict[str, str]:
    """The query for daily bars from `start` to `end` inclusive (no key: that is a header)."""
    return {
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "format": "json",
        "resampleFreq": "daily",
    }


def empty_prices() -> pd.DataFrame:
    """A prices frame with no rows and the provider-boundary dtypes."""
    return price_frame([], NAME)


def parse_prices(body: bytes, symbol: str, start: date, end: date) -> pd.DataFrame:
    """Tiingo's end-of-day JSON list for one symbol -> the prices frame rows in [start, end]."""
    where = f"{NAME}: {symbol}"
    payload = _load_json(body, where)
    if isinstance(payload, dict):
        if "detail" in payload:
            raise ProviderError(f"{where}: Tiingo error: {payload['detail']}")
        raise ProviderError(f"{where}: expected a JSON list of daily prices, got an object")
    if not isinstance(payload, list):
        raise ProviderError(f"{where}: expected a JSON list of daily prices")

    rows: list[tuple[Any, ...]] = []
    previous: date | None = None
    for position, item in enumerate(payload):
        if not isinstance(item, dict):
            raise ProviderError(f"{where}: row {position} is not an object")
        session = _session_date(item, where, position)
        if previous is not None and session == previous:
            raise ProviderError(f"{where}: {session}: duplicate date (row {position})")
        if previous is not None and session < previous:
            raise ProviderError(
                f"{where}: {session}: dates out of order (row {position} comes after {previous})"
            )
        previous = session
        row = f"{where}: {session}"
        missing = [field for field in FIELDS if field not in item]
        if missing:
            raise ProviderError(f"{row}: missing column(s) {missing} (row {position})")
        values = {
            column: checked_price(item[field], field, row)
            for field, column in FIELDS.items()
            if column != "volume"
        }
        if values["close"] is None or not start <= session <= end:
            continue
        volume = checked_volume(item["volume"], row)
        rows.append(
            (
                symbol,
                session,
                values["open"],
                values["high"],
                values["low"],
                values["close"],
                values["adj_close"],
                volume,
            )
        )
    return price_frame(rows, NAME)


def _load_json(body: bytes, where: str) -> Any:
    return load_json(body, where, "a JSON list of prices", "JSON prices were expected")


def _session_date(item: dict[str, Any], where: str, position: int) -> date:
    text = item.get("date")
    if not isinstance(text, str):
        raise ProviderError(f"{where}: row {position}: missing or non-text 'date' ({text!r})")
    try:
        # The date as Tiingo writes it: midnight UTC of the session, not converted.
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise ProviderError(f"{where}: row {position}: date {text!r} is not a date") from None


class TiingoProvider:
    """Daily prices from Tiingo; Tiingo serves no rates or estimates here."""

    name = NAME

    def __init__(
        self, context: "ProviderContext", http_settings: HttpSettings | None = None
    ) -> None:
        self.universe = context.universe
        base = (context.env.get("TIINGO_BASE_URL") or "").strip() or DEFAULT_BASE_URL
        self.base_url = base if base.endswith("/") else base + "/"
        key = (context.env.get(KEY_VARIABLE) or "").strip()
        self._has_key = bool(key)
        landing = LandingZone(context.settings.landing_dir, context.settings.landing_retention_days)
        # The key lives only in the client's headers; the provider never keeps or shows it.
        headers = {"Authorization": f"Token {key}"} if key else {}
        self.http = HttpClient(NAME, landing, http_settings or HttpSettings(), headers=headers)

    def close(self) -> None:
        self.http.close()

    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self.universe.instrument(symbol)
        except KeyError:
            raise ProviderError(f"{NAME}: symbol {symbol!r} is not in the universe") from None

    def _fetch(self, symbol: str, code: str, start: date, end: date) -> bytes:
        url = f"{self.base_url}{quote(code, safe='')}/prices"
        return self.http.get(url, prices_params(start, end), label=symbol, suffix="json")

    def prices(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        check_window(NAME, start, end)
        frames = []
        for symbol in sorted(set(symbols)):
            code = self._instrument(symbol).code_for(NAME)
            if code is None:
                raise ProviderError(
                    f"{NAME}: Tiingo has no code for symbol {symbol!r} "
                    "(its tiingo_code in instruments.csv is empty)"
                )
            if not self._has_key:
                raise ProviderError(
                    f"{NAME}: {symbol}: {KEY_VARIABLE} is not set; Tiingo needs an API key"
                )
            body = self._fetch(symbol, code, start, end)
            frames.append(parse_prices(body, symbol, start, end))
        return concat_sorted(frames, ["symbol", "session_date"], empty_prices())

    def rates(self, series: list[str], start: date, end: date) -> pd.DataFrame:
        raise ProviderError(f"{NAME} does not serve rates")

    def estimates(self, universes: list[str], start: date, end: date) -> pd.DataFrame:
        raise ProviderError(f"{NAME} does not serve estimates")
