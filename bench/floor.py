"""The floor: each model's compiled SQL executed directly in DuckDB, in dependency order,
with no dbt in between (no tests, no contracts, no comments, no temporary relations)."""

import json
import time
from pathlib import Path

import duckdb

from bench.project import MEMORY_LIMIT


def models_in_order(manifest_path: Path) -> list[dict]:
    """Model nodes of the manifest, each after every model it depends on."""
    manifest = json.loads(manifest_path.read_text())
    models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
    ordered: list[dict] = []
    done: set[str] = set()

    def visit(unique_id: str) -> None:
        if unique_id in done or unique_id not in models:
            return
        done.add(unique_id)
        for parent in models[unique_id]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(models[unique_id])

    for unique_id in sorted(models):
        visit(unique_id)
    return ordered


def statement(node: dict) -> str:
    kind = "view" if node["config"]["materialized"] == "view" else "table"
    return f"create or replace {kind} {node['relation_name']} as (\n{node['compiled_code']}\n)"


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """The same DuckDB settings as the benchmark's dbt profile (spilling to the default
    `<database file>.tmp` folder)."""
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    con.execute("set preserve_insertion_order = false")


def run_floor(warehouse: Path, manifest_path: Path) -> dict[str, float]:
    """Build every model; returns seconds per model (dbt's unique_id)."""
    con = duckdb.connect(str(warehouse))
    configure(con)
    for schema in ("staging", "intermediate", "marts"):
        con.execute(f"create schema if not exists {schema}")
    seconds: dict[str, float] = {}
    for node in models_in_order(manifest_path):
        sql = statement(node)
        started = time.perf_counter()
        con.execute(sql).fetchall()
        seconds[node["unique_id"]] = time.perf_counter() - started
    con.close()
    return seconds


def explain(warehouse: Path, manifest_path: Path, names: list[str]) -> dict[str, str]:
    """EXPLAIN ANALYZE of the named models' compiled SQL (in a built warehouse)."""
    con = duckdb.connect(str(warehouse))
    configure(con)
    plans = {}
    for node in models_in_order(manifest_path):
        if node["name"] in names:
            rows = con.execute(f"explain analyze {node['compiled_code']}").fetchall()
            plans[node["name"]] = "\n".join(str(r[-1]) for r in rows)
    con.close()
    return plans
