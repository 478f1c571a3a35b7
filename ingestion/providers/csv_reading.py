"""Reading CSV text from vendor exports: the bytes, the rows and the fields of a row.

Files must be UTF-8 (a byte-order mark is allowed), not an HTML or XML page, and hold a
header and at least one data row; blank rows are skipped and every other row has as many
fields as the header. Headers are compared after `normalise_header`. A field spelled as
one of `MISSING` is a missing value. Every problem raises `FileFormatError` naming the
file and, where there is one, the line.
"""

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date

import numpy as np
import pandas as pd

from ingestion.calendar import future_date_problem

# One end of a window of dates; None leaves that side open.
Bound = date | None
# Spellings of "no value" in vendor exports (FRED writes "."; Yahoo once wrote "null").
MISSING = frozenset({"", ".", "null", "nan", "na", "n/a", "none"})
DATE_TEXT = re.compile(r"^(\d{4})(-?)(\d{2})\2(\d{2})(?:[T ].*)?$")


class FileFormatError(ValueError):
    """A CSV file cannot be read as documented; the message names the file and line."""


def normalise_header(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def decode(body: bytes, file: str) -> str:
    """The text of a file that is UTF-8 and not empty, nor a web page."""
    if not body.strip():
        raise FileFormatError(f"{file}: the file is empty")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise FileFormatError(
            f"{file} line {line}: not UTF-8 text (byte 0x{body[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from None
    if text.lstrip().startswith("<"):
        raise FileFormatError(f"{file}: looks like an HTML or XML page, not CSV")
    return text


def read_rows(text: str, file: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the (line number, fields) of every non-blank data row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise FileFormatError(f"{file} line 1: {exc}") from None

    def body() -> Iterator[tuple[int, list[str]]]:
        count = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                if not count:
                    raise FileFormatError(f"{file}: a header but no data rows") from None
                return
            except csv.Error as exc:
                raise FileFormatError(f"{file} line {reader.line_num}: {exc}") from None
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                raise FileFormatError(
                    f"{file} line {reader.line_num}: {len(fields)} field(s) where the header "
                    f"has {len(header)} (a truncated or malformed row)"
                )
            count += 1
            yield reader.line_num, fields

    return header, body()


def is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def parse_date(text: str, where: str, column: str) -> date:
    match = DATE_TEXT.match(text.strip())
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        raise FileFormatError(
            f"{where}: {column} {text!r} is not a date (expected YYYY-MM-DD)"
        ) from None


def parse_number(text: str, where: str, column: str) -> float | None:
    if is_missing(text):
        return None
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FileFormatError(f"{where}: {column} {text!r} is not a number")
    return value


def parse_volume(text: str, where: str, column: str) -> int | None:
    value = parse_number(text, where, column)
    if value is None:
        return None
    stripped = text.strip()
    # Whole numbers written as integers are read exactly, not through a float.
    whole = int(stripped) if stripped.lstrip("+-").isdecimal() else None
    if whole is None and value.is_integer():
        whole = int(value)
    if whole is None or not 0 <= whole < 2**63:
        raise FileFormatError(f"{where}: {column} {text!r} is not a whole, non-negative number")
    return whole


def check_order(
    seen: dict[date, int], previous: tuple[date, int] | None, day: date, where: str
) -> None:
    """Dates must be unique and ascending; `seen` maps each date to its line."""
    if day in seen:
        raise FileFormatError(f"{where}: date {day} repeats line {seen[day]}")
    if previous is not None and day < previous[0]:
        raise FileFormatError(
            f"{where}: date {day} comes after {previous[0]} (line {previous[1]}); dates must ascend"
        )


def check_not_future(day: date, today: date, where: str, column: str) -> None:
    problem = future_date_problem(day, today)
    if problem is not None:
        raise FileFormatError(f"{where}: {column} {problem}")


def between(day: date, start: Bound, end: Bound) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def date_series(values: Iterable[date]) -> pd.Series:
    """Dates as a datetime64[ns] column, the frames' type for them."""
    return pd.Series(np.array(list(values), dtype="datetime64[D]").astype("datetime64[ns]"))
