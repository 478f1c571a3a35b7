"""`make ui` stops, with every process it started, within 10 s of SIGTERM or Ctrl-C: idle,
with a run in progress, started with SIGINT ignored, and on a second Ctrl-C.

Each test starts the real `make ui` (dbt parse, then `dagster dev` through
orchestration/ui.py) in a session of its own, on a free port, with a temporary
DAGSTER_HOME and warehouse; waits until the webserver answers; records make and every
process below it (the launcher, `dagster dev`, the webserver, the daemon, the code server
and its gRPC server, and a run's processes when one is in progress); sends the signal; and
checks that all of them, and anything else left in their sessions, are gone within 10 s.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from ingestion.paths import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.long]

# Waiting for events (the webserver answering, a run starting); two busy cores take well
# over a minute to parse the dbt project and load the code location.
STARTUP_TIMEOUT = 300.0
# The requirement itself.
STOP_BOUND = 10.0
POLL = 0.1
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
ROLES = {
    "launcher": "orchestration.ui",
    "dagster dev": "dagster dev",
    "webserver": "dagster_webserver",
    "daemon": "dagster._daemon",
    "code server": "code-server start",
    "gRPC server": "api grpc",
}
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
  }
}
"""
RUN_STATUS = """
query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _exited(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # exited meanwhile
        return ""


def _signal_state(pid: int) -> str:
    """Blocked, ignored and caught signals of a process, as /proc shows them."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "gone"
    return " ".join(
        line.replace("\t", "") for line in lines if line[:6] in ("SigBlk", "SigIgn", "SigCgt")
    )


def _session_members(sessions: set[int]) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) in sessions and not _exited(process):
                members.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return members


class UI:
    """A `make ui` started in its own session, and the processes it started."""

    def __init__(self, root: Path, *, ignore_sigint: bool = False) -> None:
        home = root / "dagster_home"
        home.mkdir()
        shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
        self.port = _free_port()
        self.log_path = root / "make_ui.log"
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "WAREHOUSE_PATH": str(root / "warehouse" / "warehouse.duckdb"),
            "LANDING_DIR": str(root / "landing"),
            "DO_NOT_TRACK": "1",
        }
        # As a background job of a non-interactive shell starts: SIGINT ignored. Otherwise
        # as from a terminal: the stop signals at their defaults and unblocked. Ignored and
        # blocked signals are inherited, and pytest may run with some (an xdist worker, a
        # suite started with `&`, a library of an earlier test).
        disposition = signal.SIG_IGN if ignore_sigint else signal.SIG_DFL

        def as_from_a_terminal() -> None:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            signal.signal(signal.SIGINT, disposition)

        with self.log_path.open("wb") as log:
            # DAGSTER_HOME on the command line: the Makefile's own assignment overrides the
            # environment.
            self.make = subprocess.Popen(
                ["make", "ui", f"UI_PORT={self.port}", f"DAGSTER_HOME={home}"],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=as_from_a_terminal,
            )
        self.processes: list[psutil.Process] = []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _fail(self, message: str) -> None:
        pytest.fail(f"{message}\n--- make ui output (end) ---\n{self.log()[-6000:]}")

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["data"]

    def _wait_for(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.make.poll() is not None:
                self._fail(f"make ui exited with {self.make.returncode} before {what}")
            try:
                if ready():
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        self._fail(f"no {what} after {STARTUP_TIMEOUT:g} s")

    def wait_for_output(self, text: str) -> None:
        deadline = time.monotonic() + STOP_BOUND
        while text not in self.log():
            if time.monotonic() >= deadline:
                self._fail(f"no {text!r} in the output of make ui")
            time.sleep(POLL)

    def wait_until_serving(self) -> None:
        def answers() -> bool:
            url = f"http://127.0.0.1:{self.port}/server_info"
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200

        self._wait_for("answer from the webserver", answers)

    def start_run(self) -> None:
        """Launch `refresh_all_job` from the UI and wait until it is running."""
        run_ids: list[str] = []
        selector = {
            "repositoryLocationName": "market_divergence",
            "repositoryName": "__repository__",
            "jobName": "refresh_all_job",
        }

        def launched() -> bool:
            params = {"selector": selector, "runConfigData": {}}
            result = self._graphql(LAUNCH_RUN, {"params": params})["launchRun"]
            if result["__typename"] == "LaunchRunSuccess":
                run_ids.append(result["run"]["runId"])
            return bool(run_ids)

        def started() -> bool:
            run = self._graphql(RUN_STATUS, {"runId": run_ids[0]})["runOrError"]
            if run["status"] not in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED"):
                self._fail(f"the run ended before the signal: {run['status']}")
            return run["status"] == "STARTED"

        self._wait_for("run launched", launched)
        self._wait_for("run started", started)

    def record_processes(self) -> None:
        root = psutil.Process(self.make.pid)
        self.processes = [root, *root.children(recursive=True)]
        commands = [_command(process) for process in self.processes]
        missing = [role for role, part in ROLES.items() if not any(part in c for c in commands)]
        assert not missing, f"no {missing} among the processes of make ui: {commands}"

    def sessions(self) -> set[int]:
        sessions = set()
        for process in self.processes:
            try:
                sessions.add(os.getsid(process.pid))
            except ProcessLookupError:
                continue
        return sessions

    def wait_until_all_gone(self, sent_at: float, sessions: set[int]) -> float | None:
        """Seconds from `sent_at` until every recorded process and every member of their
        sessions has exited; None when some are still there after the bound."""
        deadline = sent_at + STOP_BOUND
        while True:
            self.make.poll()  # make is this process's child: reap it
            if all(_exited(process) for process in self.processes) and not _session_members(
                sessions
            ):
                return time.monotonic() - sent_at
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL)

    def survivors(self, sessions: set[int]) -> list[str]:
        left = {p.pid: p for p in self.processes if not _exited(p)}
        left.update({p.pid: p for p in _session_members(sessions)})
        return [
            f"{pid} ({_signal_state(pid)}): {_command(process)}" for pid, process in left.items()
        ]

    def kill_everything(self) -> None:
        for process in [*self.processes, *_session_members(self.sessions() | {self.make.pid})]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        self.make.wait(timeout=30)


