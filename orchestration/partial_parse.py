"""dbt's partial parse, kept from one build for the next, whatever warehouse file it builds.

dbt skips most of its parse (0.8 s instead of 3-6 s here) when the target folder holds the
`partial_parse.msgpack` of an earlier invocation made with the same profile. dagster-dbt
gives each invocation a target folder of its own, seeded from the project's. The profile
dbt compares includes the DuckDB file's path, so a build of any file but the last one
built (a test's, the benchmark's, a user's second warehouse) parsed the whole project
again.

`keep_partial_parse` puts each build's parse back, also under the name of its database
with the path it was made for; `seed_partial_parse` gives the next build on a file of the
same name that parse, with the profile hash of its own path. Nothing dbt parses in this
project depends on the path except the database dbt-duckdb names after the file, which
every node carries, so the parse is the one dbt would make. Whatever goes wrong here
costs a full parse, never a build.
"""

import hashlib
import json
import os
import pprint
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import msgpack

PARTIAL_PARSE = "partial_parse.msgpack"
PARSES_BY_DATABASE = "partial_parses"
"""The folder of the project's target holding the last partial parse of each database,
`<database>.msgpack`, beside `<database>.json` naming the path it was made for."""

# The settings of a DuckDB connection that dbt hashes into a partial parse (dbt-duckdb's
# `_connection_keys`), as this project's profile leaves them: only the file's path and the
# database named after it vary from one warehouse to another. A parse made with other
# settings does not match its recorded path's hash, and is not reused.
DUCKDB_CONNECTION_DEFAULTS: dict[str, Any] = {
    "attach": None,
    "config_options": None,
    "disable_transactions": False,
    "extensions": None,
    "external_root": ".",
    "filesystems": None,
    "plugins": None,
    "remote": None,
    "schema": "main",
    "settings": {},
    "use_credential_provider": None,
}


def profile_path(warehouse_path: str) -> str:
    """The DuckDB path profiles.yml renders from WAREHOUSE_PATH (relative to the project
    root, which is one folder above dbt's working directory)."""
    return warehouse_path if warehouse_path.startswith("/") else "../" + warehouse_path


def duckdb_database(path: str) -> str:
    """The database dbt-duckdb names after a local file: the first non-empty dot-separated
    part of its name ("warehouse.duckdb" -> "warehouse")."""
    return os.path.basename(urlparse(path).path).lstrip(".").split(".")[0]


def duckdb_profile_hash(path: str) -> str:
    """The profile hash dbt records in a partial parse made for the DuckDB file at `path`
    (dbt-core's `build_manifest_state_check`: the sorted connection info, pretty-printed)."""
    info = {**DUCKDB_CONNECTION_DEFAULTS, "path": path, "database": duckdb_database(path)}
    return hashlib.sha256(pprint.pformat(sorted(info.items())).encode("utf-8")).hexdigest()


def replace_file(path: Path, data: bytes) -> None:
    """Write `path` whole, so a process reading it meanwhile reads the old or the new."""
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _unpack(data: bytes) -> dict[str, Any]:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def _profile_checksum(state: Mapping[str, Any]) -> str:
    return state["state_check"]["profile_hash"]["checksum"]


def _databases(state: Mapping[str, Any]) -> set[Any]:
    return {node.get("database") for node in state["nodes"].values()}


def keep_partial_parse(
    run_target: Path, project_target: Path, warehouse_path: str | None = None
) -> None:
    """Put the partial parse a build's dbt wrote into `project_target`, where the next
    invocation starts from it; with the DuckDB `warehouse_path` it was made for, also as
    the last parse of that file's database. A file that is not a parse is not kept."""
    written = run_target / PARTIAL_PARSE
    if not written.exists():
        return
    data = written.read_bytes()
    state = _unpack(data)
    replace_file(project_target / PARTIAL_PARSE, data)
    if warehouse_path is None:
        return
    path = profile_path(warehouse_path)
    database = duckdb_database(path)
    if _databases(state) != {database}:
        return
    folder = project_target / PARSES_BY_DATABASE
    folder.mkdir(exist_ok=True)
    replace_file(folder / f"{database}.msgpack", data)
    replace_file(folder / f"{database}.json", json.dumps({"path": path}).encode("utf-8"))


def seed_partial_parse(run_target: Path, project_target: Path, warehouse_path: str) -> bool:
    """Give a dbt invocation on the DuckDB file `warehouse_path` the last parse kept for
    its database, with the profile hash of this path; returns whether it did.

    Only a parse whose hash is the one its recorded path gives is reused: it was made with
    this project's profile, on a file of the same name. Otherwise nothing is written, and
    dagster-dbt's copy of the project's parse (or a full parse) takes its place."""
    try:
        if (run_target / PARTIAL_PARSE).exists():
            return False
        path = profile_path(warehouse_path)
        database = duckdb_database(path)
        folder = project_target / PARSES_BY_DATABASE
        record = json.loads((folder / f"{database}.json").read_text(encoding="utf-8"))
        state = _unpack((folder / f"{database}.msgpack").read_bytes())
        # the hash its recorded path gives, or it was made another way (or the pair of
        # files by two builds on different paths)
        if _profile_checksum(state) != duckdb_profile_hash(record["path"]):
            return False
        state["state_check"]["profile_hash"]["checksum"] = duckdb_profile_hash(path)
        run_target.mkdir(parents=True, exist_ok=True)
        replace_file(run_target / PARTIAL_PARSE, msgpack.packb(state, use_bin_type=True))
        return True
    except Exception:  # none kept, or not one this dbt wrote: dbt parses in full
        return False
