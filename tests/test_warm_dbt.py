"""The warm dbt process: a dbt command given to its launcher runs in a fork of it, with the
launcher's folder, environment, streams and exit status; signals reach the fork; without
the warm process the installed dbt runs the command. And when `orchestration.run` warms
dbt up at all."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import psutil
import pytest

from ingestion.calendar import sessions_between
from orchestration.build_inputs import expects_new_sessions
from orchestration.dbt_templates import CompiledTemplates, cache_file
from orchestration.manifest import dbt_executable
from orchestration.warm_dbt import LAUNCHER_ENV, WarmDbt, remove_abandoned
from orchestration.warm_dbt_server import DBT_MODE, DEFINITIONS_MODE, _read_mode
from tests.tiny_dbt import tiny_project

pytestmark = pytest.mark.slow

# Counts rows for hours: a model that is still running when the test stops it.
ENDLESS = "select count(*) as n from range(1000000000000000) a, range(1000) b\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    models = {
        "probe.sql": "select '{{ env_var('PROBE') }}' as probe, {{ var('n', 1) }} as n\n",
        "broken.sql": "select * from no_such_table\n",
        "endless.sql": ENDLESS,
    }
    return tiny_project(tmp_path / "project", models, materialized="table")


def _env(project: Path) -> dict[str, str]:
    return {**os.environ, "WAREHOUSE_PATH": str(project.parent / "tiny.duckdb"), "PROBE": "p1"}


def _dbt(executable: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [executable, *args, "--profiles-dir", "."],
        cwd=project,
        env=_env(project),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _probe(project: Path) -> tuple[str, int]:
    with duckdb.connect(str(project.parent / "tiny.duckdb"), read_only=True) as con:
        return con.execute("select probe, n from probe").fetchone()


def test_commands_run_with_the_launchers_folder_environment_streams_and_status(project):
    with WarmDbt(dbt_executable()) as warm:
        launcher = os.environ[LAUNCHER_ENV]
        done = _dbt(launcher, project, "run", "--select", "probe", "--vars", "{n: 7}")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Completed successfully" in done.stdout
        assert "warm dbt process not reachable" not in done.stderr
        # the model read PROBE from the launcher's environment and n from its arguments
        assert _probe(project) == ("p1", 7)

        # dbt's own failures, with its exit status and messages
        usage = _dbt(launcher, project, "run", "--no-such-option")
        installed = _dbt(dbt_executable(), project, "run", "--no-such-option")
        assert usage.returncode == installed.returncode == 2
        assert "No such option '--no-such-option'" in usage.stderr
        assert usage.stderr == installed.stderr  # "Usage: dbt run ...": named as dbt names itself
        broken = _dbt(launcher, project, "run", "--select", "broken")
        assert broken.returncode == 1
        assert "no_such_table" in broken.stdout
        process = warm.process
        assert process is not None
        assert process.poll() is None
    # leaving stops the process, removes its folder and unsets the variable
    assert process.wait(timeout=30) == 0
    assert LAUNCHER_ENV not in os.environ
    assert warm.folder is not None
    assert not warm.folder.exists()


def test_the_debug_events_a_logger_is_at_debug_for_are_written(project, tmp_path):
    """The warm process leaves unbuilt the debug events nobody writes
    (orchestration.dbt_events): dbt.log at info has none, dbt.log at debug has them."""
    with WarmDbt(dbt_executable()) as warm:
        launcher = os.environ[LAUNCHER_ENV]
        logs = {}
        for level in ("info", "debug"):
            folder = tmp_path / f"logs-{level}"
            arguments = ("run", "--select", "probe", "--log-path", str(folder))
            done = _dbt(launcher, project, *arguments, "--log-level-file", level)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "warm dbt process not reachable" not in done.stderr
            logs[level] = (folder / "dbt.log").read_text(encoding="utf-8")
        assert warm.process is not None
    statement = "On model.tiny.probe: "  # the debug event of each statement dbt runs
    assert "[debug]" in logs["debug"]
    assert statement in logs["debug"]
    assert "select 'p1' as probe" in logs["debug"]
    assert "[debug]" not in logs["info"]
    assert statement not in logs["info"]
    for log in logs.values():
        assert "1 of 1 OK created sql table model main.probe" in log


def test_a_command_leaves_the_database_file_closed_as_a_dbt_process_does(project):
    """DuckDB writes its log into the file when the last connection closes; a fork that
    ended without closing dbt's would leave the log for the next process to replay."""
    wal = project.parent / "tiny.duckdb.wal"
    done = _dbt(dbt_executable(), project, "run", "--select", "probe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not wal.exists()  # the installed dbt, a process of its own
    with WarmDbt(dbt_executable()) as warm:
        done = _dbt(
            os.environ[LAUNCHER_ENV], project, "run", "--select", "probe", "--vars", "{n: 2}"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert warm.process is not None
        assert warm.process.poll() is None
        assert not wal.exists()
    assert _probe(project) == ("p1", 2)


def test_templates_compiled_by_one_command_are_reused_by_the_next(project):
    """orchestration.dbt_templates through real commands: the first keeps what it compiled,
    the next compiles nothing and builds the same, a changed model is compiled anew."""
    kept = cache_file(project / "target" / "compiled_templates")
    with WarmDbt(dbt_executable()) as warm:
        launcher = os.environ[LAUNCHER_ENV]
        for n in (3, 4):
            done = _dbt(launcher, project, "run", "--select", "probe", "--vars", f"{{n: {n}}}")
            assert done.returncode == 0, done.stdout + done.stderr
            assert _probe(project) == ("p1", n)
        first = kept.stat().st_mtime_ns
        entries = len(CompiledTemplates(kept).load().kept)
        assert entries > 50  # the model's SQL and the macros of its materialization
        done = _dbt(launcher, project, "run", "--select", "probe")
        assert done.returncode == 0, done.stdout + done.stderr
        assert kept.stat().st_mtime_ns == first  # nothing new was compiled, nothing written
        changed = "select '{{ 'chan' ~ 'ged' }}' as probe, {{ 4 + 5 }} as n\n"
        (project / "models" / "probe.sql").write_text(changed)
        done = _dbt(launcher, project, "run", "--select", "probe")
        assert done.returncode == 0, done.stdout + done.stderr
        assert warm.process is not None
    assert _probe(project) == ("changed", 9)
    assert len(CompiledTemplates(kept).load().kept) > entries


def _start_endless(launcher: str, project: Path) -> subprocess.Popen[str]:
    """The endless model started through the launcher, returned once dbt says it started."""
    started = subprocess.Popen(
        [launcher, "run", "--select", "endless", "--profiles-dir", "."],
        cwd=project,
        env=_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert started.stdout is not None
    for line in started.stdout:
        if "START sql table model main.endless" in line:
            return started
    started.kill()
    pytest.fail(f"dbt never started the model: {started.wait()} {started.stderr.read()}")


def _fork_of(warm: WarmDbt) -> psutil.Process:
    assert warm.process is not None
    parent = psutil.Process(warm.process.pid)
    # a fork runs the warm process's command line; multiprocessing's resource tracker,
    # which dbt's manifests start, is a child of its own
    (fork,) = [child for child in parent.children() if child.cmdline() == parent.cmdline()]
    return fork


def test_a_signal_to_the_launcher_reaches_dbt_and_a_killed_launcher_takes_dbt_with_it(project):
    with WarmDbt(dbt_executable()) as warm:
        launcher = os.environ[LAUNCHER_ENV]
        running = _start_endless(launcher, project)
        try:
            fork = _fork_of(warm)  # the command runs in a child of the warm process
            running.send_signal(signal.SIGTERM)
            assert running.wait(timeout=60) == 1
            assert running.stderr is not None
            message = f"dbt (warm process {fork.pid}) ended without an exit status"
            assert message in running.stderr.read()
            assert not fork.is_running() or fork.status() == psutil.STATUS_ZOMBIE
        finally:
            running.kill()

        # a launcher killed outright cannot pass a signal on: its fork stops itself
        running = _start_endless(launcher, project)
        try:
            fork = _fork_of(warm)
        finally:
            running.kill()
        running.wait(timeout=60)
        fork.wait(timeout=60)
        assert not fork.is_running()


def test_without_the_warm_process_the_installed_dbt_runs_the_command(project):
    with WarmDbt(dbt_executable()) as warm:
        assert warm.process is not None
        warm.process.kill()
        warm.process.wait(timeout=30)
        done = _dbt(os.environ[LAUNCHER_ENV], project, "run", "--select", "probe")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "warm dbt process not reachable (" in done.stderr
        assert _probe(project) == ("p1", 1)


def test_a_process_started_before_the_run_knows_what_it_needs_is_told_or_stopped(project):
    """`orchestration.run` starts the process before it knows whether the manifest is
    current, or whether a build is expected at all (`definitions=None`)."""
    with WarmDbt(dbt_executable(), definitions=None) as warm:
        warm.proceed(definitions=False)
        with pytest.raises(RuntimeError, match="not started to be told"):
            warm.proceed(definitions=True)  # told once
        done = _dbt(os.environ[LAUNCHER_ENV], project, "run", "--select", "probe")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "warm dbt process not reachable" not in done.stderr
        assert _probe(project) == ("p1", 1)
        process = warm.process
    assert process is not None
    assert process.returncode == 0  # told, then stopped by its stdin's end

    # no build expected: stopped in the middle of its imports, and the variable unset
    with WarmDbt(dbt_executable(), definitions=None) as warm:
        assert warm.folder is not None
        folder = warm.folder
        warm.close(kill=True)
        assert warm.process is not None
        assert warm.process.returncode == -signal.SIGKILL
        assert LAUNCHER_ENV not in os.environ
        assert not folder.exists()
        warm.close()  # the context's own exit does nothing more
    with WarmDbt(dbt_executable()) as warm, pytest.raises(RuntimeError):
        warm.proceed(definitions=True)  # it was told at its start


def test_a_process_left_before_it_is_told_is_killed_and_the_variable_restored(monkeypatch):
    """A run that fails before it knows what it needs (a bad setting, say) leaves at once."""
    monkeypatch.setenv(LAUNCHER_ENV, "/an/earlier/launcher")
    warm = WarmDbt(dbt_executable(), definitions=None)

    def fail_inside() -> None:
        with warm:
            assert os.environ[LAUNCHER_ENV] == str(warm.launcher)
            raise ValueError("bad setting")

    with pytest.raises(ValueError, match="bad setting"):
        fail_inside()
    folder = warm.folder
    assert warm.process is not None
    assert warm.process.returncode == -signal.SIGKILL
    assert os.environ[LAUNCHER_ENV] == "/an/earlier/launcher"
    assert folder is not None
    assert not folder.exists()


def test_the_line_that_tells_the_process_what_to_import():
    def told(*chunks: bytes) -> bool | None:
        read, write = os.pipe()
        with os.fdopen(read, "rb", buffering=0) as stop:
            with os.fdopen(write, "wb") as pipe:
                pipe.write(b"".join(chunks))
            return _read_mode(stop)

    assert told(DEFINITIONS_MODE, b"\n") is True
    assert told(DBT_MODE, b"\n") is False
    # longer than one read: the line is put together from two
    assert told(b" " * 60, DEFINITIONS_MODE, b"\n") is True
    assert told(DEFINITIONS_MODE, b"\nwhatever follows") is True
    assert told(DEFINITIONS_MODE) is None  # ended before the line did
    assert told() is None


def test_a_process_whose_stdin_ends_before_it_is_told_stops_without_serving(tmp_path):
    server_module = "orchestration.warm_dbt_server"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / "dbt.sock"))
        listener.listen(1)
        server = subprocess.Popen(
            [sys.executable, "-m", server_module, str(listener.fileno()), "--ask"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            pass_fds=(listener.fileno(),),
        )
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(tmp_path / "dbt.sock"))  # a command waiting in the queue
                assert server.stdin is not None
                server.stdin.close()
                assert server.wait(timeout=120) == 0
                # still in the queue: the process never took it
                listener.settimeout(10)
                accepted, _address = listener.accept()
                accepted.close()
        finally:
            server.kill()
            server.wait()


def _warehouse_through(folder: Path, last: date | None) -> Path:
    path = folder / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create table raw.prices (session_date date)")
        if last is not None:
            con.execute("insert into raw.prices values (?), (?)", [date(2024, 1, 2), last])
    return path


def test_dbt_is_warmed_up_when_the_last_session_is_missing_or_the_warehouse_unreadable(
    tmp_path,
):
    # Friday 2024-04-05 is the last session through Sunday the 7th.
    sunday = date(2024, 4, 7)
    assert sessions_between(date(2024, 4, 1), sunday)[-1] == date(2024, 4, 5)
    assert expects_new_sessions(tmp_path / "none.duckdb", sunday)
    for name, last, expected in (
        ("current", date(2024, 4, 5), False),
        ("behind", date(2024, 4, 4), True),
        ("empty", None, True),
    ):
        (tmp_path / name).mkdir()
        assert expects_new_sessions(_warehouse_through(tmp_path / name, last), sunday) == expected
    # another process writing the warehouse: it cannot be read, so dbt is warmed up
    path = tmp_path / "current" / "warehouse.duckdb"
    with duckdb.connect(str(path)):
        held = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, datetime; "
                "from orchestration.build_inputs import expects_new_sessions; "
                "sys.exit(0 if expects_new_sessions(sys.argv[1], datetime.date(2024, 4, 7)) "
                "else 3)",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert held.returncode == 0, held.stderr


def test_the_folders_of_warm_processes_that_are_gone_are_removed(tmp_path):
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    gone_pid = ended.stdout.strip()
    folders = {}
    for name, pid in (("live", str(os.getpid())), ("dead", gone_pid), ("new", None), ("old", None)):
        folders[name] = tmp_path / f"warm-dbt-{name}"
        folders[name].mkdir()
        if pid is not None:
            (folders[name] / "pid").write_text(pid)
    # a folder made two minutes ago whose process never wrote its id
    two_minutes_ago = time.time() - 120
    os.utime(folders["old"], (two_minutes_ago, two_minutes_ago))
    unrelated = tmp_path / "other-dead"
    unrelated.mkdir()
    (unrelated / "pid").write_text(gone_pid)

    assert sorted(remove_abandoned(tmp_path)) == [folders["dead"], folders["old"]]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "other-dead",
        "warm-dbt-live",
        "warm-dbt-new",
    ]


def test_the_modules_imported_before_the_manifest_do_not_read_it():
    """What the warm process imports while a first run's parse writes the manifest: each
    module exists, none of them imports what reads the manifest, and none starts a thread
    (the process forks afterwards)."""
    script = (
        "import sys, threading\n"
        "from orchestration.warm_dbt_server import MANIFEST_FREE_MODULES\n"
        "for name in MANIFEST_FREE_MODULES:\n"
        "    __import__(name)\n"
        "readers = ('orchestration.dbt_project', 'orchestration.definitions')\n"
        "print(sorted(m for m in readers if m in sys.modules), threading.active_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "1"]