@pytest.fixture
def start_ui(tmp_path: Path) -> Iterator[Callable[..., UI]]:
    started: list[UI] = []

    def start(*, ignore_sigint: bool = False) -> UI:
        ui = UI(tmp_path, ignore_sigint=ignore_sigint)
        started.append(ui)
        return ui

    yield start
    for ui in started:
        ui.kill_everything()


def _stop_and_measure(ui: UI, send: Callable[[], None]) -> float:
    ui.record_processes()
    sessions = ui.sessions()
    sent_at = time.monotonic()
    send()
    seconds = ui.wait_until_all_gone(sent_at, sessions)
    if seconds is None:
        ui._fail(f"still running {STOP_BOUND:g} s after the signal: {ui.survivors(sessions)}")
    print(f"all {len(ui.processes)} processes of make ui gone {seconds:.2f} s after the signal")
    assert "Traceback" not in ui.log(), ui.log()
    return seconds


def test_sigterm_to_make_stops_every_process(start_ui):
    ui = start_ui()
    ui.wait_until_serving()
    _stop_and_measure(ui, lambda: os.kill(ui.make.pid, signal.SIGTERM))
    assert ui.make.returncode == -signal.SIGTERM


def test_ctrl_c_stops_every_process(start_ui):
    """A Ctrl-C in a terminal: SIGINT to every process of the foreground process group."""
    ui = start_ui()
    ui.wait_until_serving()
    _stop_and_measure(ui, lambda: os.killpg(ui.make.pid, signal.SIGINT))
    assert ui.make.returncode == -signal.SIGINT


def test_second_ctrl_c_kills_what_is_left_at_once(start_ui):
    """make dies of a second Ctrl-C and the prompt is back: nothing may linger under it."""
    ui = start_ui()
    ui.wait_until_serving()

    def ctrl_c_twice():
        os.killpg(ui.make.pid, signal.SIGINT)
        ui.wait_for_output("KeyboardInterrupt received")  # `dagster dev` is stopping
        os.killpg(ui.make.pid, signal.SIGINT)

    _stop_and_measure(ui, ctrl_c_twice)
    assert "orchestration.ui: interrupted again; killing what is left" in ui.log()
    assert ui.make.returncode == -signal.SIGINT


def test_sigterm_stops_a_make_ui_started_with_sigint_ignored(start_ui):
    """`make ui &` in a script starts with SIGINT ignored; `dagster dev` maps SIGTERM to the
    SIGINT handler, so on its own it ignored SIGTERM as well."""
    ui = start_ui(ignore_sigint=True)
    ui.wait_until_serving()
    _stop_and_measure(ui, lambda: os.kill(ui.make.pid, signal.SIGTERM))
    assert ui.make.returncode == -signal.SIGTERM


def test_sigterm_stops_a_run_in_progress(start_ui):
    """On its own, the code server waits for the runs it started before it exits."""
    ui = start_ui()
    ui.wait_until_serving()
    ui.start_run()
    _stop_and_measure(ui, lambda: os.kill(ui.make.pid, signal.SIGTERM))
    assert ui.make.returncode == -signal.SIGTERM
