"""The dbt project as Dagster sees it. The manifest comes from `dbt parse` (Makefile, tests)
or, under `dagster dev`, from `prepare_if_dev`; nothing is parsed at import otherwise."""

from dagster_dbt import DbtProject

from ingestion.paths import DBT_PROJECT_DIR

warehouse_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
)
warehouse_dbt_project.prepare_if_dev()
