"""NYSE (XNYS) sessions from exchange_calendars; never a hand-kept holiday list."""

from datetime import date, datetime, timedelta
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

CALENDAR_START = date(1990, 1, 2)


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
    return [ts.date() for ts in index]


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
