"""`make ui`: `dagster dev`, stopped with every process it started on Ctrl-C or SIGTERM.

Run as `python -m orchestration.ui <dagster dev options>`. On its own, `dagster dev` can
outlive the signal meant to stop it by minutes, or for good:

- it returns without waiting for its code server, which on shutdown waits for the runs it
  started to finish: with a `refresh_all_job` launched from the UI in progress, the code
  server, its gRPC server and the run were still there a minute after the signal;
- it maps SIGTERM to whatever handles SIGINT; started with SIGINT ignored (a background job
  of a non-interactive shell, some process supervisors), it ignores SIGTERM too, and all of
  it runs on after `make` has gone;
- `make` does not forward SIGINT (it expects the terminal to have sent it to every process
  of the foreground group) and forwards SIGTERM only to its direct child.

So `dagster dev` runs here in a session of its own, and the first SIGINT, SIGTERM or SIGHUP
this process receives stops it in three steps:

1. SIGTERM to the runs in progress, which record their failure and exit, and SIGINT to
   `dagster dev`, which stops the webserver and the daemon, then its code server;
2. SIGTERM to whatever of its process group is left once it has exited, or `DEV_SECONDS`
   after the signal (the code server, which `dagster dev` does not wait for);
3. SIGKILL to anything still there `GRACE_SECONDS` after the signal, or at once on a second
   Ctrl-C (make dies of it and the prompt is back).

This process returns once all of them are gone, and dies of the signal it received.
"""

import contextlib
import ctypes
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

# On two busy cores `dagster dev` stops in 2 to 6 seconds and its code server 1 to 3 after
# it; the whole stop must be over within 10.
DEV_SECONDS = 5.0
GRACE_SECONDS = 8.0
KILL_WAIT_SECONDS = 1.5
POLL_SECONDS = 0.1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_CHILD_SUBREAPER = 36


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    pass


class _Launcher:
    """One `dagster dev` process group, its stop request and its teardown."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = list(command)
        self.stop_signal: int | None = None
        self.hurry = False
        self.child: subprocess.Popen[bytes] | None = None
        self.child_status: int | None = None

    def _request_stop(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
        elif signum == signal.SIGINT:
            # A second Ctrl-C: make has died of it (its handler is gone after the first),
            # the prompt is back, and Dagster must not keep writing under it.
            self.hurry = True

    def install_handlers(self) -> None:
        for signum in STOP_SIGNALS:
            if signum != signal.SIGTERM and signal.getsignal(signum) == signal.SIG_IGN:
                # Still ignored here, but through a handler: exec resets handlers (not
                # SIG_IGN) to the default, so Dagster can be stopped by the SIGINT sent below.
                signal.signal(signum, _ignore)
            else:
                signal.signal(signum, self._request_stop)

    def _reap(self) -> None:
        """Collect every child that has exited: `dagster dev`, and the processes it left
        behind when they were handed to this process (see `_become_subreaper`)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.child is not None and pid == self.child.pid:
                self.child_status = os.waitstatus_to_exitcode(status)
                self.child.returncode = self.child_status

    def _group_gone(self, group: int) -> bool:
        self._reap()
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # a member changed user: it still runs
            return False
        return False

    def _signal_group(self, group: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signum)

    def _wait_until(self, done: Callable[[], bool], deadline: float, *, hurry: bool) -> bool:
        """True once `done()`; False at the deadline, or at a second Ctrl-C if `hurry`."""
        while True:
            self._reap()
            if done():
                return True
            if time.monotonic() >= deadline or (hurry and self.hurry):
                return False
            time.sleep(POLL_SECONDS)

    def _stop_requested_or_dev_exited(self) -> bool:
        return self.stop_signal is not None or self.child_status is not None

    def run(self) -> int:
        self.install_handlers()
        if self.stop_signal is None:
            self.child = subprocess.Popen(self.command, start_new_session=True)
            self._wait_until(self._stop_requested_or_dev_exited, math.inf, hurry=False)
            self.stop(self.child.pid)
        if self.stop_signal is not None:
            # Die of the signal, as a process without this launcher would: make and shells
            # tell an interrupted command from a failed one by it.
            signal.signal(self.stop_signal, signal.SIG_DFL)
            os.kill(os.getpid(), self.stop_signal)
        status = self.child_status or 0
        return 128 - status if status < 0 else status

    def stop(self, group: int) -> None:
        """Stop `dagster dev` and then whatever of its group is left; returns when none of
        them is left."""
        started = time.monotonic()

        def dev_exited() -> bool:
            return self.child_status is not None

        def group_gone() -> bool:
            return self._group_gone(group)

        if not dev_exited():
            # Runs in progress at once: the code server would wait for them to finish, and
            # a step inside a long computation takes seconds to notice the signal. SIGTERM,
            # not SIGINT: the helper processes of a run die of it without a traceback.
            for pid in _runs_below(group):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            # `dagster dev` alone stops the webserver and the daemon before its code server.
            # Sent to the whole group at once, the interrupt stops the code server under
            # sensor ticks still running in the daemon, which log a traceback each.
            with contextlib.suppress(ProcessLookupError):
                os.kill(group, signal.SIGINT)
        self._wait_until(dev_exited, started + DEV_SECONDS, hurry=True)
        # Then whatever is left: the code server, which `dagster dev` does not wait for,
        # and the runs where `_runs_below` cannot see them.
        if not self.hurry:
            self._signal_group(group, signal.SIGTERM)
            if self._wait_until(group_gone, started + GRACE_SECONDS, hurry=True):
                return
        reason = (
            "interrupted again"
            if self.hurry
            else f"Dagster had not stopped {GRACE_SECONDS:g} s after the signal"
        )
        print(f"orchestration.ui: {reason}; killing what is left", file=sys.stderr, flush=True)
        self._signal_group(group, signal.SIGKILL)
        self._wait_until(group_gone, time.monotonic() + KILL_WAIT_SECONDS, hurry=False)


def _runs_below(dev: int) -> list[int]:
    """Processes three or more levels below `dagster dev` (dev -> code server -> gRPC
    server -> runs and their helpers: compute log tails, dbt); none where /proc is not."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    level = [dev]
    for _ in range(3):
        level = [child for pid in level for child in children.get(pid, [])]
    below: list[int] = []
    while level:
        below.extend(level)
        level = [child for pid in level for child in children.get(pid, [])]
    return below


def _become_subreaper() -> None:
    """On Linux, processes orphaned below this one (the code server `dagster dev` does not
    wait for) become its children: they are reaped here, and never linger as zombies that
    still count as members of the group."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def main(argv: Sequence[str] | None = None) -> int:
    """`dagster dev` with `argv` as its options; its exit status, or death by the signal
    that stopped it."""
    options = sys.argv[1:] if argv is None else list(argv)
    _become_subreaper()
    return _Launcher([sys.executable, "-m", "dagster", "dev", *options]).run()


if __name__ == "__main__":
    sys.exit(main())
