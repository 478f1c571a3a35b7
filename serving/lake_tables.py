"""The tables Spark built, copied into the DuckDB warehouse for the serving publication.

On Spark (WAREHOUSE_ENGINE=spark) the marts and the universe seeds are Parquet folders in
the lake, LAKE_DIR/<schema>/<table>. The publication reads the warehouse file, as it does
when DuckDB builds them, so after a Spark build every published table is replaced there by
Spark's rows, in one transaction, with the column types of the model's contract and the
table and column descriptions of the dbt project (Parquet tables on Spark keep no comments).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from serving.publish import PUBLISHED_SCHEMAS


class LakeTableMissing(RuntimeError):
    """A table the dbt project publishes has no Parquet files in the lake."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _published_nodes(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted(
        (
            node
            for node in manifest["nodes"].values()
            if node["resource_type"] in ("model", "seed") and node["schema"] in PUBLISHED_SCHEMAS
        ),
        key=lambda node: (node["schema"], node["name"]),
    )


def _select(node: Mapping[str, Any], files: str, stored: list[str]) -> str:
    """Spark's columns, in their stored order, cast to the types the contract names."""
    declared = {name.lower(): spec for name, spec in node.get("columns", {}).items()}
    parts = []
    for column in stored:
        data_type = declared.get(column.lower(), {}).get("data_type")
        quoted = f'"{column}"'
        parts.append(f"cast({quoted} as {data_type}) as {quoted}" if data_type else quoted)
    return f"select {', '.join(parts)} from read_parquet({_literal(files)})"


def mirror_lake_tables(
    con: duckdb.DuckDBPyConnection, lake_dir: Path, manifest: Mapping[str, Any]
) -> dict[str, int]:
    """Replace each published table with the lake's copy; returns rows per `schema.table`."""
    copied: dict[str, int] = {}
    con.begin()
    try:
        for node in _published_nodes(manifest):
            schema, name = node["schema"], node["name"]
            folder = lake_dir / schema / name
            if not any(folder.glob("*.parquet")):
                raise LakeTableMissing(
                    f"{schema}.{name}: no Parquet files in {folder}; did the Spark build of "
                    f"{node['unique_id']} run?"
                )
            files = str(folder / "*.parquet")
            stored = [
                row[0]
                for row in con.execute(
                    f"describe select * from read_parquet({_literal(files)})"
                ).fetchall()
            ]
            con.execute(f"create schema if not exists {schema}")
            select = _select(node, files, stored)
            con.execute(f"create or replace table {schema}.{name} as {select}")
            if node.get("description"):
                con.execute(f"comment on table {schema}.{name} is {_literal(node['description'])}")
            for column, spec in node.get("columns", {}).items():
                if spec.get("description") and column in stored:
                    con.execute(
                        f'comment on column {schema}.{name}."{column}" is '
                        f"{_literal(spec['description'])}"
                    )
            copied[f"{schema}.{name}"] = con.execute(
                f"select count(*) from {schema}.{name}"
            ).fetchone()[0]
        con.commit()
    except Exception:
        con.rollback()
        raise
    return copied
