"""What every dbt command works out once per process and then keeps, worked out in the warm
dbt process (orchestration.warm_dbt_server) so that each of its forks finds it done.

- **The JSON schemas dbt validates its project, packages, flags, selectors, hooks, profile,
  runtime configuration and credentials against.** dbt-common builds each from the
  dataclass on first use and keeps it per class (`dbtClassMixin.json_schema`, an
  lru_cache): 0.4-0.5 s of every command's start. They normally come from the
  installation's file of schemas (orchestration.dbt_schemas), and these steps then only
  find them there; without it, they build them.
- **inspect's map of source files to modules.** dbt-common's behaviour flags name the
  module that declared them by walking the stack with `inspect.getmodule`, whose first
  call maps the file of every module imported so far (a `realpath` each, thousands of
  them): 0.2-0.3 s of the first adapter dbt creates. Later calls only map what was
  imported since.
- **The code that reads and writes dbt's manifest.** dbt's dataclasses have mashumaro
  generate their `from_dict`, `to_dict` and msgpack methods on first use, class by class:
  a `dbt build` reading its partial parse, building its graph and writing manifest.json
  spends 0.5-0.8 s generating them before the data takes 0.1 s. The warm process reads
  the project's own partial parse file and turns it into manifest.json's dict (writing
  nothing), so that the classes a build meets have their methods already.

All are pure functions of the code imported: the manifest read is thrown away, so a fork's
dbt reads its own files exactly as a new process would. Each filling is skipped if it
fails: the fork then does the work itself, as dbt always has.
"""

import contextlib
import gc
import importlib
import inspect
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ingestion.paths import DBT_PROJECT_DIR
from orchestration.dbt_schemas import COMMAND_CLASSES


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


class ManifestCode:
    """The manifest's generated code, in two steps: reading `path` (a partial parse file of
    dbt's), then the graph and manifest.json's dict of what was read."""

    def __init__(self, path: Path = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack") -> None:
        self.path = path
        self.manifest: Any = None

    def read(self) -> bool:
        """Read the file as dbt's partial parse does; whether it could."""
        try:
            from dbt.contracts.graph.manifest import Manifest

            self.manifest = Manifest.from_msgpack(self.path.read_bytes())
        except Exception:
            return False
        return True

    def write(self) -> bool:
        """Build the graph and manifest.json's dict of what `read` read, then drop it all;
        whether it could."""
        manifest, self.manifest = self.manifest, None
        if manifest is None:
            return False
        try:
            manifest.build_flat_graph()
            # it reads the flags of a dbt command, which this process never set
            manifest.fill_tracking_metadata = lambda: None
            manifest.writable_manifest().to_dict(omit_none=False, context={"artifact": True})
        except Exception:
            return False
        finally:
            del manifest
            gc.collect()  # nothing of it is left for the forks to inherit
        return True


def fillings() -> list[Callable[[], object]]:
    """Each filling on its own, a fraction of a second each: the warm process serves the
    requests waiting between two of them."""
    # the schemas every command builds when the installation's file of them is missing
    schemas = [partial(fill_json_schema, module, name) for module, name in COMMAND_CLASSES]
    manifest = ManifestCode()
    return [*schemas, fill_module_files, manifest.read, manifest.write]
