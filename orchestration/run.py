"""Run a job of the code location from the command line and print what the warehouse holds.

    python -m orchestration.run [job]     (default: refresh_all)

The run goes through the Dagster instance in DAGSTER_HOME, so it is recorded and shows
up later in the UI; step logs stream to the console while it runs.
"""

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterInstance, JobDefinition, execute_job, reconstructable

from ingestion.config import Settings, serving_dir_from_env
from orchestration.recovery import recover_interrupted_runs, run_tags
from orchestration.resources import default_warehouse_path
from orchestration.summary import print_summary
from serving.paths import SERVING_FILE
from serving.report import REPORT_DIR, REPORT_FILE

RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def refresh_all_job() -> JobDefinition:
    from orchestration.definitions import defs

    return defs.resolve_job_def("refresh_all")


JOBS = {"refresh_all": refresh_all_job}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", nargs="?", default="refresh_all", choices=sorted(JOBS))
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
    run_config: dict[str, object] = dict(RUN_CONFIG)
    dbt_config = {"full_refresh": args.full_refresh, "full_checks": args.full_checks}
    if any(dbt_config.values()):
        run_config["ops"] = {"warehouse_dbt_models": {"config": dbt_config}}
    started = time.monotonic()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    with DagsterInstance.get() as instance:
        # A run killed earlier would otherwise keep the warehouse pool's slot for ever.
        recover_interrupted_runs(instance)
        # The run is recorded against the partition of the last day it loads, so the UI's
        # per-day status of prices and rates stays true after `make run`.
        partition = Settings.from_env().end_date.isoformat()
        result = execute_job(
            reconstructable(JOBS[args.job]),
            instance=instance,
            run_config=run_config,
            raise_on_error=False,
            tags={"dagster/partition": partition, **run_tags()},
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
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
