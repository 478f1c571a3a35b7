"""The code location: `defs` is what `dagster dev -w workspace.yaml` loads.

Importing this module reads the dbt manifest and environment variables; it never opens
the warehouse.
"""

from dagster import Definitions

from orchestration.assets.dbt import warehouse_dbt_models
from orchestration.assets.ingestion import ingestion_assets
from orchestration.jobs import refresh_all
from orchestration.resources import build_resources

defs = Definitions(
    assets=[*ingestion_assets, warehouse_dbt_models],
    jobs=[refresh_all],
    resources=build_resources(),
)
