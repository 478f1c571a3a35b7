"""The automation sensor: dbt models, and what follows them, are requested by declarative
automation (`MODEL_AUTOMATION` in orchestration/shared.py) when their inputs have been
refreshed, instead of a schedule guessing when ingestion has finished."""

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

automation_sensor = AutomationConditionSensorDefinition(
    name="automation_sensor",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Requests dbt staging and marts when their inputs have been refreshed.",
)
