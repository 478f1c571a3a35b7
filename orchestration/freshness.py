"""How fresh each layer must be, declared for the UI and checked by a sensor.

Prices and marts must hold the last completed NYSE session a few hours after its close;
rates within about one business day; estimates within 35 days. The declared policies show
in the Dagster UI. Cron policies know weekends but not holidays, so the overdue sensor
judges prices and marts against the XNYS calendar itself.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import (
    AssetKey,
    AssetSpec,
    DagsterInstance,
    DefaultSensorStatus,
    FreshnessPolicy,
    SensorEvaluationContext,
    SkipReason,
    apply_freshness_policy,
    sensor,
)

from ingestion.calendar import last_completed_session, sessions_before, xnys

NEW_YORK = "America/New_York"
SESSION_GRACE = timedelta(hours=3)

SESSION_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron="30 21 * * 1-5",
    lower_bound_delta=timedelta(hours=5, minutes=30),
    timezone=NEW_YORK,
)
RATES_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(days=4), warn_window=timedelta(days=2)
)
ESTIMATES_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(days=35), warn_window=timedelta(days=32)
)


def with_freshness_policy(spec: AssetSpec) -> AssetSpec:
    """The declared policy of a raw table or mart; other assets keep none."""
    policy = {
        ("raw", "prices"): SESSION_FRESHNESS,
        ("raw", "rates"): RATES_FRESHNESS,
        ("raw", "earnings_estimates"): ESTIMATES_FRESHNESS,
    }.get(tuple(spec.key.path))
    if policy is None and spec.key.path[0] == "marts":
        policy = SESSION_FRESHNESS
    return apply_freshness_policy(spec, policy) if policy is not None else spec


@dataclass(frozen=True)
class Expectation:
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


@sensor(
    name="freshness_overdue_sensor",
    minimum_interval_seconds=15 * 60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Logs every asset that is later than its freshness expectation.",
)
def freshness_overdue_sensor(context: SensorEvaluationContext) -> SkipReason:
    late = overdue(context.instance, EXPECTATIONS, datetime.now(UTC))
    for sentence in late:
        context.log.warning(f"overdue: {sentence}")
    return SkipReason("overdue: " + "; ".join(late) if late else "everything is fresh")
