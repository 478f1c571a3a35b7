"""A backfill of a range that is already loaded changes nothing: not a value, not an
`ingested_at`, not a `load_id`; its loads are logged as receiving rows and changing none.
(Marts rebuilt on unchanged raw tables are identical: test_pipeline_e2e.py
test_a_second_run_inserts_nothing_and_changes_nothing.)"""

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.shared import MarketDataResource, build_resources

pytestmark = pytest.mark.slow

RAW = ["raw.prices", "raw.rates", "raw.earnings_estimates", "raw.sessions"]


def _checksums(path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            table: con.execute(f"select count(*), sum(hash(t)) from {table} t").fetchone()
            for table in RAW
        }


def test_a_backfill_of_a_loaded_range_changes_nothing(warehouse_path):
    resources = {
        **build_resources(str(warehouse_path)),
        "market_data": MarketDataResource(history_start="2024-02-01", end_date="2024-03-28"),
    }
    instance = DagsterInstance.ephemeral()
    assert materialize(ingestion_assets, resources=resources, instance=instance).success
    before = _checksums(warehouse_path)

    backfill = materialize(
        ingestion_assets,
        resources=resources,
        instance=instance,
        selection=[AssetKey(["raw", "prices"]), AssetKey(["raw", "rates"])],
        tags={
            "dagster/asset_partition_range_start": "2024-02-01",
            "dagster/asset_partition_range_end": "2024-03-01",
        },
    )
    assert backfill.success
    assert _checksums(warehouse_path) == before
    counts = {
        m.asset_key.to_user_string(): tuple(
            m.materialization.metadata[name].value
            for name in ("rows_received", "rows_inserted", "rows_updated")
        )
        for m in backfill.get_asset_materialization_events()
    }
    # February and March to the 28th, 40 sessions, for 36 instruments; rates from the
    # sample's 5 series.
    assert counts["raw/prices"] == (1440, 0, 0)
    assert counts["raw/rates"][1:] == (0, 0)
    assert counts["raw/rates"][0] > 0
