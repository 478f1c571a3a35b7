"""Run a job of the code location from the command line and print what the warehouse holds.

    python -m orchestration.run [job] [--rebuild] [--full-refresh] [--full-checks]
    (default job: refresh_all_job)

The job runs as two runs of it: the raw loads, then everything built from them (dbt's
build and tests, the publication, the report). When the loads brought nothing new and
the serving file is already the build of exactly these raw tables and this dbt project
(orchestration.build_inputs), the second run is not made: it would only reproduce the
same tables. `--rebuild` makes it anyway. The runs go through the Dagster instance in
DAGSTER_HOME, so they are recorded and show up later in the UI.

When a file of the dbt project changed since its manifest was written (or there is no
manifest yet, as after a fresh clone), `dbt parse` runs beside the loads
(orchestration.manifest); the build run waits for it. On DuckDB a dbt process is also
started first thing, importing dbt (and, with the manifest current, the definitions) while
the loads run: a fork of it executes the build run, another the build's dbt command, and
another the parse (orchestration.warm_dbt; `WARM_DBT=0` runs them here and with the
installed dbt instead). It is stopped when no build is expected.

The terminal gets one line per step as it ends (with its time, any check that did not
pass, a failed step's error in full), then the summary; Dagster's and dbt's whole log goes
to `$DAGSTER_HOME/logs/<job>-<time>.log`. With VERBOSE=1 that log streams to the terminal
instead.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from ingestion.config import (
    Settings,
    serving_dir_from_env,
    warehouse_engine_from_env,
    warehouse_path_from_env,
)
from orchestration import collection
from orchestration.manifest import ManifestError, ManifestParse, dbt_executable
from orchestration.warm_dbt import WarmDbt
from serving.paths import REPORT_DIR, REPORT_FILE, SERVING_FILE

# Dagster, DuckDB, pandas and the exchange calendar are imported once the warm dbt process
# is started (in `main`): their second of imports would otherwise delay its start, and
# with it the build.
if TYPE_CHECKING:
    from dagster import AssetKey, DagsterInstance, JobDefinition, JobExecutionResult

    from orchestration.build_inputs import Served

RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}, "progress": {}}}
KEPT_LOGS = 30


def partition_tags(first: str, last: str) -> dict[str, str]:
    """Run tags of one partition, or of a range of them loaded by one run."""
    if first == last:
        return {"dagster/partition": first}
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def verbose() -> bool:
    return os.environ.get("VERBOSE", "").strip().lower() in ("1", "true", "yes")


def run_log_path(job: str, started_at: datetime) -> Path:
    """A new log file for this run under DAGSTER_HOME/logs; only the newest KEPT_LOGS stay."""
    folder = Path(os.environ.get("DAGSTER_HOME") or ".") / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob(f"{job}-*.log"))[: -(KEPT_LOGS - 1) or None]:
        old.unlink(missing_ok=True)
    return folder / f"{job}-{started_at:%Y%m%dT%H%M%S}.log"


@contextlib.contextmanager
def output_to(log: TextIO | None) -> Iterator[None]:
    """Send this process's Python-level stdout and stderr to `log` (None: leave them)."""
    if log is None:
        yield
        return
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


def refresh_all_job() -> JobDefinition:
    from orchestration.definitions import defs

    return defs.resolve_job_def("refresh_all_job")


def refresh_all_loads() -> JobDefinition:
    """refresh_all_job over the raw loads and their checks alone: the first of the two runs.

    It is resolved from those assets, checks and resources only, so that the run needs
    neither dagster-dbt nor the dbt manifest (about 2 s to import and read): with nothing
    new loaded, they are never imported."""
    from dagster import Definitions

    from orchestration.defs.ingestion.assets import ingestion_assets
    from orchestration.defs.ingestion.checks import raw_checks
    from orchestration.defs.jobs import refresh_all_job as job
    from orchestration.progress import RUN_LOGGERS
    from orchestration.shared import load_resources

    loads = Definitions(
        assets=ingestion_assets,
        asset_checks=raw_checks,
        jobs=[job],
        resources=load_resources(),
        loggers=RUN_LOGGERS,
    )
    return loads.resolve_job_def(job.name)


JOBS = {"refresh_all_job": (refresh_all_loads, refresh_all_job)}


def built_assets() -> list[AssetKey]:
    """Every asset of refresh_all_job but the loads: dbt's, the publication, the report and
    the compaction check."""
    from orchestration.definitions import defs
    from orchestration.defs.ingestion.assets import ingestion_assets

    loads = {key for asset in ingestion_assets for key in asset.keys}
    return sorted(defs.resolve_asset_graph().materializable_asset_keys - loads)


