"""FRED interest-rate series: the public CSV download, or the JSON API with FRED_API_KEY.

One request per series, asked for with its FRED id (the `fred_code` column of
rate_series.csv) and answered with the warehouse series id:

- without FRED_API_KEY: GET <FRED_CSV_BASE_URL>?id=<FRED id>&cosd=<start>&coed=<end>
  (default https://fred.stlouisfed.org/graph/fredgraph.csv). The header is
  `observation_date,<ID>` today and was `DATE,<ID>` before; both are read.
- with FRED_API_KEY: GET <FRED_API_BASE_URL>?series_id=..&api_key=..&file_type=json&
  observation_start=..&observation_end=.. (default
  https://api.stlouisfed.org/fred/series/observations), a JSON object whose
  `observations` list holds {"date", "value"} strings.

Either way a missing observation ("." or an empty value, as on holidays) is skipped, never
zero. Values are percent as FRED publishes them; one outside -5..50, a repeated date or a
date before its predecessor is an error naming series, date and line. The work is split as
query -> fetch -> parse: `csv_params` / `api_params` build the query, `FredProvider._fetch`
asks (the HttpClient keeps the raw body in the landing zone first), and the pure functions
`parse_csv` / `parse_json` turn bytes into a rates frame.

FRED takes the API key only as a query parameter, so it is in the request URL: messages
never contain the URL, any message that could quote a response is scrubbed of the key, and
httpx's own request log line is scrubbed too (`ingestion.http.hide_in_logs`).
"""

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from ingestion.http import HttpClient, HttpSettings, LandingZone, hide_in_logs
from ingestion.providers.base import ProviderError
from ingestion.providers.common import check_window, concat_sorted

if TYPE_CHECKING:
    from ingestion.providers import ProviderContext

NAME = "fred"
DEFAULT_CSV_BASE_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
DEFAULT_API_BASE_URL = "https://api.stlouisfed.org/fred/series/observations"
KEY_VARIABLE = "FRED_API_KEY"
DATE_HEADERS = ("observation_date", "DATE")
MISSING = ("", ".")
MIN_PERCENT = -5.0
MAX_PERCENT = 50.0
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ERROR_MESSAGE = re.compile(r'"error_message"\s*:\s*"((?:[^"\\]|\\.)*)')
HTTP_ERROR = re.compile(r"^(?P<head>.*?: HTTP \d{3}): (?P<body>.*)$", re.DOTALL)
REDACTED = "<redacted>"


def csv_params(code: str, start: date, end: date) -> dict[str, str]:
    """The fredgraph.csv query for one FRED id from `start` to `end` inclusive."""
    return {"id": code, "cosd": start.isoformat(), "coed": end.isoformat()}


def api_params(code: str, key: str, start: date, end: date) -> dict[str, str]:
    """The series/observations query for one FRED id from `start` to `end` inclusive."""
    return {
        "series_id": code,
        "api_key": key,
        "file_type": "json",
        "observation_start": start.isoformat(),
        "observation_end": end.isoformat(),
    }


def empty_rates() -> pd.DataFrame:
    """A rates frame with no rows and the provider-boundary dtypes."""
    return _frame("", [])


def parse_csv(body: bytes, series_id: str, code: str, start: date, end: date) -> pd.DataFrame:
    """A fredgraph.csv download for FRED id `code` -> rates rows of `series_id` in [start, end]."""
    where = f"{NAME}: {series_id}"
    text = _text(body, where, "CSV")
    if text.lstrip().startswith("{"):
        _raise_json_error(text, where)
        raise ProviderError(f"{where}: got JSON where a CSV download was expected")
    if not text.endswith("\n"):
        # FRED ends every download with a newline; without one the last line may be cut short
        # ("4.5" of "4.55") and would pass as a value.
        last = text.count("\n") + 1
        raise ProviderError(f"{where}: truncated body (line {last} does not end with a newline)")
    lines = list(csv.reader(io.StringIO(text)))
    header = [cell.strip() for cell in lines[0]]
    date_column = next((c for c in DATE_HEADERS if c in header), None)
    value_column = next((c for c in header if c.upper() == code.upper()), None)
    if date_column is None or value_column is None:
        wanted = f"{DATE_HEADERS[0]!r} (or {DATE_HEADERS[1]!r}) and {code!r}"
        raise ProviderError(f"{where}: line 1: expected columns {wanted}, got header {header}")
    date_at, value_at = header.index(date_column), header.index(value_column)

    def items() -> Iterable[tuple[str, str, str]]:
        for number, cells in enumerate(lines[1:], 2):
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                raise ProviderError(
                    f"{where}: line {number}: expected {len(header)} fields, got {len(cells)} "
                    f"({','.join(cells)!r})"
                )
            yield cells[date_at].strip(), cells[value_at].strip(), f"line {number}"

    return _frame(series_id, _observations(items(), where, start, end))


