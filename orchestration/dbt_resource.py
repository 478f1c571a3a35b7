"""The dbt CLI resource of the code location: dagster-dbt's, told dbt's version without
asking dbt, running the dbt installed beside this interpreter (or the warm dbt process of
`orchestration.run`), and loading no dbt adapter into the step's own process."""

from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version

from dagster_dbt import DbtCliResource
from packaging.version import Version

from orchestration.manifest import dbt_executable as installed_dbt
from orchestration.warm_dbt import launcher_from_env


def dbt_executable() -> str:
    """What the dbt step runs: the launcher of the warm dbt process when
    `orchestration.run` started one (orchestration.warm_dbt), else the installed dbt.

    Read from here by shared.py, and replaced here by tests/crash_run.py."""
    return launcher_from_env() or installed_dbt()


class WarehouseDbtCliResource(DbtCliResource):
    """The dbt CLI, told its version by the installed dbt-core package.

    dagster-dbt otherwise starts `dbt --version` before every invocation to learn it
    (1.3 s here, a tenth of a nightly refresh of the default universe). The executable is
    the one installed beside dbt-core in this environment, so the two cannot differ.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No adapter in the step's process: dagster-dbt uses it only to fetch column
        metadata and row counts, which these assets do not ask for, and loading it (dbt's
        adapters, the profile and the project) delays the start of every dbt invocation."""
        return None
