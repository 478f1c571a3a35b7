"""The XNYS calendar helpers in ingestion.calendar, checked against exchange_calendars."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd
import pytest

from ingestion.calendar import (
    is_session,
    last_completed_session,
    sessions_before,
    sessions_between,
)

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def reference():
    """exchange_calendars' own XNYS calendar, built independently of ingestion.calendar."""
    return xcals.get_calendar("XNYS", start="2014-01-01", end="2025-12-31")


def _expected(reference, start: date, end: date) -> list[date]:
    index = reference.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    return [ts.date() for ts in index]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2015, 1, 1), date(2024, 12, 31)),
        (date(2024, 3, 1), date(2024, 4, 30)),
        (date(2024, 7, 4), date(2024, 7, 4)),
        (date(2024, 7, 6), date(2024, 7, 7)),
    ],
)
def test_sessions_between_equals_exchange_calendars(reference, start, end):
    got = sessions_between(start, end)
    assert got == _expected(reference, start, end)
    assert all(isinstance(d, date) and not isinstance(d, datetime) for d in got)


def test_sessions_between_counts_and_bounds():
    # 2024 had 252 NYSE sessions; both ends are inclusive.
    year = sessions_between(date(2024, 1, 1), date(2024, 12, 31))
    assert len(year) == 252
    assert year[0] == date(2024, 1, 2)
    assert year[-1] == date(2024, 12, 31)
    assert sessions_between(date(2024, 7, 1), date(2024, 7, 3)) == [
        date(2024, 7, 1),
        date(2024, 7, 2),
        date(2024, 7, 3),
    ]


def test_sessions_between_empty_when_end_before_start():
    assert sessions_between(date(2024, 7, 10), date(2024, 7, 9)) == []
    assert sessions_between(date(2024, 7, 6), date(2024, 7, 7)) == []  # a weekend


@pytest.mark.parametrize(
    ("holiday", "before", "after"),
    [
        (date(2024, 7, 4), date(2024, 7, 3), date(2024, 7, 5)),  # Independence Day
        (date(2024, 11, 28), date(2024, 11, 27), date(2024, 11, 29)),  # Thanksgiving
        (date(2024, 3, 29), date(2024, 3, 28), date(2024, 4, 1)),  # Good Friday
    ],
)
def test_holidays_absent_and_neighbours_present(holiday, before, after):
    sessions = sessions_between(before - timedelta(days=7), after + timedelta(days=7))
    assert holiday not in sessions
    assert before in sessions
    assert after in sessions
    assert not is_session(holiday)
    assert is_session(before)
    assert is_session(after)
    # the neighbours are adjacent sessions: nothing in between
    assert sessions[sessions.index(before) + 1] == after


def test_weekends_are_not_sessions():
    assert not is_session(date(2024, 7, 6))
    assert not is_session(date(2024, 7, 7))
    assert is_session(date(2024, 7, 8))


def _ny(*args) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # a Tuesday before the 16:00 close: the previous session (Monday)
        (_ny(2024, 7, 9, 15, 59), date(2024, 7, 8)),
        # a Monday morning: the previous session is the Friday before
        (_ny(2024, 7, 8, 10, 0), date(2024, 7, 5)),
        # exactly at the close, and after it: that day
        (_ny(2024, 7, 9, 16, 0), date(2024, 7, 9)),
        (_ny(2024, 7, 9, 18, 30), date(2024, 7, 9)),
        (_ny(2024, 7, 9, 23, 59), date(2024, 7, 9)),
        # a Saturday and a Sunday: Friday
        (_ny(2024, 7, 13, 12, 0), date(2024, 7, 12)),
        (_ny(2024, 7, 14, 23, 0), date(2024, 7, 12)),
        # the day after Thanksgiving closes early at 13:00
        (_ny(2024, 11, 29, 13, 30), date(2024, 11, 29)),
        (_ny(2024, 11, 29, 12, 30), date(2024, 11, 27)),
        # Independence Day morning: 07-03 (itself an early close) is the last one
        (_ny(2024, 7, 4, 9, 0), date(2024, 7, 3)),
        (_ny(2024, 7, 4, 20, 0), date(2024, 7, 3)),
        # Good Friday: the Thursday before; Easter Monday before the close: still Thursday
        (_ny(2024, 3, 29, 17, 0), date(2024, 3, 28)),
        (_ny(2024, 4, 1, 11, 0), date(2024, 3, 28)),
        # winter (EST): 16:00 New York is 21:00 UTC
        (_ny(2024, 1, 9, 16, 5), date(2024, 1, 9)),
    ],
)
def test_last_completed_session(now, expected):
    assert last_completed_session(now) == expected


def test_last_completed_session_uses_new_york_time_for_utc_input():
    # 2024-07-10 01:00 UTC is 2024-07-09 21:00 in New York, after that day's close
    utc = ZoneInfo("UTC")
    assert last_completed_session(datetime(2024, 7, 10, 1, 0, tzinfo=utc)) == date(2024, 7, 9)
    # 19:59 UTC in July is 15:59 EDT: before the close
    assert last_completed_session(datetime(2024, 7, 9, 19, 59, tzinfo=utc)) == date(2024, 7, 8)
    # naive datetimes are taken as UTC
    assert last_completed_session(datetime(2024, 7, 9, 20, 0)) == date(2024, 7, 9)
    assert last_completed_session(datetime(2024, 7, 9, 19, 59)) == date(2024, 7, 8)


def test_last_completed_session_default_is_not_in_the_future():
    got = last_completed_session()
    assert is_session(got)
    assert got <= datetime.now(NEW_YORK).date()
    assert got >= datetime.now(NEW_YORK).date() - timedelta(days=10)


@pytest.mark.parametrize(
    ("day", "count", "expected"),
    [
        (date(2024, 7, 9), 0, date(2024, 7, 9)),
        (date(2024, 7, 9), 1, date(2024, 7, 8)),
        (date(2024, 7, 9), 2, date(2024, 7, 5)),  # over a weekend
        (date(2024, 7, 8), 3, date(2024, 7, 2)),  # over the weekend and 07-04
        (date(2024, 4, 1), 1, date(2024, 3, 28)),  # over Good Friday
        (date(2024, 12, 31), 251, date(2024, 1, 2)),
        (date(2024, 7, 8), 5, date(2024, 6, 28)),
    ],
)
def test_sessions_before_on_a_session(reference, day, count, expected):
    assert sessions_before(day, count) == expected
    if count:
        # the same answer as counting back through exchange_calendars' sessions
        window = _expected(reference, day - timedelta(days=2 * count + 10), day)
        assert window[-1 - count] == expected


def test_sessions_before_on_a_non_session_counts_from_the_previous_session():
    # 2024-07-06 is a Saturday: the anchor is Friday 07-05, and counting starts there
    assert sessions_before(date(2024, 7, 6), 0) == date(2024, 7, 5)
    assert sessions_before(date(2024, 7, 6), 1) == date(2024, 7, 3)
    assert sessions_before(date(2024, 7, 4), 1) == date(2024, 7, 2)
