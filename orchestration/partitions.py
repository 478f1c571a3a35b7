"""Daily partitions of the price and rate tables, for per-day status and backfills.

A partition is a calendar day in New York; weekends and holidays simply load nothing.
Today's partition exists from midnight (end_offset=1), so the 18:30 schedule can target
it. A run over a range of partitions is one run (single-run backfill policy) that
re-reads the whole range. Runs without a partition refresh incrementally as before.
"""

import os

from dagster import DailyPartitionsDefinition

from ingestion.config import DEFAULT_HISTORY_START

DAILY_PARTITIONS = DailyPartitionsDefinition(
    start_date=(os.environ.get("HISTORY_START") or "").strip() or DEFAULT_HISTORY_START.isoformat(),
    timezone="America/New_York",
    end_offset=1,
)
