"""A dbt process started ahead of the build, with dbt imported, that forks one child per
dbt command: the dbt step's command starts without paying dbt's imports.

Every `dbt` process spends about two seconds importing dbt-core and its adapter before it
reads its first argument, a tenth of a nightly refresh of the default universe.
`python -m orchestration.run` starts this process beside the loads, on the core they leave
idle (`WarmDbt`), and points the dbt step at a launcher script
(orchestration/warm_dbt_launch.py) through `WARM_DBT_LAUNCHER`. For each command the
launcher passes its arguments, folder, environment and standard streams over a Unix socket;
a fork of the warm process takes them as its own and runs dbt's command line exactly as
the `dbt` executable does, then sends the exit status back. The fork is a child of this
process, itself a child of the run, so the run's process group holds every dbt it starts.

    python -m orchestration.warm_dbt FD    (FD: a listening Unix socket; stops when its
                                            stdin closes)

The process imports only dbt before forking, never opens a database and starts no thread,
so each fork starts from a clean state: dbt reads its flags, profile and project at each
command as a new process would. When the warm process is not there, the launcher runs the
installed dbt instead.
"""

import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO

LAUNCHER_ENV = "WARM_DBT_LAUNCHER"
LAUNCHER_SCRIPT = Path(__file__).with_name("warm_dbt_launch.py")
PROJECT_FOLDER = Path(__file__).resolve().parents[1]
# What a `dbt build` of the DuckDB warehouse imports, beyond dbt's command line.
WARM_MODULES = (
    "dbt.cli.main",
    "dbt.task.build",
    "dbt.parser.manifest",
    "dbt.adapters.duckdb",
    "dbt.adapters.duckdb.impl",
    "agate",
)


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

    def __init__(self, installed_dbt: str) -> None:
        self.installed_dbt = installed_dbt
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._saved: str | None = None

    def __enter__(self) -> "WarmDbt":
        self.folder = Path(tempfile.mkdtemp(prefix="warm-dbt-"))
        socket_path = self.folder / "dbt.sock"
        # Listening before the process starts: a command sent at once waits in the queue.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(socket_path))
            listener.listen(16)
            self.process = subprocess.Popen(
                [sys.executable, "-m", "orchestration.warm_dbt", str(listener.fileno())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(listener.fileno(),),
                cwd=PROJECT_FOLDER,  # this very module, whatever the caller's folder
            )
        launcher = self.folder / "dbt"
        command = (sys.executable, "-I", "-S", LAUNCHER_SCRIPT, socket_path, self.installed_dbt)
        quoted = " ".join(_shell_quote(part) for part in command)
        launcher.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n', encoding="utf-8")
        launcher.chmod(0o755)
        self._saved = os.environ.get(LAUNCHER_ENV)
        os.environ[LAUNCHER_ENV] = str(launcher)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._saved is None:
            os.environ.pop(LAUNCHER_ENV, None)
        else:
            os.environ[LAUNCHER_ENV] = self._saved
        if self.process is not None:
            if self.process.stdin:
                self.process.stdin.close()  # the process's signal to stop
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _shell_quote(part: object) -> str:
    return "'" + str(part).replace("'", "'\"'\"'") + "'"


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    """A launcher's command: its arguments, folder and environment, and the standard
    streams it has open."""
    header, fds, _flags, _address = socket.recv_fds(conn, 8, 3)
    if not header:
        raise ConnectionError("the launcher closed the connection before its command")
    size = int.from_bytes(header, "big")
    body = bytearray()
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("the launcher closed the connection mid-command")
        body.extend(chunk)
    return json.loads(body), fds


def _watch_launcher(conn: socket.socket) -> None:
    """Stop this dbt when its launcher goes (killed, so it can no longer pass signals on)."""
    try:
        gone = conn.recv(1) == b""
    except OSError:
        gone = True
    if gone:
        os.kill(os.getpid(), signal.SIGTERM)


def _as_standard_streams(streams: list[int], fds: list[int]) -> None:
    """The launcher's streams as this process's 0, 1 and 2; one it has not open reads from
    and writes to /dev/null."""
    given = dict(zip(streams, fds, strict=True))
    for target in (0, 1, 2):
        fd = given.get(target)
        if fd is None:
            fd = os.open(os.devnull, os.O_RDWR)
        os.dup2(fd, target)
        os.close(fd)
    # New stream objects, so that buffering follows the new files as in a new process.
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", 1 if os.isatty(1) else -1, "utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", 1, "utf-8", closefd=False)  # noqa: SIM115


def _run_command(conn: socket.socket) -> None:
    """In the fork: run one dbt command as the launcher's process would, then exit."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        request, fds = _receive(conn)
        _as_standard_streams(list(request["streams"]), fds)  # type: ignore[call-overload]
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update(request["env"])  # type: ignore[arg-type]
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        threading.Thread(target=_watch_launcher, args=(conn,), daemon=True).start()
        from dbt.cli.main import cli

        args = [str(arg) for arg in request["args"]]  # type: ignore[attr-defined]
        sys.argv = ["dbt", *args]
        try:
            cli.main(args=args, prog_name="dbt")
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        # whatever happens to the streams, the exit status has to reach the launcher
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
        os._exit(code)


def serve(listener: socket.socket, stop: IO[bytes]) -> None:
    """Import dbt, then fork for each connection to `listener` until `stop` reaches its end
    (launchers that connect meanwhile wait in the listener's queue)."""
    # Ctrl-C reaches the whole process group: the run stops this process by closing
    # `stop`, and each fork takes SIGINT as dbt does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for module in WARM_MODULES:
        __import__(module)
    if threading.active_count() != 1:
        # A fork copies only the forking thread: a lock held by another would stay held.
        # Exiting leaves the launchers to run the installed dbt.
        raise RuntimeError("importing dbt started a thread; forking this process is not safe")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the kernel
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(stop, selectors.EVENT_READ)
    while True:
        for key, _events in selector.select():
            if key.fileobj is stop:
                if not os.read(stop.fileno(), 4096):
                    listener.close()
                    return
                continue
            conn, _address = listener.accept()
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                selector.close()
                listener.close()
                _run_command(conn)
            conn.close()


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), sys.stdin.buffer)