def parse_json(body: bytes, series_id: str, code: str, start: date, end: date) -> pd.DataFrame:
    """A series/observations JSON answer for `code` -> rates rows of `series_id` in [start, end]."""
    where = f"{NAME}: {series_id}"
    text = _text(body, where, "JSON")
    payload = _load_json(text, where)
    if isinstance(payload, dict) and ("error_message" in payload or "error_code" in payload):
        _raise_json_error(text, where)
    if not isinstance(payload, dict):
        raise ProviderError(f"{where}: expected a JSON object with 'observations'")
    observations = payload.get("observations")
    if not isinstance(observations, list):
        raise ProviderError(f"{where}: missing column 'observations' (a list) in the JSON answer")
    count = payload.get("count")
    if isinstance(count, int) and count > len(observations):
        raise ProviderError(
            f"{where}: FRED reported {count} observations but sent {len(observations)}"
        )

    def items() -> Iterable[tuple[str, str, str]]:
        for position, item in enumerate(observations):
            if not isinstance(item, dict):
                raise ProviderError(f"{where}: row {position} is not an object")
            missing = [f for f in ("date", "value") if f not in item]
            if missing:
                raise ProviderError(f"{where}: row {position}: missing column(s) {missing}")
            day, value = item["date"], item["value"]
            if not isinstance(day, str):
                raise ProviderError(f"{where}: row {position}: date {day!r} is not a date")
            yield day.strip(), value if isinstance(value, str) else repr(value), f"row {position}"

    return _frame(series_id, _observations(items(), where, start, end))


def _text(body: bytes, where: str, expected: str) -> str:
    text = body.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ProviderError(f"{where}: empty response body, expected {expected} observations")
    head = text.lstrip()[:200].lower()
    if head.startswith("<") or "<html" in head:
        raise ProviderError(
            f"{where}: got an HTML page where {expected} observations were expected"
        )
    return text


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProviderError(
            f"{where}: truncated or invalid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})"
        ) from None


