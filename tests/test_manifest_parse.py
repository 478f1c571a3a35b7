"""dbt's manifest: when it is out of date, `dbt parse` in a process of its own, and a run
that parses beside its loads when the project changed (as in a fresh clone)."""

import os
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from bench.clone import tracked_copy
from ingestion.paths import PROJECT_ROOT
from orchestration.manifest import (
    ManifestError,
    ManifestParse,
    dbt_executable,
    manifest_is_current,
    manifest_path,
)
from orchestration.recovery import PID_TAG
from orchestration.warm_dbt import WarmDbt
from tests.command_line import command_line_run
from tests.tiny_dbt import tiny_project


def _tiny_project(folder: Path) -> Path:
    """A dbt project of one model, which dbt parses in a couple of seconds."""
    return tiny_project(folder, {"one.sql": "select 1 as x\n"})


def _age(path: Path, seconds_ago: float) -> None:
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))


def test_the_manifest_is_out_of_date_once_any_file_dbt_parses_is_newer(tmp_path):
    project = _tiny_project(tmp_path / "project")
    assert not manifest_is_current(project)  # none yet
    (project / "macros" / "deep").mkdir(parents=True)
    (project / "macros" / "deep" / "m.sql").write_text("{% macro m() %}1{% endmacro %}\n")
    sources = [
        project / "dbt_project.yml",
        project / "profiles.yml",
        project / "models" / "one.sql",
        project / "macros" / "deep" / "m.sql",
    ]
    manifest = manifest_path(project)
    manifest.parent.mkdir()
    manifest.write_text("{}")
    for source in sources:
        _age(source, 100)
    _age(manifest, 50)
    assert manifest_is_current(project)
    # Files dbt does not parse may change freely: the build's own output, a note.
    (project / "target" / "run.log").write_text("")
    (project / "notes.md").write_text("")
    assert manifest_is_current(project)
    for source in sources:
        _age(source, 10)
        assert not manifest_is_current(project), source
        _age(source, 100)
    assert manifest_is_current(project)
    # Older than the installation of the packages (make's stamp): a new dbt writes a new
    # manifest.
    for path in [manifest, *sources]:
        os.utime(path, (0, 0))
    assert manifest_is_current(project) == (not list(Path(sys.prefix).glob(".installed-*")))


def test_a_parse_writes_the_manifest_and_a_failed_one_names_the_broken_file(tmp_path):
    project = _tiny_project(tmp_path / "project")
    warehouse = tmp_path / "warehouse.duckdb"
    with ManifestParse(warehouse, project) as parse:
        assert parse.start()
        seconds = parse.wait()
    assert seconds is not None
    assert seconds > 0
    assert '"one"' in manifest_path(project).read_text()
    assert manifest_is_current(project)
    assert not warehouse.exists()  # parsing never opens the warehouse
    with ManifestParse(warehouse, project) as parse:
        assert not parse.start()  # up to date: nothing to do
        assert parse.wait() is None

    written = manifest_path(project).read_text()
    (project / "models" / "broken.sql").write_text("select {{ not_a_macro( }}\n")
    with ManifestParse(warehouse, project) as parse:
        assert parse.start()
        with pytest.raises(ManifestError) as raised:
            parse.wait()
    assert f"dbt parse of {project} failed" in str(raised.value)
    assert "broken" in str(raised.value)
    assert manifest_path(project).read_text() == written


@pytest.mark.slow
def test_a_parse_through_the_warm_dbt_process_runs_in_its_fork(tmp_path):
    project = _tiny_project(tmp_path / "project")
    warehouse = tmp_path / "warehouse.duckdb"
    with WarmDbt(dbt_executable()) as warm:
        assert warm.process is not None
        with ManifestParse(warehouse, project) as parse:
            assert parse.start(str(warm.launcher))
            assert parse.wait() is not None
        assert '"one"' in manifest_path(project).read_text()
        assert manifest_is_current(project)

        (project / "models" / "broken.sql").write_text("select {{ not_a_macro( }}\n")
        with ManifestParse(warehouse, project) as parse:
            assert parse.start(str(warm.launcher))
            with pytest.raises(ManifestError) as raised:
                parse.wait()
        # dbt's error, from a fork of the warm process: not the installed dbt's fallback
        assert "broken" in str(raised.value)
        assert "warm dbt process not reachable" not in str(raised.value)
        # and the parse went through the launcher: without the process, it says so
        warm.process.kill()
        warm.process.wait(timeout=30)
        with ManifestParse(warehouse, project) as parse:
            assert parse.start(str(warm.launcher))
            with pytest.raises(ManifestError) as raised:
                parse.wait()
        assert "warm dbt process not reachable" in str(raised.value)
        assert "broken" in str(raised.value)
    assert not warehouse.exists()


@pytest.mark.slow
@pytest.mark.long
def test_a_run_in_a_fresh_copy_parses_beside_its_loads_and_stops_on_a_broken_model(tmp_path):
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("needs the project's git checkout to copy its tracked files")
    project = tracked_copy(tmp_path / "clone")
    broken = project / "dbt_project" / "models" / "marts" / "broken.sql"
    broken.write_text("select {{ not_a_macro( }}\n")

    failed = command_line_run(tmp_path, project=project)
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    assert "parsing beside the loads" in failed.stdout
    assert "the build was not run: dbt parse failed" in failed.stdout
    assert "broken" in failed.stderr
    assert "load raw/prices" in failed.stdout  # the loads ran meanwhile, and stay
    assert not manifest_path(project / "dbt_project").exists()

    broken.unlink()
    done = command_line_run(tmp_path, project=project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    parsed = [line for line in lines if "dbt parse (beside the loads)" in line]
    assert len(parsed) == 1, lines
    assert parsed[0].split()[-3:-1][0] == "ok", parsed
    # The parse ended before the build started: its line comes before the build's.
    build = next(i for i, line in enumerate(lines) if line.strip().startswith("dbt build"))
    assert lines.index(parsed[0]) < build
    assert "refresh_all_job succeeded" in done.stdout
    # The next run finds the manifest current and parses nothing.
    assert manifest_is_current(project / "dbt_project")

    # A model that parses but fails in the database fails the build run, which reports
    # its step: once as the project changed (the build's fork of the warm dbt process
    # imports the definitions itself), once with the manifest current (its fork has them).
    failing = project / "dbt_project" / "models" / "marts" / "failing.sql"
    failing.write_text("select * from no_such_table\n")
    for rebuild, parsed_beside in (((), True), (("--rebuild",), False)):
        run = command_line_run(tmp_path, *rebuild, project=project)
        assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
        assert ("dbt parse (beside the loads)" in run.stdout) == parsed_beside
        assert "FAILED (failed steps: warehouse_dbt_models)" in run.stdout
        build_line = next(line for line in run.stdout.splitlines() if "  dbt build (" in line)
        assert build_line.split()[-3] == "FAILED", build_line
        with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
            build, loads = instance.get_runs(limit=2)
            assert build.status == DagsterRunStatus.FAILURE
            assert loads.is_success
            # executed by another process than the loads: the fork
            assert build.tags[PID_TAG] != loads.tags[PID_TAG]
