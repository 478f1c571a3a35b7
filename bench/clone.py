"""The project as a fresh clone has it: its tracked files copied into a folder, for the
benchmark's first run and the tests of a first run."""

import shutil
import subprocess
from pathlib import Path

from ingestion.paths import PROJECT_ROOT


def tracked_copy(folder: Path) -> Path:
    """The project's tracked files copied into `folder`, as a fresh clone has them: no
    manifest and no target folder, so the first run there parses the dbt project whole."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():  # a file deleted but not yet committed is listed too
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    return folder