@dataclass(frozen=True)
class RunOutcome:
    """How one run ended, as the terminal reports it."""

    run_id: str
    success: bool
    failed_steps: list[str]

    @classmethod
    def of(cls, result: JobExecutionResult) -> RunOutcome:
        events = result.all_events
        failed = [event.step_key for event in events if event.is_step_failure and event.step_key]
        return cls(result.run_id, result.success, failed)


@dataclass
class Runs:
    """The runs one refresh made, in order."""

    results: list[RunOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def execute(
        self,
        instance: DagsterInstance,
        job: Callable[[], JobDefinition],
        run_config: dict[str, object],
        tags: dict[str, str],
        asset_selection: list[AssetKey] | None = None,
    ) -> None:
        """Run `job` in this process, recorded in `instance`, and keep its outcome."""
        from dagster import execute_job, reconstructable

        result = execute_job(
            reconstructable(job),
            instance=instance,
            run_config=run_config,
            raise_on_error=False,
            tags=tags,
            asset_selection=asset_selection,
        )
        self.results.append(RunOutcome.of(result))

    def add(self, reply: dict[str, object]) -> None:
        """The outcome a fork of the warm process reported for the run it executed."""
        if "run_id" in reply:
            failed = [str(step) for step in reply.get("failed_steps", [])]  # type: ignore[attr-defined]
            self.results.append(RunOutcome(str(reply["run_id"]), bool(reply["success"]), failed))
        else:
            self.errors.append(str(reply.get("error") or "the build run failed before it started"))

    @property
    def success(self) -> bool:
        return not self.errors and all(result.success for result in self.results)

    def status(self, job: str) -> str:
        ids = " and ".join(result.run_id[:8] for result in self.results)
        plural = "s" if len(self.results) > 1 else ""
        status = f"run{plural} {ids} of {job} " + ("succeeded" if self.success else "FAILED")
        if failed := [step for result in self.results for step in result.failed_steps]:
            status += f" (failed steps: {', '.join(failed)})"
        for error in self.errors:
            status += f"; {error}"
        return status


def prepare_build() -> None:
    """Import the definitions and resolve the build run's job and assets, so that a fork
    of this process starts the run at once (orchestration.warm_dbt)."""
    for _loads, build in JOBS.values():
        build()
    built_assets()
    from orchestration.warm_dbt_server import INSTANCE_MODULES

    for module in INSTANCE_MODULES:  # 0.4 s of the fork's start otherwise
        importlib.import_module(module)


def execute_build(request: dict[str, object], log_fd: int | None) -> dict[str, object]:
    """The build run of `request` (its job and run config), executed in this process, a fork
    of the warm dbt process whose streams are the caller's; `log_fd`: the caller's log file.
    Its outcome as `Runs.add` reads it."""
    from dagster import DagsterInstance

    from orchestration.recovery import run_tags

    _loads, build = JOBS[str(request["job"])]
    log = open(log_fd, "a", encoding="utf-8") if log_fd is not None else None  # noqa: SIM115
    runs = Runs()
    with log or contextlib.nullcontext(), output_to(log), DagsterInstance.get() as instance:
        run_config = dict(request["run_config"])  # type: ignore[call-overload]
        runs.execute(instance, build, run_config, run_tags(), built_assets())
    (run,) = runs.results
    return {"run_id": run.run_id, "success": run.success, "failed_steps": run.failed_steps}


def nothing_new(warehouse: Path, serving: Path) -> Served | None:
    """The publication, when it is already the build of what the loads left (and its report
    exists): building, testing and publishing again would reproduce the same tables."""
    from orchestration.build_inputs import serving_is_current

    if not (serving / REPORT_DIR / REPORT_FILE).exists():
        return None
    return serving_is_current(warehouse, serving / SERVING_FILE, {}, warehouse_engine_from_env())


def warm_dbt() -> WarmDbt | None:
    """The warm dbt process, on DuckDB unless `WARM_DBT=0`, to be told once the run knows
    whether the definitions can be imported (`WarmDbt.proceed`) or that no build is
    expected (`WarmDbt.close`)."""
    disabled = os.environ.get("WARM_DBT", "").strip().lower() in ("0", "false", "no")
    if disabled or warehouse_engine_from_env() != "duckdb":
        return None
    return WarmDbt(dbt_executable(), definitions=None)


def say(line: str) -> None:
    """A line on the terminal, also while the run's own output goes to its log file."""
    out = sys.__stdout__ or sys.stdout
    out.write(line + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", nargs="?", default="refresh_all_job", choices=sorted(JOBS))
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental dbt models from all of history",
    )
    parser.add_argument(
        "--full-checks",
        action="store_true",
        help="run the dbt data tests over every row, not only the rows this build wrote",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="build, test and publish even when the loads brought nothing new",
    )
    args = parser.parse_args(argv)
    run_config: dict[str, object] = dict(RUN_CONFIG if verbose() else QUIET_RUN_CONFIG)
    dbt_config = {"full_refresh": args.full_refresh, "full_checks": args.full_checks}
    build_config = dict(run_config)
    if any(dbt_config.values()):
        build_config["ops"] = {"warehouse_dbt_models": {"config": dbt_config}}
    forced = args.rebuild or any(dbt_config.values())
    started = time.monotonic()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    log_path = None if verbose() else run_log_path(args.job, started_at)
    if log_path:
        print(f"{args.job}: the whole log goes to {log_path}", flush=True)
    warehouse = warehouse_path_from_env()
    serving = serving_dir_from_env(warehouse)
    runs = Runs()
    unchanged: Served | None = None
    parse_failed: str | None = None
    with contextlib.ExitStack() as stack:
        if (warm := warm_dbt()) is not None:
            stack.enter_context(warm)  # started first: its imports overlap all that follows
        end_date = Settings.from_env().end_date
        parse = ManifestParse(warehouse)
        parsing = parse.needed()
        if warm is not None:
            from orchestration.build_inputs import expects_new_sessions

            if forced or parsing or expects_new_sessions(warehouse, end_date):
                warm.proceed(definitions=not parsing)  # the definitions read the manifest
            else:
                # Importing dbt costs two seconds of a core: a refresh that builds nothing
                # is better off without it, since those seconds compete with its loads.
                warm.close(kill=True)
                warm = None
        stack.enter_context(parse)
        # A fork of the warm process parses without importing dbt a second time.
        if parsing and parse.start(None if warm is None else str(warm.launcher)):
            print("dbt parse: the dbt project changed since its manifest, parsing beside the loads")
        from dagster import DagsterInstance

        from orchestration.partitions import partitions_to_load
        from orchestration.progress import step_line
        from orchestration.recovery import recover_interrupted_runs, run_tags

        instance = stack.enter_context(DagsterInstance.get())
        # A run killed earlier would otherwise keep the warehouse pool's slot for ever; what
        # was recovered is said on the terminal.
        recover_interrupted_runs(instance)
        # The loads are recorded against the months they load (the whole history on a
        # first run, then the current month), so the UI's status of prices and rates stays
        # true.
        first, last = partitions_to_load(instance, end_date)
        loads, build = JOBS[args.job]
        collection.resume()  # imported: what follows makes garbage worth collecting
        with (
            open(log_path, "a", encoding="utf-8") if log_path else contextlib.nullcontext() as log,
            output_to(log),
        ):
            runs.execute(instance, loads, run_config, {**partition_tags(first, last), **run_tags()})
            try:
                if (parsed := parse.wait()) is not None:
                    say(step_line("dbt parse (beside the loads)", "ok", parsed))
            except ManifestError as error:
                parse_failed = str(error)
            if (
                runs.success
                and parse_failed is None
                and (forced or not (unchanged := nothing_new(warehouse, serving)))
            ):
                request = {"job": args.job, "run_config": build_config}
                # The build run in a fork of the warm process, which has imported the
                # definitions already; in this process when there is none to answer.
                if warm is None or (reply := warm.build(request, log)) is None:
                    runs.execute(instance, build, build_config, run_tags(), built_assets())
                else:
                    runs.add(reply)
            seconds = time.monotonic() - started
    status = runs.status(args.job)
    if parse_failed:
        status += "; the build was not run: dbt parse failed (below)"
    from orchestration.summary import print_summary

    print_summary(warehouse, status, seconds, since=started_at)
    if parse_failed:
        print(parse_failed, file=sys.stderr)
    if unchanged is not None:
        print(
            "Nothing new to build: the serving file is already the build of these raw tables "
            f"and this dbt project (published {unchanged.published_at:%Y-%m-%d %H:%M} UTC, "
            f"data through {unchanged.data_through}); `--rebuild` builds, tests and publishes "
            "anyway."
        )
    if runs.success and (serving / SERVING_FILE).exists():
        print(f"Serving (read-only): {serving / SERVING_FILE}")
        print(f"Parquet: {serving / 'parquet'}")
        report = serving / REPORT_DIR / REPORT_FILE
        if report.exists():
            print(f"Report: {report}")
    if log_path:
        print(f"Log: {log_path}")
    return 0 if runs.success and not parse_failed else 1


def exit_at_once(code: int) -> NoReturn:
    """End the process as a normal exit would, minus Python's finalization: tearing down
    the modules of Dagster, dbt and pandas takes 0.7 s after the summary is printed. What a
    normal exit does that matters runs first: the atexit handlers (logging's flush,
    multiprocessing's finalizers) and the flush of the standard streams."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


if __name__ == "__main__":
    collection.pause()
    exit_at_once(main())
