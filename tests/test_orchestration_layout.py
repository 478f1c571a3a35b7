"""The code location keeps its layout: domains under orchestration/defs/ import only what
they share (orchestration/shared.py and the platform modules), never one another, and
every module is small and says what it is for."""

import ast
from pathlib import Path

import pytest

from ingestion.paths import PROJECT_ROOT
from tests.test_package_boundaries import imported_modules

ORCHESTRATION = PROJECT_ROOT / "orchestration"
DOMAINS = sorted(path.name for path in (ORCHESTRATION / "defs").iterdir() if path.is_dir())
MAX_LINES = 400


def _modules(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def test_the_domains_are_the_expected_ones() -> None:
    assert DOMAINS == ["ingestion", "maintenance", "models", "monitoring", "serving"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_domain_imports_no_other_domain(domain: str) -> None:
    others = {f"orchestration.defs.{other}" for other in DOMAINS if other != domain}
    found = [
        f"{path.relative_to(PROJECT_ROOT).as_posix()}:{line} imports {module}"
        for path in _modules(ORCHESTRATION / "defs" / domain)
        for line, module in imported_modules(path, PROJECT_ROOT)
        if any(module == other or module.startswith(other + ".") for other in others)
        or module == "orchestration.defs.jobs"
    ]
    assert found == []


def test_modules_are_small_and_documented() -> None:
    problems = []
    for path in _modules(ORCHESTRATION):
        name = path.relative_to(PROJECT_ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_LINES:
            problems.append(f"{name} has over {MAX_LINES} lines")
        if not ast.get_docstring(ast.parse(text)):
            problems.append(f"{name} has no docstring")
    assert problems == []
