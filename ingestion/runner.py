"""Running a planned refresh: fetch, validate, check, load and log, one key at a time.

Each key (symbol, series, universe) is fetched, validated and loaded on its own and logged
in raw.load_log with its outcome, so one failing key never loses the others. Before a
key's rows are loaded they must pass `schemas.validate` (dates included: prices on XNYS
sessions, nothing after today in New York), be of that key and inside the window asked
for, and pass the dataset's own check (`ingestion.boundary`). A key that fails any of it
is logged failed with the reason, once, and nothing of it is stored. When a key's stored
history must be read again (see `Steps.reload_from`), its load is logged as `restated`.

Validation has a fixed cost per call (pandera's, about 25 ms), which a nightly pays for
every key for a few rows each. So the keys of a window are fetched in batches and each
batch's rows are validated in one call; only when that call fails is each key's frame
validated on its own, which is what names the key, row and rule in its failure.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from ingestion.boundary import check_asked_for
from ingestion.loader import LoadError, LoadResult, LoadTotals, load_frame, record_failure
from ingestion.planning import Window
from ingestion.schemas import Dataset, validate
from ingestion.tables import logged_name

Log = Callable[[str], None]
# Keys fetched before their rows are validated together: bounds the rows held at once.
VALIDATION_BATCH = 64


@dataclass
class RefreshReport(LoadTotals):
    """What one refresh of one raw table did, for logs, metadata and the run summary."""

    table: str
    provider: str
    windows: dict[Window, list[str]] = field(default_factory=dict)
    loads: list[LoadResult] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    restated: list[str] = field(default_factory=list)

    def load_results(self) -> list[LoadResult]:
        return self.loads

    @property
    def window(self) -> tuple[date | None, date | None]:
        if not self.windows:
            return (None, None)
        return (min(w[0] for w in self.windows), max(w[1] for w in self.windows))

    def summary(self) -> str:
        start, end = self.window
        span = f"{start} .. {end}" if start else "nothing to fetch"
        parts = [
            f"raw.{self.table} from {self.provider} ({span}): {self.received} rows received, "
            f"{self.changes()}"
        ]
        if self.restated:
            parts.append(f"history reloaded for {', '.join(self.restated)}")
        if self.failures:
            parts.append(f"FAILED for {', '.join(sorted(self.failures))}")
        return "; ".join(parts)


class RefreshError(RuntimeError):
    """Nothing could be loaded at all: the provider or its configuration is wrong."""


@dataclass(frozen=True)
class Steps:
    """How a refresh gets one dataset's rows from one provider, key by key, and decides
    whether to load them.

    `fetch(keys, start, end)` asks the provider. `check(key, frame)` raises for rows the
    warehouse would reject. `reload_from(key, frame)` gives the date to fetch the key
    again from when its stored history must be replaced (None: load the frame as it is).
    `screen(frames)` is told a batch's validated frames, by key, before any of them is
    loaded (none when they were validated one by one), so that `check` and `reload_from`
    can answer from one look at them all. With `require_any`, a refresh in which every
    key failed raises RefreshError.
    """

    dataset: Dataset
    provider: str
    fetch: Callable[[list[str], date, date], pd.DataFrame]
    check: Callable[[str, pd.DataFrame], None] | None = None
    reload_from: Callable[[str, pd.DataFrame], date | None] | None = None
    screen: Callable[[dict[str, pd.DataFrame]], None] | None = None
    require_any: bool = True


def run(
    con: duckdb.DuckDBPyConnection, steps: Steps, windows: dict[Window, list[str]], log: Log
) -> RefreshReport:
    """Load every key of `windows`; failures are logged per key and collected."""
    loader = _KeyLoader(
        con, steps, RefreshReport(steps.dataset.table, steps.provider, windows), log
    )
    report = loader.report
    for (start, end), keys in sorted(windows.items()):
        log(f"{steps.provider}: {steps.dataset.name} for {len(keys)} key(s), {start} .. {end}")
        for first in range(0, len(keys), VALIDATION_BATCH):
            batch = keys[first : first + VALIDATION_BATCH]
            fetched = {key: _fetch(steps, key, (start, end)) for key in batch}
            valid = validated_together(fetched, steps.dataset, steps.provider)
            if steps.screen is not None:
                steps.screen(valid)
            for key in batch:
                try:
                    report.loads.append(
                        loader.load(key, (start, end), fetched[key], valid.get(key))
                    )
                except Exception as exc:  # one key's failure must not lose the others
                    loader.fail(key, (start, end), exc)
        log(
            f"{steps.provider}: raw.{report.table} +{report.inserted} new, "
            f"{report.updated} updated, {report.unchanged} unchanged so far"
        )
    attempted = sum(len(keys) for keys in windows.values())
    if steps.require_any and attempted and len(report.failures) == attempted:
        raise RefreshError(f"every key failed for raw.{report.table}: {report.failures}")
    return report


def _fetch(steps: Steps, key: str, window: Window) -> pd.DataFrame | Exception:
    """The provider's rows for one key, or what it raised (raised again when the key is
    loaded, so that it fails that key alone)."""
    try:
        return steps.fetch([key], *window)
    except Exception as exc:
        return exc


def validated_together(
    fetched: dict[str, pd.DataFrame | Exception], dataset: Dataset, provider: str
) -> dict[str, pd.DataFrame]:
    """Each fetched frame with rows as `validate` returns it, from one call over all of
    them; empty when that call fails (or there is nothing to share), so that each key is
    validated on its own. `validate` checks rows, and keys only within a frame's rows, so
    a frame that passes among others passes alone, coerced to the same columns and types.
    Frames without rows, or whose columns differ from the others', are left to be
    validated alone: among others, a missing column would be filled rather than refused."""
    frames = {
        key: frame
        for key, frame in fetched.items()
        if isinstance(frame, pd.DataFrame) and len(frame)
    }
    if len(frames) < 2 or len({tuple(frame.columns) for frame in frames.values()}) > 1:
        return {}
    try:
        together = validate(pd.concat(frames.values(), ignore_index=True), dataset, provider)
    except Exception:
        return {}
    split: dict[str, pd.DataFrame] = {}
    start = 0
    for key, frame in frames.items():
        split[key] = together.iloc[start : start + len(frame)].reset_index(drop=True)
        start += len(frame)
    return split


@dataclass
class _KeyLoader:
    """One run's loading and failing of single keys, into `report`."""

    con: duckdb.DuckDBPyConnection
    steps: Steps
    report: RefreshReport
    log: Log

    def load(
        self,
        key: str,
        window: Window,
        fetched: pd.DataFrame | Exception,
        validated: pd.DataFrame | None,
    ) -> LoadResult:
        """Validate (unless its batch `validated` them already) and check the key's rows
        fetched for `window`, and load them."""
        steps = self.steps
        if isinstance(fetched, Exception):
            raise fetched
        frame = (
            validated if validated is not None else validate(fetched, steps.dataset, steps.provider)
        )
        status = "success"
        restart = steps.reload_from(key, frame) if steps.reload_from else None
        if restart is not None:
            self.log(f"{steps.provider}: {key}: stored history was re-based, reloading it")
            window = (restart, window[1])
            frame = validate(steps.fetch([key], *window), steps.dataset, steps.provider)
            status = "restated"
            self.report.restated.append(key)
        check_asked_for(frame, steps.dataset, steps.provider, key, window)
        if steps.check is not None:
            steps.check(key, frame)
        return load_frame(
            self.con,
            table=steps.dataset.table,
            dataset=steps.dataset,
            frame=frame,
            asset=logged_name(steps.dataset.table),
            provider=steps.provider,
            window=window,
            scope=key,
            status=status,
        )

    def fail(self, key: str, window: Window, error: Exception) -> None:
        """Note the failure in the report and, unless the loader already did, in
        raw.load_log."""
        message = str(error)
        if not (isinstance(error, LoadError) and error.load_id):
            record_failure(
                self.con,
                asset=logged_name(self.steps.dataset.table),
                provider=self.steps.provider,
                window=window,
                error=message,
                scope=key,
            )
        self.report.failures[key] = message
        self.log(f"{self.steps.provider}: {key}: FAILED: {message.splitlines()[0]}")
