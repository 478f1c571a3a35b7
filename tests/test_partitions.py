"""Which month partitions a command-line run records: the whole history on a first run,
then the current month, and any month either raw table still lacks."""

from datetime import date, datetime

from dagster import AssetMaterialization, DagsterInstance

from orchestration.partitions import (
    MONTHLY_PARTITIONS,
    PARTITIONED_TABLES,
    month_partition,
    partitions_to_load,
)
from orchestration.run import partition_tags

PRICES, RATES = PARTITIONED_TABLES


def _record(instance: DagsterInstance, key, months: list[str]) -> None:
    for month in months:
        instance.report_runless_asset_event(AssetMaterialization(asset_key=key, partition=month))


def test_a_month_partition_is_keyed_by_its_first_day():
    assert month_partition(date(2024, 3, 28)) == "2024-03-01"
    assert month_partition(date(2024, 3, 1)) == "2024-03-01"
    # The default history, 2015-01 through the current month: 144 partitions on 2026-12-01.
    keys = MONTHLY_PARTITIONS.get_partition_keys(current_time=datetime(2026, 12, 1, 12))
    assert (keys[0], keys[-1], len(keys)) == ("2015-01-01", "2026-12-01", 144)


def test_a_first_run_records_the_whole_history_and_a_later_one_the_current_month():
    instance = DagsterInstance.ephemeral()
    first = MONTHLY_PARTITIONS.get_first_partition_key()
    assert partitions_to_load(instance, date(2024, 3, 28)) == (first, "2024-03-01")

    months = [
        key
        for key in MONTHLY_PARTITIONS.get_partition_keys(current_time=datetime(2024, 3, 28))
        if key <= "2024-03-01"
    ]
    _record(instance, PRICES, months)
    # Rates still lack every month: the run must record them all.
    assert partitions_to_load(instance, date(2024, 3, 28)) == (first, "2024-03-01")
    _record(instance, RATES, [month for month in months if month != "2020-05-01"])
    assert partitions_to_load(instance, date(2024, 3, 28)) == ("2020-05-01", "2024-03-01")
    _record(instance, RATES, ["2020-05-01"])
    assert partitions_to_load(instance, date(2024, 3, 28)) == ("2024-03-01", "2024-03-01")
    # A new month begins: only it is loaded and recorded.
    assert partitions_to_load(instance, date(2024, 4, 1)) == ("2024-04-01", "2024-04-01")


def test_one_partition_is_tagged_as_such_and_a_range_by_its_ends():
    assert partition_tags("2024-03-01", "2024-03-01") == {"dagster/partition": "2024-03-01"}
    assert partition_tags("2024-01-01", "2024-03-01") == {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2024-03-01",
    }
