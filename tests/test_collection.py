"""The garbage collector around a run's imports (orchestration.collection): paused while a
process imports, what was imported set aside, collections again afterwards; and the warm
dbt process's forks of dbt commands run with it paused over a frozen heap."""

import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from orchestration.manifest import dbt_executable
from orchestration.warm_dbt import LAUNCHER_ENV, WarmDbt
from tests.tiny_dbt import tiny_project


def _python(script: str) -> list[str]:
    """The lines `script` prints, run in a process of its own (the collector's state is the
    whole process's)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_paused_imports_are_frozen_and_later_garbage_collected():
    lines = _python(
        """
        import gc
        from orchestration import collection

        def cycle():
            a = []
            a.append(a)  # garbage only the collector frees

        collection.pause()
        print(gc.isenabled())
        gc.collect()
        before = gc.get_freeze_count()
        kept = [[i] for i in range(5000)]  # what an import leaves
        cycle()
        collection.resume()
        print(gc.isenabled(), gc.get_freeze_count() - before >= 5000)
        cycle()
        # only the cycle made after the freeze is found: the one before is set aside
        print(gc.collect())
        """
    )
    assert lines == ["False", "True", "True", "1"]


def test_resume_leaves_a_collector_it_did_not_pause_as_it_was():
    lines = _python(
        """
        import gc
        from orchestration import collection

        collection.resume()
        print(gc.isenabled(), gc.get_freeze_count())
        """
    )
    assert lines == ["True", "0"]


GC_PROBE = """
import gc


def model(dbt, session):
    dbt.config(materialized="table")
    enabled = int(gc.isenabled())
    return session.sql(f"select {enabled} as enabled, {gc.get_freeze_count()} as frozen")
"""


@pytest.mark.slow
def test_a_dbt_command_in_a_fork_runs_with_the_collector_paused_over_a_frozen_heap(tmp_path):
    project = tiny_project(tmp_path / "project", {"gc_probe.py": GC_PROBE}, "table")
    database = tmp_path / "tiny.duckdb"
    env = {**os.environ, "WAREHOUSE_PATH": str(database)}

    def probe(executable: str) -> tuple[int, int]:
        done = subprocess.run(
            [executable, "run", "--select", "gc_probe", "--profiles-dir", "."],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        with duckdb.connect(str(database), read_only=True) as con:
            return con.execute("select enabled, frozen from gc_probe").fetchone()

    with WarmDbt(dbt_executable()):
        enabled, frozen = probe(os.environ[LAUNCHER_ENV])
    assert enabled == 0
    assert frozen > 100_000  # dbt's modules, imported before the fork
    # the installed dbt, a process of its own, collects as usual
    assert probe(dbt_executable()) == (1, 0)
