"""The dbt CLI resource of the code location: dagster-dbt's, told dbt's version without
asking dbt, and running the dbt installed beside this interpreter."""

import shutil
import sys
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging.version import Version


def dbt_executable() -> str:
    """The dbt installed beside this interpreter, so an unactivated venv still finds it."""
    for folder in (Path(sys.prefix) / "bin", Path(sys.executable).parent):
        if (folder / "dbt").exists():
            return str(folder / "dbt")
    return shutil.which("dbt") or "dbt"


class WarehouseDbtCliResource(DbtCliResource):
    """The dbt CLI, told its version by the installed dbt-core package.

    dagster-dbt otherwise starts `dbt --version` before every invocation to learn it
    (1.3 s here, a tenth of a nightly refresh of the default universe). The executable is
    the one installed beside dbt-core in this environment, so the two cannot differ.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))
