"""The dbt project's SQL stays within what DuckDB and Spark SQL both accept.

The project builds on DuckDB and on Spark 3.5 (dbt-spark). Each construct below runs on
DuckDB but not on Spark SQL, and has a form both accept (the project's style).
Pieces with no common form live behind `adapter.dispatch` in macros/cross_engine/: their
DuckDB half may use DuckDB's own SQL, nothing else may. The incremental strategy and its
state tables (DDL and DML run as hooks) are left for the port of the strategy itself.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ingestion.paths import DBT_PROJECT_DIR
from tests.dbt_cli import run_dbt, target_path

pytestmark = pytest.mark.slow

# a window defined on another named window, in `over (...)` or in a `window` clause
_WINDOW_START = r"(?!partition\b|order\b|rows\b|range\b|groups\b|select\b|with\b|values\b)"
REFINED_WINDOW = re.compile(
    rf"(?:\bover|\bas)\s*\(\s*{_WINDOW_START}[a-z_]\w*\s+(?:partition|order|rows|range|groups)\b"
)

# what Spark SQL rejects -> the form both accept
REJECTED = {
    "comma after the last column before from (drop it)": re.compile(r",\s*from\b"),
    "bare varchar (string)": re.compile(r"\bvarchar\b(?!\s*\()"),
    "arg_max / arg_min (max_by / min_by)": re.compile(r"\barg_(?:max|min)\s*\("),
    "product() (product_of)": re.compile(r"\bproduct\s*\("),
    "asof join (a range join on the span of each row, macro valid_until)": re.compile(r"\basof\b"),
    "isoyear() (iso_year)": re.compile(r"\bisoyear\s*\("),
    "week() (iso_week)": re.compile(r"\bweek\s*\("),
    "at time zone (utc_now)": re.compile(r"\bat\s+time\s+zone\b"),
    "window refined from a named window (spell the window out)": REFINED_WINDOW,
    ":: cast (cast(x as type); Spark 3.5 has no ::)": re.compile(r"::"),
    "filter clause on a window aggregate (a case inside the aggregate)": re.compile(
        r"\bfilter\s*\(\s*where\b(?:[^()]|\([^()]*\))*\)\s*over\b"
    ),
}

# The DuckDB halves of the cross_engine macros emit these on purpose: in compiled DuckDB
# SQL, each may appear at most as often as the node's own code calls the macro.
DISPATCHED = {
    "product() (product_of)": "product_of",
    "isoyear() (iso_year)": "iso_year",
    "at time zone (utc_now)": "utc_now",
    "asof join (a range join on the span of each row, macro valid_until)": "left_join_as_of",
}

# DDL and DML Spark SQL rejects or runs only on some table formats (`on conflict`,
# `update`, `delete ... using`, `create or replace table`), allowed only here.
DML = re.compile(
    r"\b(?:update|delete\s+from|insert\s+into|on\s+conflict"
    r"|create\s+(?:or\s+replace\s+)?table|alter\s+table)\b"
)
EXEMPT_MACROS = {
    "create_incremental_state": "creates the state table and upserts its row (on conflict)",
    "record_incremental_state": "updates the state table after a build",
    "get_incremental_recompute_sql": "the recompute strategy: delete+insert, then an update",
    "delete_retired_pairs": "post-hook deleting the rows of pairs that left",
    "record_built_legs": "post-hook writing the legs seen (create or replace table)",
    "replace_stale_runs": "pre-hook: create or replace table, delete ... using",
    "rerank_kept_runs": "post-hook updating the kept runs (update ... from)",
    "record_runs_state": "post-hook updating the state table",
    "plan_cycle_rebuilds": "pre-hook: create or replace table, delete ... using",
    "record_open_cycles": "post-hook replacing the kept rows of the open stretches",
    "rerank_cycles": "post-hook updating the ranks of kept periods (update ... from)",
    "record_cycle_legs": "post-hook replacing the legs of the pairs rebuilt whole",
    "record_watermark_of": "post-hook updating the state table",
    "plan_stock_weeks": "pre-hook: create or replace table, delete",
    "record_stock_dimensions": "post-hook writing the dimensions used (create or replace table)",
    "clear_verified_rows": "the on-run-end hook updating the state table",
    "record_marks": "post-hook keeping each key's last stored date (create, delete, insert)",
    "delete_rows_not_in": "post-hook deleting the rows of symbols or pairs that left a seed",
    "record_basket_compositions": "pre-hook upserting each basket's members (on conflict)",
    "spark__register_lake_sources": "Spark only: the raw tables over the lake's Parquet",
    "spark__load_csv_rows": "Spark only: the seed rows as one insert",
}
EXEMPT_MODELS: dict[str, str] = {}
# the on-run-end hook is compiled as an operation node; its SQL is clear_verified_rows'
EXEMPT_RESOURCE_TYPES = {"operation": "on-run-end hooks: clear_verified_rows, exempt above"}


def without_comments(sql: str) -> str:
    sql = re.sub(r"\{#.*?#\}", " ", sql, flags=re.S)
    return re.sub(r"--[^\n]*", " ", sql).lower()


def findings(sql: str) -> dict[str, int]:
    counts = {name: len(pattern.findall(sql)) for name, pattern in REJECTED.items()}
    return {name: count for name, count in counts.items() if count}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict[str, Any]:
    """The project compiled for the DuckDB target against an empty warehouse (full builds)."""
    folder = tmp_path_factory.mktemp("portable_sql")
    done = run_dbt(folder / "warehouse.duckdb", folder, "compile")
    assert done.returncode == 0, done.stdout[-4000:]
    return json.loads((target_path(folder) / "manifest.json").read_text())


def test_compiled_models_and_tests_use_only_portable_sql(manifest):
    problems = []
    checked = 0
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] in EXEMPT_RESOURCE_TYPES or not node.get("compiled_code"):
            continue
        checked += 1
        for name, count in findings(without_comments(node["compiled_code"])).items():
            macro = DISPATCHED.get(name)
            if macro and count <= len(re.findall(rf"\b{macro}\s*\(", node["raw_code"])):
                continue
            problems.append(f"{unique_id}: {name} x{count}")
    # every model and data test was compiled and read (25 models, 37 tests)
    assert checked == 62
    assert not problems, "\n".join(problems)


def sql_sources() -> list[Path]:
    return sorted(
        path
        for folder in ("models", "macros", "tests")
        for path in (DBT_PROJECT_DIR / folder).rglob("*.sql")
    )


def source_sql(path: Path) -> str:
    """A file's SQL with both branches of every `{% if %}` (the incremental ones too), the
    Jinja tags and comments dropped, and the DuckDB halves of the cross_engine macros."""
    text = path.read_text()
    if path.parent.name == "cross_engine":
        text = re.sub(r"\{%-?\s*macro duckdb__.*?endmacro\s*-?%\}", " ", text, flags=re.S)
    text = without_comments(text)
    return re.sub(r"\{%.*?%\}", " ", text, flags=re.S)


def test_sql_files_use_only_portable_sql_in_every_branch():
    """Compiling against an empty warehouse renders only full builds: the incremental
    branches are checked in the files themselves."""
    problems = [
        f"{path.relative_to(DBT_PROJECT_DIR)}: {name} x{count}"
        for path in sql_sources()
        for name, count in findings(source_sql(path)).items()
    ]
    assert not problems, "\n".join(problems)


def macro_bodies(text: str) -> dict[str, str]:
    return dict(re.findall(r"\{%-?\s*macro\s+(\w+)\(.*?%\}(.*?)\{%-?\s*endmacro", text, flags=re.S))


def test_ddl_and_dml_stay_in_the_incremental_machinery():
    problems = []
    for path in sql_sources():
        text = without_comments(path.read_text())
        if path.relative_to(DBT_PROJECT_DIR).parts[0] == "macros":
            for macro, body in macro_bodies(text).items():
                if DML.search(body) and macro not in EXEMPT_MACROS:
                    problems.append(f"{path.name}: macro {macro}")
        elif DML.search(text) and path.stem not in EXEMPT_MODELS:
            problems.append(str(path.relative_to(DBT_PROJECT_DIR)))
    assert not problems, "\n".join(problems)


def test_contracts_and_seed_column_types_name_portable_types(manifest):
    bare_varchar = REJECTED["bare varchar (string)"]
    problems = [
        f"{unique_id}.{column}: {spec['data_type']}"
        for unique_id, node in manifest["nodes"].items()
        for column, spec in node.get("columns", {}).items()
        if spec.get("data_type") and bare_varchar.search(spec["data_type"].lower())
    ] + [
        f"{unique_id}.{column}: {data_type}"
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "seed"
        for column, data_type in (node["config"].get("column_types") or {}).items()
        if bare_varchar.search(data_type.lower())
    ]
    assert not problems, "\n".join(problems)
