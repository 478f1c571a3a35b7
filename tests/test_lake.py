"""The lake side of the Spark engine without Spark: the raw export, its settings, and the
copy of Spark's tables into the warehouse."""

from pathlib import Path

import duckdb
import pytest

from ingestion.config import ConfigError, Settings, lake_dir_from_env, warehouse_engine_from_env
from ingestion.lake import export_raw_table, raw_table_file
from orchestration.dbt_environment import dbt_environment
from serving.lake_tables import LakeTableMissing, mirror_lake_tables


def test_the_engine_is_duckdb_unless_spark_is_named():
    assert warehouse_engine_from_env({}) == "duckdb"
    assert warehouse_engine_from_env({"WAREHOUSE_ENGINE": " Spark "}) == "spark"
    with pytest.raises(ConfigError, match=r"WAREHOUSE_ENGINE='trino' is not an engine"):
        warehouse_engine_from_env({"WAREHOUSE_ENGINE": "trino"})
    with pytest.raises(ConfigError, match="WAREHOUSE_ENGINE='trino'"):
        Settings.from_env({"WAREHOUSE_ENGINE": "trino"})


def test_the_lake_is_beside_the_warehouse_unless_lake_dir_is_set(tmp_path):
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    assert lake_dir_from_env(warehouse, {}) == tmp_path / "data" / "lake"
    assert lake_dir_from_env(warehouse, {"LAKE_DIR": str(tmp_path / "x")}) == tmp_path / "x"


def test_dbt_gets_the_lake_and_a_java_runtime_only_for_spark(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    assert dbt_environment(warehouse, {}) == {
        "WAREHOUSE_PATH": str(warehouse),
        "WAREHOUSE_ENGINE": "duckdb",
        "DBT_LOG_LEVEL_FILE": "info",
    }
    asked = dbt_environment(warehouse, {"DBT_LOG_LEVEL_FILE": "debug"})
    assert asked["DBT_LOG_LEVEL_FILE"] == "debug"
    spark = dbt_environment(warehouse, {"WAREHOUSE_ENGINE": "spark", "JAVA_HOME": "/opt/java"})
    assert spark["LAKE_DIR"] == str(tmp_path / "lake")
    assert spark["JAVA_HOME"] == "/opt/java"


def _warehouse(path: Path, closes: list[float]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists raw")
    con.execute("create or replace table raw.prices (symbol string, close double)")
    con.executemany("insert into raw.prices values ('RUT', ?)", [[c] for c in closes])
    return con


def test_a_raw_table_is_exported_whole_and_replaced_on_the_next_load(tmp_path):
    lake = tmp_path / "lake"
    con = _warehouse(tmp_path / "w.duckdb", [1.0, 2.0])
    target = export_raw_table(con, "prices", lake)
    assert target == raw_table_file(lake, "prices") == lake / "raw" / "prices" / "data.parquet"
    con.execute("insert into raw.prices values ('RUT', 3.0)")
    export_raw_table(con, "prices", lake)
    rows = con.execute(f"select close from read_parquet('{target}') order by 1").fetchall()
    assert rows == [(1.0,), (2.0,), (3.0,)]
    assert [p.name for p in target.parent.iterdir()] == ["data.parquet"]


def test_a_failed_export_keeps_the_previous_file_and_leaves_nothing_behind(tmp_path):
    lake = tmp_path / "lake"
    con = _warehouse(tmp_path / "w.duckdb", [1.0])
    target = export_raw_table(con, "prices", lake)
    before = target.read_bytes()
    con.execute("drop table raw.prices")
    with pytest.raises(duckdb.CatalogException, match="prices"):
        export_raw_table(con, "prices", lake)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["data.parquet"]


def _node(schema: str, name: str, **columns: str) -> dict:
    return {
        "resource_type": "model",
        "unique_id": f"model.market_divergence.{name}",
        "schema": schema,
        "name": name,
        "description": f"The {name} mart.",
        "columns": {
            column: {"data_type": data_type, "description": f"{column} it is"}
            for column, data_type in columns.items()
        },
    }


def test_spark_tables_replace_the_published_ones_with_contract_types_and_comments(tmp_path):
    lake = tmp_path / "lake"
    (lake / "marts" / "spreads").mkdir(parents=True)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        f"copy (select 'rut_vs_spx' as pair_id, 3::bigint as streak, 0.5 as spread) "
        f"to '{lake}/marts/spreads/part-0.parquet' (format parquet)"
    )
    manifest = {"nodes": {"a": _node("marts", "spreads", pair_id="string", streak="integer")}}
    assert mirror_lake_tables(con, lake, manifest) == {"marts.spreads": 1}
    columns = con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where table_name = 'spreads' order by column_index"
    ).fetchall()
    assert columns == [
        ("pair_id", "VARCHAR", "pair_id it is"),
        ("streak", "INTEGER", "streak it is"),
        ("spread", "DECIMAL(2,1)", None),
    ]
    comment = con.execute("select comment from duckdb_tables() where table_name = 'spreads'")
    assert comment.fetchone()[0] == "The spreads mart."


def test_a_published_table_missing_from_the_lake_is_named_and_nothing_is_replaced(tmp_path):
    lake = tmp_path / "lake"
    (lake / "marts" / "spreads").mkdir(parents=True)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(f"copy (select 1 as x) to '{lake}/marts/spreads/p.parquet' (format parquet)")
    con.execute("create schema marts; create table marts.spreads as select 7 as x")
    manifest = {"nodes": {"a": _node("marts", "spreads"), "b": _node("marts", "streaks")}}
    with pytest.raises(LakeTableMissing, match=r"marts\.streaks: no Parquet files in .*streaks"):
        mirror_lake_tables(con, lake, manifest)
    assert con.execute("select x from marts.spreads").fetchall() == [(7,)]
