"""Whether a process still exists, for what a killed run left behind (its runs, its folders)."""

import os


def process_exists(pid: int) -> bool:
    """True when a process with this id runs on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
