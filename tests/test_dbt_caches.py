"""orchestration.dbt_caches: what dbt works out once per process is worked out by the warm
process, so that its forks (which inherit it) do not work it out again."""

import json
import os
import subprocess
import sys
import textwrap

from orchestration.dbt_caches import fill_json_schema
from orchestration.dbt_schemas import COMMAND_CLASSES
from orchestration.manifest import dbt_executable
from tests.tiny_dbt import tiny_project

# Run in a new interpreter: the test process may have filled these caches already.
PROBE = textwrap.dedent(
    """
    import importlib, inspect, json, os, sys
    import dbt.cli.main, dbt.adapters.duckdb.impl
    from orchestration import dbt_caches
    from orchestration.dbt_schemas import COMMAND_CLASSES

    flags_file = os.path.realpath(importlib.import_module("dbt_common.behavior_flags").__file__)
    cache = importlib.import_module("dbt_common.dataclass_schema").dbtClassMixin.json_schema
    cache = cache.__func__
    before = {"mapped": flags_file in inspect.modulesbyfile, "misses": cache.cache_info().misses}
    # the steps the warm process runs, one by one
    for filling in dbt_caches.fillings():
        filling()
    misses = cache.cache_info().misses
    for module, name in COMMAND_CLASSES:
        getattr(importlib.import_module(module), name).json_schema()
    # a fork inherits what was filled: its own first calls are answered from the caches
    pid = os.fork()
    if pid == 0:
        for module, name in COMMAND_CLASSES:
            getattr(importlib.import_module(module), name).json_schema()
        built = cache.cache_info().misses - misses
        mapped = inspect.modulesbyfile.get(flags_file) == "dbt_common.behavior_flags"
        os._exit(0 if built == 0 and mapped else 3)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({
        "before": before,
        "mapped": inspect.modulesbyfile.get(flags_file),
        "files": len(inspect.modulesbyfile),
        "new_misses": cache.cache_info().misses - misses,
        "filled_misses": misses - before["misses"],
        "fork_status": os.waitstatus_to_exitcode(status),
    }))
    """
)


def test_the_schemas_and_the_module_map_are_filled_once_and_inherited() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=300
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["before"]["mapped"] is False
    # one schema built per class by the fillings, none again afterwards, here or in a fork
    assert probe["filled_misses"] == len(COMMAND_CLASSES)
    assert probe["new_misses"] == 0
    assert probe["fork_status"] == 0
    # the module that walks the stack for behaviour flags is found in the map
    assert probe["mapped"] == "dbt_common.behavior_flags"
    assert probe["files"] > 1000


def test_a_filling_that_fails_is_left_to_the_fork() -> None:
    assert fill_json_schema("orchestration.no_such_module", "Project") is False
    assert fill_json_schema("dbt.contracts.project", "NoSuchClass") is False
    assert fill_json_schema("dbt.contracts.project", "Project") is True


CODE_PROBE = textwrap.dedent(
    """
    import json, multiprocessing.util, os, sys
    from pathlib import Path
    import dbt.cli.main
    from dbt.contracts.graph.manifest import Manifest
    from mashumaro.core.meta.code.builder import CodeBuilder
    from orchestration.dbt_caches import ManifestCode

    generated = []
    for method in ("add_unpack_method", "add_pack_method"):
        original = getattr(CodeBuilder, method)
        def counted(self, original=original):
            generated.append(self.cls.__name__)
            return original(self)
        setattr(CodeBuilder, method, counted)

    path = Path(sys.argv[1])

    def in_a_fork():
        # what a build's dbt does with its partial parse: read it, graph it, write it out
        inherited = len(generated)
        pid = os.fork()
        if pid == 0:
            manifest = Manifest.from_msgpack(path.read_bytes())
            manifest.build_flat_graph()
            manifest.fill_tracking_metadata = lambda: None
            manifest.writable_manifest().to_dict(omit_none=False, context={"artifact": True})
            del manifest
            multiprocessing.util._run_finalizers()  # the manifest's semaphore
            os._exit(min(len(generated) - inherited, 100))
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    before = in_a_fork()
    code = ManifestCode(path)
    steps = [code.read(), code.write(), code.write()]
    print(json.dumps({
        "before": before,
        "steps": steps,
        "after": in_a_fork(),
        "missing": ManifestCode(path.with_name("none.msgpack")).read(),
    }))
    """
)


def test_the_manifest_code_is_generated_before_the_fork(tmp_path) -> None:
    project = tiny_project(tmp_path / "project", {"one.sql": "select 1 as x\n"})
    env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "tiny.duckdb")}
    subprocess.run(
        [dbt_executable(), "parse", "--profiles-dir", "."],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    packed = project / "target" / "partial_parse.msgpack"
    done = subprocess.run(
        [sys.executable, "-c", CODE_PROBE, str(packed)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["before"] > 10  # a fork of a process that never read a manifest generates
    assert probe["steps"] == [True, True, False]  # the second write has nothing read to write
    assert probe["after"] == 0  # one that read and wrote one first, nothing
    assert probe["missing"] is False
