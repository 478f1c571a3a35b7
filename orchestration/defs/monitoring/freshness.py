"""How fresh each layer must be, judged on the XNYS calendar by the overdue sensor.

Prices and marts must hold the last completed NYSE session three hours after its close;
rates must be under four days old, estimates under 35 days. The same expectations are
declared as freshness policies (orchestration/shared.py), which the Dagster UI shows;
their cron knows weekends but not holidays, hence this judgement of its own.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import AssetKey, DagsterInstance

from ingestion.calendar import last_completed_session, sessions_before, xnys

SESSION_GRACE = timedelta(hours=3)


@dataclass(frozen=True)
class Expectation:
    """How recent an asset's last materialization must be: as of the last session's close
    (plus the grace), or within `max_age`."""

    key: AssetKey
    kind: str  # "session" or "window"
    max_age: timedelta | None = None


def session_deadline_passed(now: datetime) -> datetime:
    """The latest session close plus the grace that is already past: data must be newer.
    In the grace hours after a close that is the previous session's deadline."""
    session = last_completed_session(now)
    deadline = _session_close(session) + SESSION_GRACE
    if deadline > now:
        deadline = _session_close(sessions_before(session, 1)) + SESSION_GRACE
    return deadline


def _session_close(session: date) -> datetime:
    return xnys().session_close(pd.Timestamp(session)).to_pydatetime()


def overdue(
    instance: DagsterInstance, expectations: Iterable[Expectation], now: datetime
) -> list[str]:
    """Sentences naming each asset that is later than its expectation, or never built."""
    late = []
    for item in expectations:
        event = instance.get_latest_materialization_event(item.key)
        built = datetime.fromtimestamp(event.timestamp, tz=UTC) if event is not None else None
        name = item.key.to_user_string()
        if built is None:
            late.append(f"{name} has never been materialized")
            continue
        if item.kind == "session":
            deadline = session_deadline_passed(now)
            if now >= deadline and built < deadline - SESSION_GRACE:
                late.append(
                    f"{name} was last built {built:%Y-%m-%d %H:%M} UTC, before the close of "
                    f"{last_completed_session(now)}"
                )
        elif item.max_age is not None and now - built > item.max_age:
            late.append(
                f"{name} was last built {built:%Y-%m-%d %H:%M} UTC, "
                f"over {item.max_age.days} days ago"
            )
    return late


EXPECTATIONS: list[Expectation] = [
    Expectation(AssetKey(["raw", "prices"]), "session"),
    Expectation(AssetKey(["raw", "rates"]), "window", timedelta(days=4)),
    Expectation(AssetKey(["raw", "earnings_estimates"]), "window", timedelta(days=35)),
    Expectation(AssetKey(["marts", "divergence_daily"]), "session"),
    Expectation(AssetKey(["marts", "market_pulse_daily"]), "session"),
]
