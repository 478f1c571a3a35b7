"""NYSE (XNYS) sessions from exchange_calendars; never a hand-kept holiday list.

Also what the boundary checks of dated rows need: today's date in New York (the market's
own day, whatever the machine's time zone) and why a date is not a session.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

CALENDAR_START = date(1990, 1, 2)
NEW_YORK = ZoneInfo("America/New_York")


@lru_cache(maxsize=1)
def xnys() -> xcals.ExchangeCalendar:
    """The XNYS calendar from 1990 to the end of next year (cached, built in ~0.1 s)."""
    end = date(date.today().year + 1, 12, 31)
    return xcals.get_calendar("XNYS", start=CALENDAR_START.isoformat(), end=end.isoformat())


def sessions_between(start: date, end: date) -> list[date]:
    """Every XNYS session from start to end, both included."""
    if end < start:
        return []
    cal = xnys()
    index = cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    return index.date.tolist()  # converted in C, not through a Timestamp per session


def is_session(day: date) -> bool:
    return bool(xnys().is_session(pd.Timestamp(day)))


def last_completed_session(now: datetime | None = None) -> date:
    """The latest session whose close is at or before `now` (UTC-aware; default: now)."""
    moment = pd.Timestamp(now if now is not None else datetime.now().astimezone())
    if moment.tzinfo is None:
        moment = moment.tz_localize("UTC")
    cal = xnys()
    day = moment.tz_convert("America/New_York").date()
    for _ in range(15):
        if cal.is_session(pd.Timestamp(day)) and cal.session_close(pd.Timestamp(day)) <= moment:
            return day
        day -= timedelta(days=1)
    raise RuntimeError(f"no completed XNYS session in the 15 days before {moment}")


def sessions_before(day: date, count: int) -> date:
    """The session `count` sessions before `day`. On a non-session day the count starts at
    the previous session, so a refresh looks back one session further, never less."""
    cal = xnys()
    ts = pd.Timestamp(day)
    anchor = ts if cal.is_session(ts) else cal.date_to_session(ts, direction="previous")
    return cal.session_offset(anchor, -count).date()


def today_in_new_york(now: datetime | None = None) -> date:
    """The date in New York at `now` (aware; naive is taken as UTC; default: now)."""
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(NEW_YORK).date()


@lru_cache(maxsize=1)
def _session_days() -> frozenset[date]:
    return frozenset(ts.date() for ts in xnys().sessions)


def not_a_session(day: date) -> str | None:
    """None for an XNYS session, else why not, for messages: "a Saturday", "a Friday the
    exchange was closed", or outside the calendar's range."""
    cal = xnys()
    first, last = cal.first_session.date(), cal.last_session.date()
    if day < first:
        return f"before {first}, where the calendar starts"
    if day > last:
        return f"after {last}, where the calendar ends"
    if day in _session_days():
        return None
    weekday = day.strftime("%A")
    return f"a {weekday}" if day.weekday() >= 5 else f"a {weekday} the exchange was closed"


def session_date_problem(day: date, today: date) -> str | None:
    """Why a price cannot be dated `day`: after today in New York (no close yet) or not
    an XNYS session; None when it can."""
    if day > today:
        return future_date_problem(day, today)
    reason = not_a_session(day)
    return None if reason is None else f"{day} is not an XNYS session ({reason})"


def future_date_problem(day: date, today: date) -> str | None:
    """Why an observation cannot be dated `day`: after today in New York; None if not."""
    return f"{day} is after today in New York ({today})" if day > today else None
