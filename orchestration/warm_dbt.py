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

With `--definitions` the process also imports the code location's definitions (dagster-dbt
and the dbt manifest, another 1.5 s), and `orchestration.run` hands it the build run: a
fork executes that run (`WarmDbt.build`, `orchestration.run.execute_build`), so the build
starts as soon as the loads end instead of after those imports.
"""

import contextlib
import gc
import json
import logging
import multiprocessing.util
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO

from orchestration.processes import process_exists
from orchestration.warm_dbt_launch import open_streams, read_line

LAUNCHER_ENV = "WARM_DBT_LAUNCHER"
FOLDER_PREFIX = "warm-dbt-"
PID_FILE = "pid"
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
ROOT_HANDLERS = list(logging.root.handlers)  # before any import of dbt


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

    def __init__(self, installed_dbt: str, definitions: bool = False) -> None:
        """`definitions`: import the code location's definitions too, ahead of `build`
        (only when the dbt manifest is current: they read it)."""
        self.installed_dbt = installed_dbt
        self.definitions = definitions
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._saved: str | None = None

    @property
    def socket_path(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the warm dbt process is not started")
        return self.folder / "dbt.sock"

    def __enter__(self) -> "WarmDbt":
        remove_abandoned(Path(tempfile.gettempdir()))
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        launcher = self.folder / "dbt"
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
            argv = [sys.executable, "-m", "orchestration.warm_dbt", str(listener.fileno())]
            self.process = subprocess.Popen(
                argv + (["--definitions"] if self.definitions else []),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(listener.fileno(),),
                cwd=PROJECT_FOLDER,  # this very module, whatever the caller's folder
            )
        (self.folder / PID_FILE).write_text(str(self.process.pid), encoding="ascii")
        return self

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
    """A request as `_receive` reads it: its length with the file descriptors, then JSON."""
    body = json.dumps(request).encode()
    socket.send_fds(conn, [len(body).to_bytes(8, "big")], fds)
    conn.sendall(body)


def _shell_quote(part: object) -> str:
    return "'" + str(part).replace("'", "'\"'\"'") + "'"


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    """A request: a launcher's command (its arguments, folder and environment, and the
    standard streams it has open) or `orchestration.run`'s build run (also its log)."""
    header, fds, _flags, _address = socket.recv_fds(conn, 8, 4)
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


def _watch_launcher(conn: socket.socket, signum: signal.Signals) -> None:
    """Send `signum` to this process when the other end goes (killed, so it can no longer
    pass signals on)."""
    try:
        gone = conn.recv(1) == b""
    except OSError:
        gone = True
    if gone:
        os.kill(os.getpid(), signum)


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


def _run_request(conn: socket.socket) -> None:
    """In the fork: take the request's streams, folder and environment as this process's,
    run its dbt command (or build run), send the exit status back and exit."""
    code = 1
    outcome: dict[str, object] = {}
    inherited = set(multiprocessing.util._finalizer_registry)
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        request, fds = _receive(conn)
        streams = [int(fd) for fd in request["streams"]]  # type: ignore[attr-defined]
        _as_standard_streams(streams, fds[: len(streams)])
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update(request["env"])  # type: ignore[arg-type]
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        if request.get("kind") == "build":
            # Importing dbt's command line gave the root logger a handler on stderr, which
            # would print the run's INFO records on the terminal: the run's process has none.
            logging.root.handlers[:] = ROOT_HANDLERS
            # A run gone without its caller ends as after Ctrl-C, recorded as such.
            watch = (conn, signal.SIGINT)
            threading.Thread(target=_watch_launcher, args=watch, daemon=True).start()
            from orchestration.run import execute_build

            log = fds[len(streams)] if request.get("log") else None
            outcome = execute_build(request, log)
            code = 0
            return
        threading.Thread(target=_watch_launcher, args=(conn, signal.SIGTERM), daemon=True).start()
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
        # The request is over: a signal now (the caller gone after reading the outcome, as
        # the watch thread sees it) must not cut the report short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with contextlib.suppress(Exception):
            _finalize_since(inherited)
        # whatever happens to the streams, the exit status has to reach the launcher
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()  # type: ignore[union-attr]
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({**outcome, "exit": code}).encode() + b"\n")
        os._exit(code)


def _finalize_since(inherited: set[object]) -> None:
    """Run the exit finalizers registered since the fork, as a process's normal exit would
    (the fork ends with os._exit): dbt's manifests each hold a semaphore, which the
    multiprocessing resource tracker would otherwise report as leaked. The inherited ones
    stay: they are the warm process's."""
    registry = multiprocessing.util._finalizer_registry
    keys = [key for key in registry if key not in inherited and key[0] is not None]
    for key in sorted(keys, reverse=True):
        if (finalizer := registry.get(key)) is not None:
            finalizer()


def _import_definitions() -> None:
    """The code location's definitions and the build run's job, resolved ahead of a build
    request. A failure is left for the build's fork to meet again and report."""
    try:
        from orchestration.run import prepare_build

        prepare_build()
    except Exception:
        return


def _serve_waiting(
    selector: selectors.BaseSelector, listener: socket.socket, stop: IO[bytes], wait: bool
) -> bool:
    """Fork for each connection waiting on `listener` (with `wait`, first wait for one);
    False once `stop` has reached its end."""
    for key, _events in selector.select(None if wait else 0):
        if key.fileobj is stop:
            if not os.read(stop.fileno(), 4096):
                return False
            continue
        if threading.active_count() != 1:
            # A fork copies only the forking thread: a lock held by another would stay
            # held. Exiting leaves the launchers to run the installed dbt.
            raise RuntimeError("importing dbt started a thread; forking this process is not safe")
        conn, _address = listener.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        # What is imported stays for good: the fork's garbage collections skip it (they
        # would otherwise walk dbt's and Dagster's objects over and over) and leave its
        # pages shared with this process.
        gc.freeze()
        if os.fork() == 0:
            selector.close()
            listener.close()
            _run_request(conn)
        conn.close()
    return True


def serve(listener: socket.socket, stop: IO[bytes], definitions: bool = False) -> None:
    """Import dbt (and the definitions), forking for each connection to `listener` until
    `stop` reaches its end; then exit at once.

    The definitions come first: the build run asks for them before its dbt command asks
    for dbt. Between two imports the requests already waiting are served, and a fork
    imports what is still missing itself, so nobody waits for imports it does not need."""
    # Ctrl-C reaches the whole process group: the run stops this process by closing
    # `stop`, and each fork takes SIGINT as dbt does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the kernel
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(stop, selectors.EVENT_READ)
    imports = [*([_import_definitions] if definitions else []), *WARM_MODULES]
    serving = True
    while serving:
        step = imports.pop(0) if imports else None
        if callable(step):
            step()
        elif step is not None:
            __import__(step)
        serving = _serve_waiting(selector, listener, stop, wait=step is None)
    listener.close()
    # Nothing here needs a careful exit, which would take a while with all that is
    # imported: only the multiprocessing semaphores dbt's manifests registered are released.
    _finalize_since(set())
    os._exit(0)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), sys.stdin.buffer, "--definitions" in sys.argv)
