"""What every dbt command works out once per process and then keeps, worked out in the warm
dbt process (orchestration.warm_dbt_server) so that each of its forks finds it done.

- **The JSON schemas dbt validates its project, packages, flags, selectors, hooks, profile,
  runtime configuration and credentials against.** dbt-common builds each from the
  dataclass on first use and keeps it per class (`dbtClassMixin.json_schema`, an
  lru_cache): 0.4-0.5 s of every command's start.
- **inspect's map of source files to modules.** dbt-common's behaviour flags name the
  module that declared them by walking the stack with `inspect.getmodule`, whose first
  call maps the file of every module imported so far (a `realpath` each, thousands of
  them): 0.2-0.3 s of the first adapter dbt creates. Later calls only map what was
  imported since.

Both are pure functions of the code imported, never of a project, profile or database,
so a fork's dbt reads its own files exactly as a new process would. Each filling is
skipped if it fails: the fork then does the work itself, as dbt always has.
"""

import contextlib
import importlib
import inspect
import sys
from collections.abc import Callable
from functools import partial

# (module, class) of each dataclass a `dbt build` on DuckDB validates.
VALIDATED_CLASSES = (
    ("dbt.contracts.project", "Project"),
    ("dbt.contracts.project", "Configuration"),
    ("dbt.contracts.project", "PackageConfig"),
    ("dbt.contracts.project", "ProjectFlags"),
    ("dbt.contracts.project", "ProfileConfig"),
    ("dbt.contracts.selection", "SelectorFile"),
    ("dbt.artifacts.resources.v1.config", "Hook"),
    ("dbt.adapters.duckdb.credentials", "DuckDBCredentials"),
)


def fill_json_schema(module: str, name: str) -> bool:
    """Build and keep the JSON schema of the class `name` of `module`; whether it is kept."""
    try:
        getattr(importlib.import_module(module), name).json_schema()
    except Exception:
        return False
    return True


def fill_module_files() -> int:
    """Map the source file of every module imported so far, as `inspect.getmodule` would
    on its first call; returns how many files inspect now knows."""
    with contextlib.suppress(Exception):
        # A frame has no __module__, so inspect looks its file up in the map (filling it).
        inspect.getmodule(sys._getframe())
    return len(inspect.modulesbyfile)


def fillings() -> list[Callable[[], object]]:
    """Each filling on its own, a fraction of a second each: the warm process serves the
    requests waiting between two of them."""
    schemas = [partial(fill_json_schema, module, name) for module, name in VALIDATED_CLASSES]
    return [*schemas, fill_module_files]