def _raise_json_error(text: str, where: str) -> None:
    """Raise FRED's JSON error object as a message; return if `text` is not one."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return
    if isinstance(payload, dict) and ("error_message" in payload or "error_code" in payload):
        code = payload.get("error_code")
        message = str(payload.get("error_message") or "no error_message given")
        raise ProviderError(f"{where}: FRED error {code}: {message}")


def _observations(
    items: Iterable[tuple[str, str, str]], where: str, start: date, end: date
) -> list[tuple[date, float]]:
    """(date text, value text, position) -> (date, value) in [start, end]; missing skipped.

    Every row counts for order and duplicates, also those with a missing value or outside
    the window: a repeated or backwards date means the answer cannot be trusted.
    """
    rows: list[tuple[date, float]] = []
    previous: date | None = None
    for day_text, value_text, position in items:
        day = _date(day_text, where, position)
        if previous is not None and day == previous:
            raise ProviderError(f"{where}: {day}: duplicate date ({position})")
        if previous is not None and day < previous:
            raise ProviderError(
                f"{where}: {day}: dates out of order ({position} comes after {previous})"
            )
        previous = day
        if value_text in MISSING:
            continue
        value = _value(value_text, f"{where}: {day}", position)
        if start <= day <= end:
            rows.append((day, value))
    return rows


def _date(text: str, where: str, position: str) -> date:
    try:
        if not ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ProviderError(f"{where}: {position}: date {text!r} is not a date") from None


def _value(text: str, row: str, position: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ProviderError(f"{row}: value {text!r} is not a number ({position})") from None
    if not math.isfinite(value):
        raise ProviderError(f"{row}: value {text!r} is not a number ({position})")
    if not MIN_PERCENT <= value <= MAX_PERCENT:
        raise ProviderError(
            f"{row}: value {text!r} is outside {MIN_PERCENT:g}..{MAX_PERCENT:g} percent "
            f"({position})"
        )
    return value


def _frame(series_id: str, rows: list[tuple[date, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "series_id": pd.Series([series_id] * len(rows), dtype="str"),
            "observation_date": pd.Series(
                pd.to_datetime([r[0] for r in rows]), dtype="datetime64[ns]"
            ),
            "value": pd.Series([r[1] for r in rows], dtype="float64"),
        }
    )
    frame["source"] = pd.Series([NAME] * len(frame), dtype="str")
    return frame


class FredProvider:
    """Daily rate series from FRED; FRED serves no prices or estimates here."""

    name = NAME

    def __init__(
        self, context: "ProviderContext", http_settings: HttpSettings | None = None
    ) -> None:
        self.universe = context.universe
        env = context.env
        self.csv_base_url = (env.get("FRED_CSV_BASE_URL") or "").strip() or DEFAULT_CSV_BASE_URL
        self.api_base_url = (env.get("FRED_API_BASE_URL") or "").strip() or DEFAULT_API_BASE_URL
        # Kept private and only ever put into query parameters, never into a message.
        self._key = (env.get(KEY_VARIABLE) or "").strip()
        if self._key:
            hide_in_logs(self._key)
        landing = LandingZone(context.settings.landing_dir, context.settings.landing_retention_days)
        self.http = HttpClient(NAME, landing, http_settings or HttpSettings())

    @property
    def mode(self) -> str:
        """Which FRED endpoint is asked: 'api' with FRED_API_KEY, else 'csv'."""
        return "api" if self._key else "csv"

    def close(self) -> None:
        self.http.close()

    def _code(self, series_id: str) -> str:
        """The FRED id of a warehouse series (its fred_code in rate_series.csv)."""
        found = next((s for s in self.universe.rate_series if s.series_id == series_id), None)
        if found is None:
            raise ProviderError(f"{NAME}: series {series_id!r} is not in rate_series.csv")
        code = found.codes.get(NAME)
        if not code:
            raise ProviderError(
                f"{NAME}: FRED has no code for series {series_id!r} "
                "(its fred_code in rate_series.csv is empty)"
            )
        return code

    def _scrub(self, message: str) -> str:
        return message.replace(self._key, REDACTED) if self._key else message

    def _fetch(self, series_id: str, code: str, start: date, end: date) -> bytes:
        if self._key:
            url, params, suffix = self.api_base_url, api_params(code, self._key, start, end), "json"
        else:
            url, params, suffix = self.csv_base_url, csv_params(code, start, end), "csv"
        try:
            return self.http.get(url, params, label=series_id, suffix=suffix)
        except ProviderError as exc:
            raise ProviderError(_with_fred_error(str(exc))) from None

    def _parse(
        self, body: bytes, series_id: str, code: str, start: date, end: date
    ) -> pd.DataFrame:
        parse = parse_json if self._key else parse_csv
        return parse(body, series_id, code, start, end)

    def rates(self, series: list[str], start: date, end: date) -> pd.DataFrame:
        check_window(NAME, start, end)
        frames = []
        for series_id in sorted(set(series)):
            code = self._code(series_id)
            try:
                body = self._fetch(series_id, code, start, end)
                frames.append(self._parse(body, series_id, code, start, end))
            except ProviderError as exc:
                scrubbed = self._scrub(str(exc))
                if scrubbed == str(exc):
                    raise
                raise ProviderError(scrubbed) from None
        return concat_sorted(frames, ["series_id", "observation_date"], empty_rates())

    def prices(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        raise ProviderError(f"{NAME} does not serve prices")

    def estimates(self, universes: list[str], start: date, end: date) -> pd.DataFrame:
        raise ProviderError(f"{NAME} does not serve estimates")


def _with_fred_error(message: str) -> str:
    """HttpClient quotes the start of a 4xx body; show FRED's error_message instead of JSON."""
    match = HTTP_ERROR.match(message)
    found = ERROR_MESSAGE.search(match.group("body")) if match else None
    if match is None or found is None:
        return message
    try:
        text = json.loads(f'"{found.group(1)}"')
    except json.JSONDecodeError:
        text = found.group(1)  # cut off by HttpClient's 200-character quote
    return f"{match.group('head')}: FRED error: {text}"
