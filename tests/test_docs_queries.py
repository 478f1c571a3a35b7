"""docs/queries.md stays true: its queries are the script's, and they run on a fresh build."""

import importlib.util
import re

import duckdb
import pytest

from ingestion.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _script():
    spec = importlib.util.spec_from_file_location(
        "queries_doc", PROJECT_ROOT / "docs" / "queries.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_markdown_holds_exactly_the_scripts_queries():
    script = _script()
    text = (PROJECT_ROOT / "docs" / "queries.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)\n```", text, flags=re.DOTALL)
    assert blocks == [sql.strip() for _title, sql in script.QUERIES]


def test_every_query_runs_and_renders_on_the_sample_build(built):
    path, _result, _instance = built
    script = _script()
    with duckdb.connect(str(path), read_only=True) as con:
        text = script.render(con)
    assert text.count("\n## ") == len(script.QUERIES)
    assert "data through 2024-04-05" in text
