"""The fingerprint of a build's inputs, and the test a refresh uses to leave a current
publication be: real DuckDB files, a real publication, a copy of the dbt project."""

import shutil
from pathlib import Path

import duckdb
import pytest

from ingestion.paths import DBT_PROJECT_DIR
from orchestration.build_inputs import (
    fingerprint,
    project_digest,
    raw_checksums,
    record,
    recorded,
    served,
    serving_is_current,
)
from serving.publish import publish

PRICES = [
    ("RUT", "2024-03-01", 2076.39, "sample", "2024-03-02 01:00:00", "a"),
    ("NDX", "2024-03-01", 18302.91, "sample", "2024-03-02 01:00:00", "a"),
]


def _warehouse(path: Path, rows: list[tuple] = PRICES) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.prices (symbol varchar, session_date date, adj_close double, "
            "source varchar, ingested_at timestamp, load_id varchar)"
        )
        con.executemany("insert into raw.prices values (?, ?, ?, ?, ?, ?)", rows)
        con.execute("create schema marts")
        con.execute(
            "create table marts.market_pulse_daily as "
            "select date '2024-03-01' as session_date, 0.012 as rut_vs_ndx_spread"
        )
        con.execute("create schema universe")
        con.execute("create table universe.pairs as select 'rut_vs_ndx' as pair_id")


def _fingerprint(path: Path, dbt_vars: dict | None = None, engine: str = "duckdb") -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return fingerprint(con, dbt_vars or {}, engine)


def test_raw_checksums_follow_the_rows_not_their_order(tmp_path):
    _warehouse(tmp_path / "a.duckdb")
    _warehouse(tmp_path / "b.duckdb", list(reversed(PRICES)))
    changed = [PRICES[0], (*PRICES[1][:2], 18302.92, *PRICES[1][3:])]
    _warehouse(tmp_path / "c.duckdb", changed)
    restamped = [PRICES[0], (*PRICES[1][:4], "2024-03-05 01:00:00", "b")]
    _warehouse(tmp_path / "d.duckdb", restamped)
    sums = {}
    for name in "abcd":
        with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
            sums[name] = raw_checksums(con)
    # Only raw.prices exists here: the other raw tables are left out, not counted as empty.
    assert set(sums["a"]) == {"prices"}
    assert sums["a"]["prices"][0] == "2"
    assert sums["a"] == sums["b"]
    assert sums["c"] != sums["a"]  # one close changed by a cent
    assert sums["d"] != sums["a"]  # the same values restated by a later load
    assert sums["c"]["prices"][0] == sums["d"]["prices"][0] == "2"


def test_the_project_digest_reads_what_dbt_reads_and_nothing_else(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target*", "logs*"))
    original = project_digest(project)
    assert original == project_digest(project)
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("a line")
    assert project_digest(project) == original
    model = project / "models" / "marts" / "divergence" / "divergence_daily.sql"
    model.write_text(model.read_text() + "\n-- an edit\n")
    edited = project_digest(project)
    assert edited != original
    seed = project / "seeds" / "pairs.csv"
    seed.write_text(seed.read_text() + "iwm_vs_qqq,IWM,QQQ,Small caps against the Nasdaq-100\n")
    assert project_digest(project) not in (original, edited)


def test_the_fingerprint_covers_rows_vars_and_engine(tmp_path):
    _warehouse(tmp_path / "a.duckdb")
    _warehouse(tmp_path / "b.duckdb", list(reversed(PRICES)))
    _warehouse(tmp_path / "c.duckdb", PRICES[:1])
    base = _fingerprint(tmp_path / "a.duckdb")
    assert len(base) == 64
    assert _fingerprint(tmp_path / "b.duckdb") == base
    others = {
        _fingerprint(tmp_path / "c.duckdb"),
        _fingerprint(tmp_path / "a.duckdb", {"rrg_ratio_weeks": 12}),
        _fingerprint(tmp_path / "a.duckdb", engine="spark"),
    }
    assert base not in others
    assert len(others) == 3


def test_a_publication_is_current_only_for_the_build_it_holds(tmp_path):
    warehouse, serving_dir = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    serving_file = serving_dir / "serving.duckdb"
    _warehouse(warehouse)
    assert serving_is_current(warehouse, serving_file, {}, "duckdb") is None  # none yet

    with duckdb.connect(str(warehouse)) as con:
        assert recorded(con) is None
        # An older publication, made before builds were fingerprinted: not current.
        publish(con, serving_dir, "run-0")
    assert served(serving_file).built_from is None
    assert serving_is_current(warehouse, serving_file, {}, "duckdb") is None

    built_from = _fingerprint(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        record(con, built_from, "run-1")
        assert recorded(con) == built_from
        publish(con, serving_dir, "run-1", built_from=recorded(con))
    current = serving_is_current(warehouse, serving_file, {}, "duckdb")
    assert current is not None
    assert current.built_from == built_from
    assert str(current.data_through) == "2024-03-01"
    # Other analysis parameters would build other marts.
    assert serving_is_current(warehouse, serving_file, {"rrg_ratio_weeks": 12}, "duckdb") is None

    # A writer holding the warehouse: it cannot be read, so the refresh builds.
    with duckdb.connect(str(warehouse)) as writer:
        writer.execute(
            "insert into raw.prices values "
            "('RUT', '2024-03-04', 2071.0, 'sample', '2024-03-05 01:00:00', 'b')"
        )
        assert serving_is_current(warehouse, serving_file, {}, "duckdb") is None
    # A new row: the publication no longer holds the build of what the warehouse holds.
    assert serving_is_current(warehouse, serving_file, {}, "duckdb") is None


@pytest.mark.parametrize("content", [b"", b"not a duckdb file"])
def test_an_unreadable_serving_file_is_never_current(tmp_path, content):
    warehouse = tmp_path / "warehouse.duckdb"
    _warehouse(warehouse)
    serving_file = tmp_path / "serving.duckdb"
    serving_file.write_bytes(content)
    assert served(serving_file) is None
    assert serving_is_current(warehouse, serving_file, {}, "duckdb") is None
