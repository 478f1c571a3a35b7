"""Waiting for something a process under test does, never for a length of time.

A test that needs another process or thread to reach a point polls for the sign it leaves
(a file, a log entry, an answering port). The deadline is only a safety net against a
hang, generous enough for a machine whose cores are all busy.
"""

import time
from collections.abc import Callable

SAFETY_NET_SECONDS = 300.0


def wait_for(
    condition: Callable[[], object], what: str, timeout: float = SAFETY_NET_SECONDS
) -> None:
    """Return once `condition()` is true; fail naming `what` if it never becomes so."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)
