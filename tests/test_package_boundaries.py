"""The packages import downwards only: ingestion knows nothing above it, serving no Dagster."""

import ast
from pathlib import Path

import pytest

from ingestion.paths import PROJECT_ROOT

FORBIDDEN = {
    "ingestion": ("dagster", "dagster_dbt", "dagster_duckdb", "orchestration", "serving"),
    "serving": ("dagster", "dagster_dbt", "dagster_duckdb", "orchestration"),
}


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, with the line of the import (relative ones resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(root).parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = ".".join(package[: len(package) - node.level + 1])
                base = ".".join(part for part in (parent, node.module) if part)
            if base:
                found.append((node.lineno, base))
            else:  # `from .. import serving`: the names are the modules
                found += [(node.lineno, alias.name) for alias in node.names]
    return found


def violations(package: str, root: Path = PROJECT_ROOT) -> list[str]:
    return [
        f"{path.relative_to(root).as_posix()}:{line} imports {module}"
        for path in sorted((root / package).rglob("*.py"))
        for line, module in imported_modules(path, root)
        if module.split(".")[0] in FORBIDDEN[package]
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_the_package_imports_nothing_above_it(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    planted = tmp_path / "serving" / "planted.py"
    planted.parent.mkdir()
    planted.write_text('"""Planted."""\n\nfrom orchestration.run import main\n')
    (tmp_path / "ingestion").mkdir()
    (tmp_path / "ingestion" / "planted.py").write_text("from .. import serving\nimport dagster\n")
    (tmp_path / "ingestion" / "fine.py").write_text("from . import loader\nimport duckdb\n")
    assert violations("serving", tmp_path) == ["serving/planted.py:3 imports orchestration.run"]
    assert violations("ingestion", tmp_path) == [
        "ingestion/planted.py:1 imports serving",
        "ingestion/planted.py:2 imports dagster",
    ]
