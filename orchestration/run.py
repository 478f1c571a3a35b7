"""Run a job of the code location from the command line and print what the warehouse holds.

    python -m orchestration.run [job]     (default: refresh_all_job)

The run goes through the Dagster instance in DAGSTER_HOME, so it is recorded and shows
up later in the UI. The terminal gets one line per step as it ends (with its time, any
check that did not pass, a failed step's error in full), then the summary; Dagster's and
dbt's whole log goes to `$DAGSTER_HOME/logs/<job>-<time>.log`. With VERBOSE=1 that log
streams to the terminal instead.
"""

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from dagster import DagsterInstance, JobDefinition, execute_job, reconstructable

from ingestion.config import Settings, serving_dir_from_env
from orchestration.partitions import partitions_to_load
from orchestration.recovery import recover_interrupted_runs, run_tags
from orchestration.shared import default_warehouse_path
from orchestration.summary import print_summary
from serving.paths import SERVING_FILE
from serving.report import REPORT_DIR, REPORT_FILE

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


JOBS = {"refresh_all_job": refresh_all_job}


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
    args = parser.parse_args(argv)
    run_config: dict[str, object] = dict(RUN_CONFIG if verbose() else QUIET_RUN_CONFIG)
    dbt_config = {"full_refresh": args.full_refresh, "full_checks": args.full_checks}
    if any(dbt_config.values()):
        run_config["ops"] = {"warehouse_dbt_models": {"config": dbt_config}}
    started = time.monotonic()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    log_path = None if verbose() else run_log_path(args.job, started_at)
    if log_path:
        print(f"{args.job}: the whole log goes to {log_path}", flush=True)
    with DagsterInstance.get() as instance:
        # A run killed earlier would otherwise keep the warehouse pool's slot for ever; what
        # was recovered is said on the terminal.
        recover_interrupted_runs(instance)
        # The run is recorded against the months it loads (the whole history on a first
        # run, then the current month), so the UI's status of prices and rates stays true.
        first, last = partitions_to_load(instance, Settings.from_env().end_date)
        with (
            open(log_path, "a", encoding="utf-8") if log_path else contextlib.nullcontext() as log,
            output_to(log),
        ):
            result = execute_job(
                reconstructable(JOBS[args.job]),
                instance=instance,
                run_config=run_config,
                raise_on_error=False,
                tags={**partition_tags(first, last), **run_tags()},
            )
            seconds = time.monotonic() - started
            failed = [
                event.step_key
                for event in result.all_events
                if event.is_step_failure and event.step_key
            ]
    status = f"run {result.run_id[:8]} of {args.job} " + (
        "succeeded" if result.success else "FAILED"
    )
    if failed:
        status += f" (failed steps: {', '.join(failed)})"
    warehouse = Path(default_warehouse_path())
    print_summary(warehouse, status, seconds, since=started_at)
    serving = serving_dir_from_env(warehouse)
    if result.success and (serving / SERVING_FILE).exists():
        print(f"Serving (read-only): {serving / SERVING_FILE}")
        print(f"Parquet: {serving / 'parquet'}")
        report = serving / REPORT_DIR / REPORT_FILE
        if report.exists():
            print(f"Report: {report}")
    if log_path:
        print(f"Log: {log_path}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
