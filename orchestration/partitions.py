"""Monthly partitions of the price and rate tables: what each load covered, and backfills.

A partition is a calendar month in New York. Months, not days: Dagster records one
materialization event per partition, about 12 ms each on the SQLite instance, so a first
load of the 2015-2026 history as daily partitions (4,353 days, two assets, a planned and a
materialized event each) spent over three minutes writing events; as 144 months it is
about four seconds. The current month's partition exists from its first day
(end_offset=1), so the 18:30 schedule can target it.

A run over one or more partitions is one run (single-run backfill policy) that re-reads
every day of them, up to the last completed session. The schedules target the month they
load for its status but read only their lookback (`reread_partitions=False` on the
market data resource). Runs without a partition refresh incrementally as before.
"""

import os
from datetime import date, datetime, time

from dagster import AssetKey, DagsterInstance, MonthlyPartitionsDefinition

from ingestion.config import DEFAULT_HISTORY_START
from orchestration.shared import NEW_YORK

PARTITIONED_TABLES = (AssetKey(["raw", "prices"]), AssetKey(["raw", "rates"]))


def _first_month() -> date:
    start = (os.environ.get("HISTORY_START") or "").strip()
    day = date.fromisoformat(start) if start else DEFAULT_HISTORY_START
    return day.replace(day=1)


MONTHLY_PARTITIONS = MonthlyPartitionsDefinition(
    start_date=_first_month().isoformat(),
    timezone=NEW_YORK,
    end_offset=1,
)


def month_partition(day: date) -> str:
    """The key of the partition holding `day`: its month's first day."""
    return day.replace(day=1).isoformat()


def partitions_to_load(instance: DagsterInstance, last_day: date) -> tuple[str, str]:
    """First and last partition a command-line run loads, through `last_day`'s month.

    From the first month that either raw table lacks on the instance, so a first run
    records the whole history and a later one the current month (and any month a failed
    backfill left missing).
    """
    end = month_partition(last_day)
    keys = MONTHLY_PARTITIONS.get_partition_keys(
        current_time=datetime.combine(last_day, time(23, 59))
    )
    keys = [key for key in keys if key <= end]
    done = set(instance.get_materialized_partitions(PARTITIONED_TABLES[0])).intersection(
        *(instance.get_materialized_partitions(key) for key in PARTITIONED_TABLES[1:])
    )
    missing = [key for key in keys if key not in done]
    return (missing[0] if missing else end), end
