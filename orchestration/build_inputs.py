"""What a build of the marts is made from, as one fingerprint, and whether the serving file
is already the build of what the warehouse holds now.

A build's inputs are the four raw tables (a content checksum of each), the dbt project's
files, the analysis parameters passed as dbt vars, the engine and the dbt packages' versions.
The dbt step records the fingerprint of a complete, passing build in `meta.build_inputs`;
the publication copies it into the serving file's `meta.publication.built_from`. When a
refresh loads nothing new, the fingerprint it computes equals the one served, and building,
testing and publishing again would only reproduce the same tables.

Before the loads, `expects_new_sessions` guesses whether they will bring anything to build
at all, which decides only whether dbt is warmed up beside them.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from ingestion.calendar import sessions_between
from ingestion.paths import DBT_PROJECT_DIR

BUILD_INPUTS_TABLE = "meta.build_inputs"
RAW_INPUTS = ("sessions", "prices", "rates", "earnings_estimates")
# What dbt reads of its project; target/ and logs/ are its output.
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "seeds", "macros", "tests", "spark")
DBT_PACKAGES = ("dbt-core", "dbt-duckdb")


def raw_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Per raw table its row count and the sum of its rows' hashes (a missing table: none).

    Every column takes part, `ingested_at` included, so a restated row changes the sum."""
    present = {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'raw'"
        ).fetchall()
    }
    checksums: dict[str, list[str]] = {}
    for table in RAW_INPUTS:
        if table in present:
            count, digest = con.execute(
                f"select count(*), coalesce(sum(hash(t)), 0)::varchar from raw.{table} t"
            ).fetchone()
            checksums[table] = [str(count), digest]
    return checksums


def project_digest(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """sha256 over the path and bytes of every file dbt reads in the project."""
    digest = hashlib.sha256()
    paths = [project_dir / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        paths += sorted(path for path in (project_dir / folder).rglob("*") if path.is_file())
    for path in paths:
        if path.exists():
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint(con: duckdb.DuckDBPyConnection, dbt_vars: Mapping[str, Any], engine: str) -> str:
    """The fingerprint of a build of the warehouse `con` with these analysis vars."""
    inputs = {
        "raw": raw_checksums(con),
        "project": project_digest(),
        "vars": dict(dbt_vars),
        "engine": engine,
        "packages": {name: version(name) for name in DBT_PACKAGES},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def record(con: duckdb.DuckDBPyConnection, built_from: str, run_id: str) -> None:
    """Note in the warehouse that its dbt tables are a complete, passing build of `built_from`."""
    con.execute("create schema if not exists meta")
    con.execute(
        f"create or replace table {BUILD_INPUTS_TABLE} as select ?::varchar as built_from, "
        "?::timestamp as built_at, ?::varchar as run_id",
        [built_from, datetime.now(UTC).replace(tzinfo=None), run_id],
    )


def recorded(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the warehouse's last complete build, if one was recorded."""
    (exists,) = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'meta' and table_name = 'build_inputs'"
    ).fetchone()
    if not exists:
        return None
    row = con.execute(f"select built_from from {BUILD_INPUTS_TABLE}").fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Served:
    """What the serving file says it was published from."""

    built_from: str | None
    published_at: datetime | None
    data_through: date | None


def served(serving_file: Path) -> Served | None:
    """The serving file's `meta.publication` (None if there is no readable one)."""
    if not serving_file.exists():
        return None
    try:
        with duckdb.connect(str(serving_file), read_only=True) as con:
            columns = {
                name
                for (name,) in con.execute(
                    "select column_name from duckdb_columns() "
                    "where schema_name = 'meta' and table_name = 'publication'"
                ).fetchall()
            }
            if "built_from" not in columns:
                return None
            row = con.execute(
                "select built_from, published_at, data_through from meta.publication"
            ).fetchone()
    except duckdb.Error:
        return None
    return Served(*row) if row else None


def serving_is_current(
    warehouse: Path, serving_file: Path, dbt_vars: Mapping[str, Any], engine: str
) -> Served | None:
    """The publication, when it is the build of exactly what `warehouse` holds now; else None.

    Also None when the warehouse cannot be opened read-only (another process writes it):
    the caller builds, which waits its turn for the file."""
    publication = served(serving_file)
    if publication is None or publication.built_from is None:
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            now = fingerprint(con, dbt_vars, engine)
    except duckdb.Error:
        return None
    return publication if now == publication.built_from else None


def expects_new_sessions(warehouse: Path, end_date: date) -> bool:
    """Whether the warehouse lacks the last session through `end_date` (or cannot be read
    now), so that the loads will likely bring something to build. It only decides whether
    dbt is warmed up beside the loads, never what is loaded or built."""
    last_session = sessions_between(end_date - timedelta(days=10), end_date)[-1]
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            (stored,) = con.execute("select max(session_date) from raw.prices").fetchone()
    except duckdb.Error:  # no warehouse yet, no prices, or another process writing it
        return True
    return stored is None or stored < last_session
