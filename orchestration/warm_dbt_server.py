"""The warm dbt process (orchestration.warm_dbt): dbt imported once, one fork per request.

    python -m orchestration.warm_dbt_server FD [--definitions | --ask]
        FD: a listening Unix socket; the process stops when its stdin closes.
        --ask: the first line on stdin says what to import (`definitions` or `dbt`); the
        process imports what both need while it waits for it.

A request is a launcher's dbt command (orchestration/warm_dbt_launch.py) or, with
`--definitions`, `orchestration.run`'s build run (`WarmDbt.build`). The process imports
dbt (and the definitions) and never opens a database or starts a thread before it forks,
so each fork starts from a clean state: dbt reads its flags, profile and project at each
command as a new process would, and the build run opens its own Dagster instance. A dbt
command's fork leaves unbuilt the debug events no logger writes (orchestration.dbt_events)
and reuses the Jinja templates earlier commands compiled, which this process loads before
forking (orchestration.dbt_templates), and the schemas and module map dbt works out once
per process, which this process works out last (orchestration.dbt_caches).
"""

import contextlib
import json
import logging
import multiprocessing.util
import os
import selectors
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from orchestration import collection

if TYPE_CHECKING:
    from orchestration.dbt_templates import CompiledTemplates

# What a `dbt build` of the DuckDB warehouse imports, beyond dbt's command line.
WARM_MODULES = (
    "dbt.task.build",
    "dbt.parser.manifest",
    "dbt.adapters.duckdb",
    "dbt.adapters.duckdb.impl",
    "agate",
)
# What creating a Dagster instance imports (its schema's migrations, the run coordinator's
# modules), without opening its storage: imported ahead of the build run's fork.
INSTANCE_MODULES = (
    "alembic.command",
    "alembic.migration",
    "dagster._daemon",
    "orchestration.instance",
)
# What the definitions import that does not read dbt's manifest (1.6 s): imported last when
# `orchestration.run` tells the process to serve dbt, which it does while a first run's
# parse writes that manifest, so that the build run's fork, forked once it is written,
# imports the rest alone (0.3 s).
MANIFEST_FREE_MODULES = (
    "dagster_dbt",
    "dagster_duckdb",
    "orchestration.defs.ingestion.assets",
    "orchestration.defs.ingestion.checks",
    "orchestration.defs.ingestion.jobs",
    "orchestration.defs.ingestion.schedules",
    "orchestration.defs.ingestion.sensors",
    "orchestration.defs.maintenance.schedules",
    "orchestration.defs.models.sensors",
    "orchestration.defs.monitoring.sensors",
    "orchestration.defs.jobs",
    "orchestration.progress",
    "orchestration.recovery",
    *INSTANCE_MODULES,
    "serving.report.build",
)
# What a parse and the definitions both import (dbt's classes of the manifest, 1.5 s): the
# first step of a process told later which of the two it serves, by a line on its stdin.
SHARED_MODULE = "dbt.contracts.graph.manifest"
DEFINITIONS_MODE = b"definitions"
DBT_MODE = b"dbt"
ROOT_HANDLERS = list(logging.root.handlers)  # before any import of dbt


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
            # The run's Python work makes garbage; a dbt command's (about 10 MB for a
            # nightly build) goes with its process, uncollected (orchestration.collection).
            collection.resume()
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

        # Two savings on dbt's own work (bench/hotspots.md); should either fail, dbt runs
        # as it would anyway.
        templates = None
        with contextlib.suppress(Exception):
            from orchestration.dbt_events import skip_unwritten_debug_events
            from orchestration.dbt_templates import templates_folder

            skip_unwritten_debug_events()
            templates = _templates(templates_folder(os.environ, Path.cwd()))
            templates.install()
        args = [str(arg) for arg in request["args"]]  # type: ignore[attr-defined]
        sys.argv = ["dbt", *args]
        try:
            cli.main(args=args, prog_name="dbt")
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        _close_databases()
        if templates is not None:
            with contextlib.suppress(Exception):
                templates.save()
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


def _close_databases() -> None:
    """Close the database connections dbt leaves to the end of its process, as that end
    would: DuckDB writes its log into the database file when the last connection to it
    closes, and a fork that exited without closing it left the log (3 MB after a nightly
    build) to the next process opening the file to replay."""
    with contextlib.suppress(Exception):
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
        from dbt.adapters.factory import reset_adapters

        reset_adapters()
        # dbt-duckdb keeps its environment, which closes its connection when it goes, on
        # the class
        DuckDBConnectionManager.close_all_connections()


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


