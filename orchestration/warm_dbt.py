"""A dbt process started ahead of the build, with dbt imported, that forks one child per
dbt command: the dbt step's command starts without paying dbt's imports.

Every `dbt` process spends about two seconds importing dbt-core and its adapter before it
reads its first argument, a tenth of a nightly refresh of the default universe.
`python -m orchestration.run` starts this process beside the loads, on the core they leave
idle (`WarmDbt`), and points the dbt step at a launcher script
(orchestration/warm_dbt_launch.py) through `WARM_DBT_LAUNCHER`. For each command the
launcher passes its arguments, folder, environment and standard streams over a Unix socket;
a fork of the warm process (orchestration/warm_dbt_server.py) takes them as its own and
runs dbt's command line exactly as the `dbt` executable does, then sends the exit status
back. The fork is a child of this process, itself a child of the run, so the run's process
group holds every dbt it starts. When the warm process is not there, the launcher runs the
installed dbt instead.

With the manifest current the process also imports the code location's definitions
(dagster-dbt and the dbt manifest, another 1.5 s), and `orchestration.run` hands it the
build run (`WarmDbt.build`): a fork executes that run, so the build starts as soon as the
loads end instead of after those imports.

`orchestration.run` starts the process before it knows which of the two it needs, or
whether it needs dbt at all (`definitions=None`): the process imports what both need while
the run reads its settings, the manifest's state and the warehouse, then `proceed` says
which, or `close(kill=True)` stops it.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TextIO

from orchestration.processes import process_exists
from orchestration.warm_dbt_launch import open_streams, read_line
from orchestration.warm_dbt_server import DBT_MODE, DEFINITIONS_MODE

LAUNCHER_ENV = "WARM_DBT_LAUNCHER"
FOLDER_PREFIX = "warm-dbt-"
PID_FILE = "pid"
LAUNCHER_SCRIPT = Path(__file__).with_name("warm_dbt_launch.py")
PROJECT_FOLDER = Path(__file__).resolve().parents[1]


def launcher_from_env() -> str | None:
    """The launcher script of the warm dbt process this run started, if any."""
    launcher = os.environ.get(LAUNCHER_ENV)
    return launcher if launcher and Path(launcher).exists() else None


class WarmDbt:
    """The warm dbt process of one `orchestration.run`, as a context manager.

    Entering starts the process and sets `WARM_DBT_LAUNCHER` to a launcher script, which
    the dbt resource then takes for its executable; leaving stops the process, removes the
    socket's folder and restores the variable.
    """

    def __init__(self, installed_dbt: str, definitions: bool | None = False) -> None:
        """`definitions`: import the code location's definitions too, ahead of `build`
        (only when the dbt manifest is current: they read it); None: `proceed` says it."""
        self.installed_dbt = installed_dbt
        self.definitions = definitions
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._saved: str | None = None
        self._closed = False

    @property
    def socket_path(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the warm dbt process is not started")
        return self.folder / "dbt.sock"

    @property
    def launcher(self) -> Path:
        """The executable that runs a dbt command in a fork of the process (or the
        installed dbt when the process does not answer)."""
        if self.folder is None:
            raise RuntimeError("the warm dbt process is not started")
        return self.folder / "dbt"

    def __enter__(self) -> "WarmDbt":
        remove_abandoned(Path(tempfile.gettempdir()))
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        launcher = self.launcher
        command = (
            sys.executable,
            "-I",
            "-S",
            LAUNCHER_SCRIPT,
            self.socket_path,
            self.installed_dbt,
        )
        quoted = " ".join(_shell_quote(part) for part in command)
        launcher.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n', encoding="utf-8")
        launcher.chmod(0o755)
        self._saved = os.environ.get(LAUNCHER_ENV)
        # set before the process starts: the definitions it imports read it
        os.environ[LAUNCHER_ENV] = str(launcher)
        # Listening before the process starts: a command sent at once waits in the queue.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(self.socket_path))
            listener.listen(16)
            argv = [sys.executable, "-m", "orchestration.warm_dbt_server", str(listener.fileno())]
            mode = {None: ["--ask"], True: ["--definitions"], False: []}[self.definitions]
            self.process = subprocess.Popen(
                argv + mode,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(listener.fileno(),),
                cwd=PROJECT_FOLDER,  # this very module, whatever the caller's folder
            )
        (self.folder / PID_FILE).write_text(str(self.process.pid), encoding="ascii")
        return self

    def proceed(self, definitions: bool) -> None:
        """Tell a process started with `definitions=None` what to import after what both
        need: the definitions too, or dbt only (a parse is about to ask for it)."""
        stdin = None if self.process is None or self._closed else self.process.stdin
        if stdin is None or self.definitions is not None:
            raise RuntimeError("the warm dbt process was not started to be told what to import")
        self.definitions = definitions
        with contextlib.suppress(BrokenPipeError):  # it is gone: the launchers run the dbt
            stdin.write((DEFINITIONS_MODE if definitions else DBT_MODE) + b"\n")
            stdin.flush()

    def build(self, request: dict[str, object], log: TextIO | None) -> dict[str, object] | None:
        """Have a fork of the warm process execute `orchestration.run`'s build run
        (`request`: its job and run config) on this process's folder, environment, stdout
        and stderr, with `log` for its Python-level output; its outcome, or None when no
        warm process answered (nothing ran)."""
        if log is not None:
            log.flush()
        streams = [fd for fd in open_streams() if fd in (1, 2)]
        fds = streams + ([log.fileno()] if log is not None else [])
        body = {**request, "kind": "build", "cwd": os.getcwd(), "env": dict(os.environ)}
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with conn:
            try:
                conn.connect(str(self.socket_path))
                _send(conn, {**body, "streams": streams, "log": log is not None}, fds)
                started = read_line(conn, bytearray())
            except OSError:
                return None
            if started is None:
                return None
            pending = bytearray()
            while True:
                try:
                    ended = read_line(conn, pending)
                    break
                except KeyboardInterrupt:
                    # Ctrl-C reached the fork as well, which ends its run as Dagster does
                    # and reports; its outcome is still to be read.
                    continue
        if ended is None:
            return {
                "error": f"the build run's process {started.get('pid')} ended without "
                "an outcome: killed or crashed"
            }
        return ended

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self, kill: bool = False) -> None:
        """Stop the process (at once with `kill`, or when never told what to import),
        remove its folder and restore the launcher's variable; a second call does nothing."""
        if self.folder is None or self._closed:
            return
        self._closed = True
        if self._saved is None:
            os.environ.pop(LAUNCHER_ENV, None)
        else:
            os.environ[LAUNCHER_ENV] = self._saved
        if self.process is not None:
            if kill or self.definitions is None:
                self.process.kill()  # nothing runs in it yet: its imports only
            if self.process.stdin:
                with contextlib.suppress(BrokenPipeError):
                    self.process.stdin.close()  # the process's signal to stop
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def remove_abandoned(temp: Path) -> list[Path]:
    """Remove the folders of warm dbt processes that are gone (their run was killed before
    it could remove them); returns those removed. A folder without its process id yet is
    being set up, unless it is a minute old."""
    removed = []
    for folder in temp.glob(f"{FOLDER_PREFIX}*"):
        try:
            pid = int((folder / PID_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                if time.time() - folder.stat().st_mtime > 60:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
            continue
        if not process_exists(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _send(conn: socket.socket, request: dict[str, object], fds: list[int]) -> None:
    """A request as the warm process reads it: its length with the file descriptors, then
    JSON."""
    body = json.dumps(request).encode()
    socket.send_fds(conn, [len(body).to_bytes(8, "big")], fds)
    conn.sendall(body)


def _shell_quote(part: object) -> str:
    return "'" + str(part).replace("'", "'\"'\"'") + "'"
