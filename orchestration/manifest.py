"""dbt's manifest, which the code location's dbt assets are defined from: whether it is
older than the dbt project, and a `dbt parse` that runs beside other work when it is.

`python -m orchestration.run` starts the parse before its loads run and waits for it only
when the build run needs the manifest: on a first run after install, when the whole
project is parsed (about 5 s here once dbt is imported), the parse and the loads share the
machine's cores instead of following each other. On DuckDB the parse goes through the warm
dbt process's launcher (orchestration.warm_dbt), whose fork has dbt imported already, so
dbt's two seconds of imports are not paid twice beside the loads. The module imports
neither Dagster nor dbt.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from ingestion.paths import DBT_PROJECT_DIR

# What dbt parses; the manifest is out of date once any of it is newer (the Makefile's rule).
SOURCE_FOLDERS = ("models", "seeds", "macros", "tests")
SOURCE_FILES = ("dbt_project.yml", "profiles.yml")


class ManifestError(RuntimeError):
    """`dbt parse` failed: the dbt project cannot be built as it stands."""


def dbt_executable() -> str:
    """The dbt installed beside this interpreter, so an unactivated venv still finds it."""
    for folder in (Path(sys.prefix) / "bin", Path(sys.executable).parent):
        if (folder / "dbt").exists():
            return str(folder / "dbt")
    return shutil.which("dbt") or "dbt"


def manifest_path(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    return project_dir / "target" / "manifest.json"


def manifest_is_current(project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """True when target/manifest.json is at least as new as every file dbt parses, and as
    the installation of the packages (a new dbt may write a different manifest)."""
    try:
        written = manifest_path(project_dir).stat().st_mtime
    except FileNotFoundError:
        return False
    sources = [project_dir / name for name in SOURCE_FILES if (project_dir / name).exists()]
    sources += [
        path
        for folder in SOURCE_FOLDERS
        for path in (project_dir / folder).rglob("*")
        if path.is_file()
    ]
    sources += Path(sys.prefix).glob(".installed-*")
    return all(path.stat().st_mtime <= written for path in sources)


class ManifestParse:
    """`dbt parse` of a dbt project in a process of its own, started only when the project's
    manifest is out of date; `wait` returns once the manifest is written.

    The parse is given the warehouse path the run will build, as `make manifest` does: dbt
    keeps its partial parse only for the profile it was made with, so the run's `dbt build`
    then need not parse again."""

    def __init__(self, warehouse: Path, project_dir: Path = DBT_PROJECT_DIR) -> None:
        self.warehouse = warehouse
        self.project_dir = project_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._started = 0.0

    def needed(self) -> bool:
        """Whether the manifest is out of date, so that `start` would parse."""
        return not manifest_is_current(self.project_dir)

    def start(self, dbt: str | None = None) -> bool:
        """Starts the parse if the manifest is out of date; True when it did. `dbt`: the
        executable to parse with (default: the installed dbt), such as the warm dbt
        process's launcher, whose fork has dbt imported already."""
        if not self.needed():
            return False
        # A file, not a pipe: nobody reads dbt's output until it has ended.
        self._output = tempfile.TemporaryFile(prefix="dbt-parse-")  # noqa: SIM115 (closed by wait)
        self._started = time.monotonic()
        self._process = subprocess.Popen(
            [dbt or dbt_executable(), "parse", "--profiles-dir", ".", "--quiet"],
            cwd=self.project_dir,
            env={**os.environ, "WAREHOUSE_PATH": str(self.warehouse)},
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        return True

    def wait(self) -> float | None:
        """The parse's seconds once it has ended (None when none was started); raises
        ManifestError with dbt's output when it failed."""
        if self._process is None or self._output is None:
            return None
        code = self._process.wait()
        seconds = time.monotonic() - self._started
        self._output.seek(0)
        output = self._output.read().decode(errors="replace").strip()
        self._output.close()
        self._process = self._output = None
        if code != 0:
            raise ManifestError(
                f"dbt parse of {self.project_dir} failed (exit code {code}); the manifest "
                f"was not written:\n{output[-4000:] or '(no output)'}"
            )
        manifest_path(self.project_dir).touch()  # as new as the files it was parsed from
        return seconds

    def __enter__(self) -> "ManifestParse":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """A parse still running when the caller gave up (an error, Ctrl-C) is stopped."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait()
        if self._output is not None:
            self._output.close()
