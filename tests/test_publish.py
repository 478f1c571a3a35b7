"""Publishing: the serving file and Parquet hold the marts as built, with types, comments
and a watermark; a failed blocking check leaves the last publication byte-identical."""

import hashlib
import json
import os
import subprocess

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from ingestion.paths import PROJECT_ROOT
from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import raw_checks
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.defs.serving.assets import published_marts
from orchestration.shared import MarketDataResource, build_resources

pytestmark = pytest.mark.slow

READERS_PYTHON = PROJECT_ROOT / ".venv-readers" / "bin" / "python"
READ_SERVING = PROJECT_ROOT / "tests" / "readers" / "read_serving.py"


def read_as_an_old_client(serving) -> dict:
    """What DuckDB 1.1 and pyarrow (tests/readers/requirements.txt) read from a publication."""
    if not READERS_PYTHON.exists():
        message = f"{READERS_PYTHON} is missing: `make readers` (or `make test`) installs it"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    done = subprocess.run(
        [str(READERS_PYTHON), str(READ_SERVING), str(serving)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_serving_file_matches_the_warehouse(built):
    path, result, instance = built
    serving = path.parent / "serving" / "serving.duckdb"
    assert any(
        m.asset_key.to_user_string() == "serving/published_marts"
        for m in result.get_asset_materialization_events()
    )
    with (
        duckdb.connect(str(path), read_only=True) as source,
        duckdb.connect(str(serving), read_only=True) as published,
    ):
        marts = [
            r[0]
            for r in source.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        assert len(marts) == 13
        for mart in marts:
            expected = source.execute(
                f"select count(*), sum(hash(t)) from marts.{mart} t"
            ).fetchone()
            assert (
                published.execute(f"select count(*), sum(hash(t)) from marts.{mart} t").fetchone()
                == expected
            ), mart
        columns = (
            "select column_name, data_type, comment from duckdb_columns() "
            "where schema_name = 'marts' and table_name = 'streak_status' order by 1"
        )
        assert published.execute(columns).fetchall() == source.execute(columns).fetchall()
        (comment,) = published.execute(
            "select comment from duckdb_tables() where table_name = 'divergence_daily'"
        ).fetchone()
        assert comment.startswith("Daily divergence of each pair")
        data_through, run_id = published.execute(
            "select data_through, run_id from meta.publication"
        ).fetchone()
        assert str(data_through) == "2024-04-05"
        # The latest publication of this instance (another test may have published again).
        latest = instance.get_latest_materialization_event(AssetKey(["serving", "published_marts"]))
        assert run_id == latest.run_id
        assert published.execute("select count(*) from universe.instruments").fetchone() == (36,)
        parquet = path.parent / "serving" / "parquet" / "divergence_daily.parquet"
        assert published.execute(f"select count(*) from '{parquet}'").fetchone() == (
            source.execute("select count(*) from marts.divergence_daily").fetchone()
        )


def test_a_failed_blocking_check_leaves_the_publication_untouched(warehouse_path):
    everything = [*ingestion_assets, warehouse_dbt_models, published_marts, *raw_checks]
    resources = {
        **build_resources(str(warehouse_path)),
        "market_data": MarketDataResource(history_start="2024-03-01", end_date="2024-03-28"),
    }
    instance = DagsterInstance.ephemeral()
    assert materialize(everything, resources=resources, instance=instance).success
    serving = warehouse_path.parent / "serving" / "serving.duckdb"
    before = hashlib.sha256(serving.read_bytes()).hexdigest()

    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(
            "update raw.prices set low = high + 1 "
            "where symbol = 'RUT' and session_date = '2024-03-04'"
        )
    again = materialize(everything, resources=resources, instance=instance, raise_on_error=False)
    assert not again.success
    failed = [e.check_name for e in again.get_asset_check_evaluations() if not e.passed]
    assert failed == ["prices_are_ohlc_consistent"]
    assert not any(
        m.asset_key.to_user_string() == "serving/published_marts"
        for m in again.get_asset_materialization_events()
    )
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before


def test_duckdb_1_1_reads_every_mart_its_comments_and_the_publication(built):
    path, _result, _instance = built
    serving = path.parent / "serving" / "serving.duckdb"
    seen = read_as_an_old_client(serving)
    assert seen["duckdb"] == "1.1.3"
    with duckdb.connect(str(serving), read_only=True) as published:
        marts = [
            row[0]
            for row in published.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        assert sorted(seen["marts"]) == marts
        assert len(marts) == 13
        for mart in marts:
            old = seen["marts"][mart]
            (rows,) = published.execute(f"select count(*) from marts.{mart}").fetchone()
            first = published.execute(f"select * from marts.{mart} order by all limit 1").fetchone()
            assert (old["rows"], old["first_row"]) == (rows, [str(v) for v in first]), mart
            (comment,) = published.execute(
                "select comment from duckdb_tables() where schema_name = 'marts' "
                "and table_name = ?",
                [mart],
            ).fetchone()
            assert comment, mart
            assert old["comment"] == comment, mart
            columns = published.execute(
                "select column_name, comment from duckdb_columns() where schema_name = 'marts' "
                "and table_name = ? order by column_index",
                [mart],
            ).fetchall()
            assert old["columns"] == dict(columns), mart
            assert all(old["columns"].values()), f"{mart}: a column without a description"
        publication = published.execute("select * from meta.publication").fetchone()
    assert seen["publication"] == [str(value) for value in publication]
    assert seen["publication"][1] == "2024-04-05"


def test_each_parquet_file_carries_its_mart_and_column_descriptions(built):
    path, _result, _instance = built
    serving = path.parent / "serving" / "serving.duckdb"
    seen = read_as_an_old_client(serving)["parquet"]
    with duckdb.connect(str(path), read_only=True) as source:
        (published_at,) = (
            duckdb.connect(str(serving), read_only=True)
            .execute("select published_at from meta.publication")
            .fetchone()
        )
        for mart, parquet in seen.items():
            (comment,) = source.execute(
                "select comment from duckdb_tables() where schema_name = 'marts' "
                "and table_name = ?",
                [mart],
            ).fetchone()
            columns = source.execute(
                "select column_name, comment from duckdb_columns() where schema_name = 'marts' "
                "and table_name = ? order by column_index",
                [mart],
            ).fetchall()
            (rows,) = source.execute(f"select count(*) from marts.{mart}").fetchone()
            expected = {
                "description": comment,
                "published_at": published_at.isoformat(),
                "data_through": "2024-04-05",
                **{f"description:{column}": text for column, text in columns},
            }
            assert parquet == {"rows": rows, "metadata": expected}, mart


def test_a_transaction_the_caller_has_open_is_left_as_it_is(built, tmp_path):
    """The publication writes in a transaction of its own: the caller's open one is neither
    committed nor rolled back by it, and what it has not committed is not published."""
    import shutil

    from serving.publish import publish

    path, _result, _instance = built
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(path, copy)
    with duckdb.connect(str(copy)) as con:
        (pulse_rows,) = con.execute("select count(*) from marts.market_pulse_daily").fetchone()
        con.execute("begin")
        con.execute("delete from marts.market_pulse_daily")
        publication = publish(con, tmp_path / "serving", "run")
        assert publication.tables["marts.market_pulse_daily"] == pulse_rows
        # still the caller's transaction, with its uncommitted delete
        assert con.execute("select count(*) from marts.market_pulse_daily").fetchone() == (0,)
        con.execute("rollback")
        assert con.execute("select count(*) from marts.market_pulse_daily").fetchone() == (
            pulse_rows,
        )
    with duckdb.connect(str(tmp_path / "serving" / "serving.duckdb"), read_only=True) as served:
        assert served.execute("select count(*) from marts.market_pulse_daily").fetchone() == (
            pulse_rows,
        )
    parquet = tmp_path / "serving" / "parquet" / "market_pulse_daily.parquet"
    with duckdb.connect() as reader:
        assert reader.execute(f"select count(*) from '{parquet}'").fetchone() == (pulse_rows,)
