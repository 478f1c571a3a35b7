"""What a person watching `make run` sees: one line per finished step, from the run's events.

`python -m orchestration.run` sends Dagster's and dbt's whole log to a file and configures
the `progress` logger below for the run. It receives every Dagster event of the run and
prints, to the terminal it was given, each step as it ends with its time, every asset
check that did not pass with its description, and a failed step's error in full.
"""

import logging
import sys
from typing import TextIO

from dagster import DagsterEventType, InitLoggerContext, colored_console_logger, logger

STEP_LABELS = {
    "raw__sessions": "load raw/sessions",
    "raw__prices": "load raw/prices",
    "raw__rates": "load raw/rates",
    "raw__earnings_estimates": "load raw/earnings_estimates",
    "warehouse_dbt_models": "dbt build (seeds, models, marts, tests)",
    "serving__published_marts": "publish the serving file and Parquet",
    "serving__market_report": "render the report",
    "maintenance__warehouse_file": "check the warehouse file's size",
}


def step_label(step_key: str) -> str:
    """A readable name for a step of refresh_all_job; raw checks read as `check <name>`."""
    if step_key in STEP_LABELS:
        return STEP_LABELS[step_key]
    for prefix in ("raw__prices_", "raw__rates_"):
        if step_key.startswith(prefix):
            return "check " + step_key.removeprefix(prefix)
    return step_key


def step_line(label: str, status: str, seconds: float) -> str:
    """One finished step as the terminal shows it."""
    return f"  {label:<44} {status:>6} {seconds:7.1f} s"


class ProgressHandler(logging.Handler):
    """Turns the run's Dagster events into progress lines on `out`."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.out = out
        self.started: dict[str, float] = {}

    def _write(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        kind = event.event_type
        step = event.step_key or ""
        if kind == DagsterEventType.STEP_START:
            self.started[step] = record.created
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            seconds = record.created - self.started.get(step, record.created)
            status = "ok" if kind == DagsterEventType.STEP_SUCCESS else "FAILED"
            self._write(step_line(step_label(step), status, seconds))
            if kind == DagsterEventType.STEP_FAILURE and event.step_failure_data:
                error = event.step_failure_data.error
                while error is not None:
                    self._write("    " + error.message.rstrip().replace("\n", "\n    "))
                    error = error.cause
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data
            if not check.passed:
                severity = check.severity.value.lower() if check.severity else "error"
                described = f": {check.description}" if check.description else ""
                self._write(
                    f"    check {check.asset_key.to_user_string()} {check.check_name} "
                    f"did not pass ({severity}){described}"
                )


@logger(description="One line per finished step on the terminal (used by orchestration.run).")
def progress_logger(_init_context: InitLoggerContext) -> logging.Logger:
    # sys.__stdout__: the run's own output is redirected to its log file meanwhile.
    progress = logging.Logger("progress", level=logging.DEBUG)
    progress.addHandler(ProgressHandler(sys.__stdout__ or sys.stdout))
    return progress


# The loggers of the code location's runs: `progress` is configured only by
# orchestration.run; other runs log to the console.
RUN_LOGGERS = {"console": colored_console_logger, "progress": progress_logger}
