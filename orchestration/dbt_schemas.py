"""dbt's JSON schemas, built once per installation and kept in a file beside it.

dbt validates its project, profile, flags and every node it parses against JSON schemas
that dbt-common builds from the dataclasses on first use in each process
(`dbtClassMixin.json_schema`): 2.3 s of a whole project's parse for the 27 classes below,
0.5 s of every other command. A schema is a pure function of the installed code, like the
bytecode Python compiles, so `make install` builds them once
(`python -m orchestration.dbt_schemas`) into a file of the virtual environment named
after the versions of every package that shapes them; a new install writes a new file.

The warm dbt process (orchestration.warm_dbt_server) loads the file right after importing
dbt, so that its forks (the parse of a first run, the build's dbt) answer those classes
from it. A class the file lacks, a file that is missing or unreadable: dbt builds the
schema as it always has.
"""

import hashlib
import importlib
import json
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from orchestration.partial_parse import replace_file

# (module, class) of each dataclass every dbt command on DuckDB validates: its project,
# profile, flags, selectors and hooks.
COMMAND_CLASSES = (
    ("dbt.contracts.project", "Project"),
    ("dbt.contracts.project", "Configuration"),
    ("dbt.contracts.project", "PackageConfig"),
    ("dbt.contracts.project", "ProjectFlags"),
    ("dbt.contracts.project", "ProfileConfig"),
    ("dbt.contracts.selection", "SelectorFile"),
    ("dbt.artifacts.resources.v1.config", "Hook"),
    ("dbt.adapters.duckdb.credentials", "DuckDBCredentials"),
)
# ... and those a parse (the nodes and their configs) and a build (test results) add.
SCHEMA_CLASSES = (
    *COMMAND_CLASSES,
    ("dbt.contracts.graph.nodes", "ModelNode"),
    ("dbt.contracts.graph.nodes", "SeedNode"),
    ("dbt.contracts.graph.nodes", "SingularTestNode"),
    ("dbt.contracts.graph.nodes", "GenericTestNode"),
    ("dbt.contracts.graph.nodes", "HookNode"),
    ("dbt.contracts.graph.unparsed", "UnparsedSourceDefinition"),
    ("dbt.contracts.graph.unparsed", "UnparsedModelUpdate"),
    ("dbt.contracts.graph.unparsed", "UnparsedNodeUpdate"),
    ("dbt.contracts.graph.unparsed", "UnparsedUnitTest"),
    ("dbt.contracts.graph.unparsed", "UnparsedExposure"),
    ("dbt.artifacts.resources.v1.config", "NodeConfig"),
    ("dbt.artifacts.resources.v1.config", "TestConfig"),
    ("dbt.artifacts.resources.v1.model", "ModelConfig"),
    ("dbt.artifacts.resources.v1.seed", "SeedConfig"),
    ("dbt.artifacts.resources.v1.source_definition", "SourceConfig"),
    ("dbt.artifacts.resources.v1.components", "Contract"),
    ("dbt.artifacts.resources.v1.unit_test_definition", "UnitTestConfig"),
    ("dbt.artifacts.resources.v1.exposure", "ExposureConfig"),
    ("dbt.task.test", "TestResultData"),
)
# What a schema is built from: dbt's dataclasses, mashumaro's builder, the interpreter.
SHAPING_PACKAGES = ("dbt-core", "dbt-common", "dbt-adapters", "dbt-duckdb", "mashumaro")


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def schemas_file(prefix: Path = Path(sys.prefix)) -> Path:
    """The file of this installation's schemas, named after what shapes them."""
    versions = [sys.version]
    for package in SHAPING_PACKAGES:
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} missing")
    key = hashlib.sha256("\n".join(versions).encode()).hexdigest()[:16]
    return prefix / f".dbt-json-schemas-{key}.json"


def build(classes: tuple[tuple[str, str], ...] = SCHEMA_CLASSES) -> dict[str, Any]:
    """Each class's schema as dbt-common builds it, by the class's qualified name."""
    built = {}
    for module, name in classes:
        cls = getattr(importlib.import_module(module), name)
        built[_qualified(cls)] = cls.json_schema()
    return built


def write(path: Path | None = None) -> Path:
    """Build every schema into `path` (default: this installation's file), replacing it
    whole; older installations' files beside it go."""
    path = schemas_file() if path is None else path
    replace_file(path, json.dumps(build(), sort_keys=True).encode())
    for other in path.parent.glob(".dbt-json-schemas-*.json"):
        if other != path:
            other.unlink(missing_ok=True)
    return path


def install(path: Path | None = None) -> int:
    """Have dbt answer the classes kept in `path` (default: this installation's file) from
    it in this process and its forks; the number of schemas read (0 when the file is
    missing or unreadable: nothing changes)."""
    from dbt_common.dataclass_schema import dbtClassMixin

    path = schemas_file() if path is None else path
    try:
        kept = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return 0
    if not isinstance(kept, dict):
        return 0
    builder = dbtClassMixin.__dict__["json_schema"].__func__
    dbtClassMixin.json_schema = classmethod(_answer_from(kept, getattr(builder, "built", builder)))
    return len(kept)


def _answer_from(kept: Mapping[str, Any], builder: Callable[[type], Any]) -> Callable[[type], Any]:
    def json_schema(cls: type) -> Any:
        schema = kept.get(_qualified(cls))
        return builder(cls) if schema is None else schema

    json_schema.built = builder  # type: ignore[attr-defined]  # what install wraps again
    return json_schema


if __name__ == "__main__":
    written = write()
    print(f"dbt's JSON schemas of {len(SCHEMA_CLASSES)} classes: {written}")