_kept_templates: "CompiledTemplates | None" = None


def _templates(folder: Path | None = None) -> "CompiledTemplates":
    """The Jinja templates kept by earlier dbt commands in `folder` (default: the pipeline's
    project; orchestration.dbt_templates): as this process loaded them before forking, or
    read now when that is another file or it has been written since (by a first run's
    parse, whose templates the build then reuses)."""
    from orchestration.dbt_templates import CompiledTemplates, cache_file

    path = cache_file() if folder is None else cache_file(folder)
    kept = _kept_templates
    if kept is not None and kept.path == path and kept.is_current():
        return kept
    return CompiledTemplates(path).load()


def _load_templates() -> None:
    global _kept_templates
    with contextlib.suppress(Exception):
        _kept_templates = _templates()


def _import_dbt() -> None:
    """dbt's command line, and the installation's JSON schemas (orchestration.dbt_schemas)
    in the same step: a parse waiting to be forked validates every node it reads."""
    import dbt.cli.main  # noqa: F401

    with contextlib.suppress(Exception):
        from orchestration.dbt_schemas import install

        install()


def _fill_dbt_caches() -> list[Callable[[], object]]:
    """The fillings of orchestration.dbt_caches, each a step of its own (none if it cannot
    be imported)."""
    try:
        from orchestration.dbt_caches import fillings

        return fillings()
    except Exception:
        return []


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
            raise RuntimeError("an import started a thread; forking this process is not safe")
        conn, _address = listener.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        # What is imported stays for good: the fork's garbage collections skip it (they
        # would otherwise walk dbt's and Dagster's objects over and over) and leave its
        # pages shared with this process.
        collection.keep_what_exists()
        if os.fork() == 0:
            selector.close()
            listener.close()
            _run_request(conn)
        conn.close()
    return True


def _read_mode(stop: IO[bytes]) -> bool | None:
    """The first line on `stop`: True for DEFINITIONS_MODE, False for anything else (DBT_MODE);
    None when it ended first (the run needs no dbt after all)."""
    line = b""
    while b"\n" not in line:
        chunk = os.read(stop.fileno(), 64)
        if not chunk:
            return None
        line += chunk
    return line.split(b"\n", 1)[0].strip() == DEFINITIONS_MODE


def _stop() -> NoReturn:
    # Nothing here needs a careful exit, which would take a while with all that is
    # imported: only the multiprocessing semaphores dbt's manifests registered are released.
    _finalize_since(set())
    os._exit(0)


def serve(listener: socket.socket, stop: IO[bytes], definitions: bool | None = False) -> None:
    """Import dbt (and the definitions), forking for each connection to `listener` until
    `stop` reaches its end; then exit at once. `definitions` None: import what both need,
    then read from `stop` which it is (`_read_mode`).

    The definitions come first (after SHARED_MODULE, when asked): the build run asks for
    them before its dbt command asks for dbt. Between two imports the requests already
    waiting are served, and a fork imports what is still missing itself, so nobody waits
    for imports it does not need."""
    # Ctrl-C reaches the whole process group: the run stops this process by closing
    # `stop` (or kills it before telling it what to import), and each fork takes SIGINT as
    # dbt does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the kernel
    # This process only imports and forks: no collections while it imports, and what each
    # import step left is set aside, so that the explicit collection of the manifest's
    # filling walks the filling's objects only.
    collection.pause()
    told = definitions is None
    if definitions is None:
        __import__(SHARED_MODULE)
        definitions = _read_mode(stop)
        if definitions is None:
            _stop()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(stop, selectors.EVENT_READ)
    fillings = _fill_dbt_caches()
    imports = [
        *([_import_definitions] if definitions else []),
        _import_dbt,
        *WARM_MODULES,
        _load_templates,
        *fillings,
        *(MANIFEST_FREE_MODULES if told and not definitions else ()),
    ]
    serving = True
    while serving:
        step = imports.pop(0) if imports else None
        if callable(step):
            step()
        elif step is not None:
            # a module that fails to import is left for the fork that needs it to report
            with contextlib.suppress(Exception):
                __import__(step)
        if step not in fillings:
            collection.keep_what_exists()
        serving = _serve_waiting(selector, listener, stop, wait=step is None)
    listener.close()
    _stop()


if __name__ == "__main__":
    mode = None if "--ask" in sys.argv else "--definitions" in sys.argv
    serve(socket.socket(fileno=int(sys.argv[1])), sys.stdin.buffer, mode)
