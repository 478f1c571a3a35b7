"""orchestration.dbt_schemas: dbt's JSON schemas kept in a file per installation, and
answered from it in a process that installed it and in its forks."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.clone import tracked_copy
from ingestion.paths import PROJECT_ROOT
from orchestration import dbt_schemas


def _python(code: str, *args: str, cwd: Path | None = None) -> dict[str, object]:
    """Run `code` in a new interpreter (this one may have built schemas already); the JSON
    it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_file_is_named_after_the_installation_and_holds_every_class(tmp_path, monkeypatch):
    name = dbt_schemas.schemas_file(tmp_path).name
    assert name.startswith(".dbt-json-schemas-")
    assert dbt_schemas.schemas_file(tmp_path) == tmp_path / name  # the same versions, the same
    installed = dbt_schemas.metadata.version
    for package in dbt_schemas.SHAPING_PACKAGES:
        with monkeypatch.context() as patched:
            patched.setattr(
                dbt_schemas.metadata,
                "version",
                lambda name, changed=package: "0.0.1" if name == changed else installed(name),
            )
            assert dbt_schemas.schemas_file(tmp_path).name != name, package
    older = tmp_path / ".dbt-json-schemas-0000000000000000.json"
    older.write_text("{}")
    written = dbt_schemas.write(tmp_path / name)
    assert not older.exists()  # an older installation's file goes
    kept = json.loads(written.read_text())
    assert len(kept) == len(dbt_schemas.SCHEMA_CLASSES)
    assert "dbt.contracts.graph.nodes.ModelNode" in kept
    # what dbt-common builds, as JSON
    from dbt.contracts.graph.nodes import ModelNode

    assert kept["dbt.contracts.graph.nodes.ModelNode"] == json.loads(
        json.dumps(ModelNode.json_schema())
    )


INSTALLED = """
    import json, os, sys
    import dbt.cli.main
    import dbt_common.dataclass_schema as schema_module
    from dbt.contracts.graph.nodes import ModelNode, SeedNode
    from orchestration import dbt_schemas

    built = []
    builder = schema_module.build_json_schema
    schema_module.build_json_schema = lambda cls, *a, **k: built.append(cls.__name__) or builder(
        cls, *a, **k
    )
    read = dbt_schemas.install(dbt_schemas.schemas_file(__import__("pathlib").Path(sys.argv[1])))
    answers = {"read": read}
    try:  # a file whose ModelNode schema refuses everything
        ModelNode.validate({})
        answers["model_node"] = "valid"
    except Exception as error:
        answers["model_node"] = type(error).__name__
    answers["seed_node"] = SeedNode.json_schema().get("title")
    answers["built"] = list(built)
    pid = os.fork()
    if pid == 0:  # a fork answers from the file too
        os._exit(0 if ModelNode.json_schema() == {"not": {}} else 3)
    answers["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    print(json.dumps(answers))
"""


def test_an_installed_file_answers_its_classes_and_dbt_builds_the_others(tmp_path):
    path = dbt_schemas.schemas_file(tmp_path)
    path.write_text(json.dumps({"dbt.contracts.graph.nodes.ModelNode": {"not": {}}}))
    answers = _python(INSTALLED, str(tmp_path))
    assert answers["read"] == 1
    assert answers["model_node"] == "ValidationError"  # the file's schema, not dbt's
    assert answers["seed_node"] == "SeedNode"  # not in the file: built by dbt
    assert answers["built"] == ["SeedNode"]
    assert answers["fork"] == 0


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]"])
def test_a_missing_or_unreadable_file_changes_nothing(tmp_path, content):
    if content is not None:
        dbt_schemas.schemas_file(tmp_path).write_text(content)
    answers = _python(INSTALLED, str(tmp_path))
    assert answers["read"] == 0
    assert answers["model_node"] == "ValidationError"  # {} lacks ModelNode's required fields
    assert sorted(answers["built"]) == ["ModelNode", "SeedNode"]  # dbt built both
    assert answers["fork"] == 3


PARSE = """
    import json, sys
    from pathlib import Path
    import dbt.cli.main
    import dbt_common.dataclass_schema as schema_module
    from orchestration import dbt_schemas

    schemas = Path(sys.argv[1])
    dbt_schemas.write(schemas)
    read = dbt_schemas.install(schemas)
    built = []
    builder = schema_module.build_json_schema
    schema_module.build_json_schema = lambda cls, *a, **k: built.append(cls.__name__) or builder(
        cls, *a, **k
    )
    result = dbt.cli.main.dbtRunner().invoke(sys.argv[2:])
    print(json.dumps({"read": read, "success": result.success, "built": built}))
"""


@pytest.mark.slow
def test_a_whole_parse_and_a_build_of_the_project_build_no_schema_of_their_own(
    tmp_path, monkeypatch
):
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("needs the project's git checkout to copy its tracked files")
    project = tracked_copy(tmp_path / "clone") / "dbt_project"
    schemas = tmp_path / "schemas.json"
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    parse = _python(PARSE, str(schemas), "parse", "--profiles-dir", ".", cwd=project)
    assert parse == {"read": len(dbt_schemas.SCHEMA_CLASSES), "success": True, "built": []}
    # the seeds with their tests and the project's hooks: what a build validates
    build = _python(
        PARSE,
        str(schemas),
        "build",
        "--profiles-dir",
        ".",
        "-s",
        "resource_type:seed",
        "--indirect-selection",
        "cautious",
        cwd=project,
    )
    assert build == {"read": len(dbt_schemas.SCHEMA_CLASSES), "success": True, "built": []}
