"""Checked values from JSON price answers, and the PRICES frame built from them.

Shared by the JSON providers (Yahoo, Tiingo): each value is checked where it is read, so
an error names the provider, symbol and row the caller put in `row`.
"""

import json
import math
from typing import Any

import pandas as pd

from ingestion.providers.base import ProviderError

COLUMNS = ("symbol", "session_date", "open", "high", "low", "close", "adj_close", "volume")


def checked_number(value: Any, field: str, row: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProviderError(f"{row}: {field} {value!r} is not a number")
    return float(value)


def checked_price(value: Any, field: str, row: str) -> float | None:
    number = checked_number(value, field, row)
    if number is not None and number <= 0:
        raise ProviderError(f"{row}: {field} {value!r} is not a positive price")
    return number


def checked_volume(value: Any, row: str) -> int | None:
    number = checked_number(value, "volume", row)
    if number is None:
        return None
    if number < 0 or not number.is_integer():
        raise ProviderError(f"{row}: volume {value!r} is not a whole, non-negative number")
    return int(number)


def price_frame(rows: list[tuple[Any, ...]], source: str) -> pd.DataFrame:
    """Rows of (symbol, session_date, open, high, low, close, adj_close, volume) as a
    PRICES frame with exact dtypes, also when there are none."""
    data = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    frame = pd.DataFrame(
        {
            "symbol": pd.Series(data[0], dtype="str"),
            "session_date": pd.Series(pd.to_datetime(list(data[1])), dtype="datetime64[ns]"),
            "open": pd.Series(data[2], dtype="float64"),
            "high": pd.Series(data[3], dtype="float64"),
            "low": pd.Series(data[4], dtype="float64"),
            "close": pd.Series(data[5], dtype="float64"),
            "adj_close": pd.Series(data[6], dtype="float64"),
            "volume": pd.Series(data[7], dtype="Int64"),
        }
    )
    frame["source"] = pd.Series([source] * len(frame), dtype="str")
    return frame


def load_json(body: bytes, where: str, expected: str, html_hint: str) -> Any:
    """The parsed body, or a ProviderError for an empty, HTML or truncated answer."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise ProviderError(f"{where}: empty response body, expected {expected}")
    if text.startswith("<"):
        raise ProviderError(f"{where}: got an HTML page where {html_hint}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProviderError(
            f"{where}: truncated or invalid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})"
        ) from None
