"""orchestration.dbt_caches: what dbt works out once per process is worked out by the warm
process, so that its forks (which inherit it) do not work it out again."""

import json
import subprocess
import sys
import textwrap

from orchestration.dbt_caches import VALIDATED_CLASSES

# Run in a new interpreter: the test process may have filled these caches already.
PROBE = textwrap.dedent(
    """
    import importlib, inspect, json, os, sys
    import dbt.cli.main, dbt.adapters.duckdb.impl
    from orchestration import dbt_caches

    flags_file = os.path.realpath(importlib.import_module("dbt_common.behavior_flags").__file__)
    schema_cache = importlib.import_module("dbt_common.dataclass_schema").dbtClassMixin
    cache = schema_cache.json_schema.__func__
    before = {"mapped": flags_file in inspect.modulesbyfile, "misses": cache.cache_info().misses}
    kept = dbt_caches.fill_json_schemas()
    assert len(dbt_caches.fillings()) == len(dbt_caches.VALIDATED_CLASSES) + 1
    files = dbt_caches.fill_module_files()
    misses = cache.cache_info().misses
    for module, name in dbt_caches.VALIDATED_CLASSES:
        getattr(importlib.import_module(module), name).json_schema()
    # a fork inherits what was filled: its own first calls are answered from the caches
    pid = os.fork()
    if pid == 0:
        for module, name in dbt_caches.VALIDATED_CLASSES:
            getattr(importlib.import_module(module), name).json_schema()
        os._exit(0 if cache.cache_info().misses == misses else 3)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({
        "before": before,
        "kept": kept,
        "files": files,
        "mapped": inspect.modulesbyfile.get(flags_file),
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
    assert probe["kept"] == [f"{module}.{name}" for module, name in VALIDATED_CLASSES]
    # one schema built per class, none again afterwards, here or in a fork
    assert probe["filled_misses"] == len(VALIDATED_CLASSES)
    assert probe["new_misses"] == 0
    assert probe["fork_status"] == 0
    # the module that walks the stack for behaviour flags is found in the map
    assert probe["mapped"] == "dbt_common.behavior_flags"
    assert probe["files"] > 1000
