"""Backfill: a range of monthly partitions is re-read in one run, its status is recorded,
and marts rebuilt after it equal the marts of one full load (floats to 1e-12 relative: the
rebuild is incremental, see tests/table_equality.py)."""

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import raw_checks
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.shared import MarketDataResource, build_resources
from tests.table_equality import assert_same_contents, table_contents

pytestmark = [pytest.mark.slow, pytest.mark.long]

EVERYTHING = [*ingestion_assets, warehouse_dbt_models, *raw_checks]
RAW_PRICES, RAW_RATES = AssetKey(["raw", "prices"]), AssetKey(["raw", "rates"])
MARTS = [
    "divergence_daily",
    "divergence_weekly",
    "outperformance_streaks",
    "streak_status",
    "sector_rotation_weekly",
    "rates_regime_daily",
    "market_pulse_daily",
]


def _resources(path):
    return {
        **build_resources(str(path)),
        "market_data": MarketDataResource(history_start="2024-02-01", end_date="2024-03-28"),
    }


def _mart_checksums(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            mart: con.execute(f"select count(*), sum(hash(t)) from marts.{mart} t").fetchone()
            for mart in MARTS
        }


def test_a_backfilled_range_rebuilds_the_same_marts_as_a_full_load(tmp_path):
    full, repaired = tmp_path / "full.duckdb", tmp_path / "repaired.duckdb"
    assert materialize(
        EVERYTHING, resources=_resources(full), instance=DagsterInstance.ephemeral()
    ).success

    instance = DagsterInstance.ephemeral()
    resources = _resources(repaired)
    assert materialize(EVERYTHING, resources=resources, instance=instance).success
    # Early March goes wrong after the fact: a week lost, a price restated by hand. Both
    # lie outside the nightly lookback, so only a backfill can repair them.
    with duckdb.connect(str(repaired)) as con:
        con.execute(
            "delete from raw.prices where session_date between '2024-03-04' and '2024-03-08'"
        )
        con.execute(
            "update raw.prices set close = close * 2, adj_close = adj_close * 2, "
            "high = high * 2 where symbol = 'SPX' and session_date = '2024-03-12'"
        )
        con.execute("delete from raw.rates where observation_date = '2024-03-05'")
    # Both full loads agree; the damage has not reached the marts yet.
    assert _mart_checksums(repaired) == _mart_checksums(full)

    backfill = materialize(
        EVERYTHING,
        resources=resources,
        instance=instance,
        selection=[RAW_PRICES, RAW_RATES],
        tags={
            "dagster/asset_partition_range_start": "2024-02-01",
            "dagster/asset_partition_range_end": "2024-03-01",
        },
    )
    assert backfill.success
    # One run covered the whole range, and both months of it show as materialized.
    months = {"2024-02-01", "2024-03-01"}
    assert months <= instance.get_materialized_partitions(RAW_PRICES)
    assert months <= instance.get_materialized_partitions(RAW_RATES)
    with duckdb.connect(str(repaired), read_only=True) as con:
        window_start, window_end = con.execute(
            "select window_start, window_end from raw.load_log "
            "where asset = 'raw/prices' and scope = 'RUT' order by started_at desc limit 1"
        ).fetchone()
        (restored,) = con.execute(
            "select count(*) from raw.prices where session_date between '2024-03-04' and "
            "'2024-03-08'"
        ).fetchone()
    # February and March re-read whole, up to the last completed session.
    assert (str(window_start), str(window_end)) == ("2024-02-01", "2024-03-28")
    assert restored == 36 * 5

    models = [key for key in warehouse_dbt_models.keys]
    assert materialize(EVERYTHING, resources=resources, instance=instance, selection=models).success
    marts = (
        "where schema_name = 'marts' and table_name in ("
        + ", ".join(f"'{mart}'" for mart in MARTS)
        + ")"
    )
    assert_same_contents(table_contents(repaired, marts), table_contents(full, marts))
