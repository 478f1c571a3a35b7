"""`python -m bench.soak [--nightlies 60] [--out bench/soak]`: many nightly refreshes in a row.

The sample market is built up to `--nightlies` sessions before `--end`, then refreshed one
session at a time through the real job `refresh_all_job` (ingestion, dbt build with its data
tests, publication, report, compaction check), each run recorded in a Dagster instance of
its own, as the nightly schedule would. Throughout, a reader process
(`bench.soak_reader`) queries the serving file. Afterwards the same data is built fresh
into another folder, and the soak's warehouse is compared with it: file size, and every
mart's rows (floats to 1e-12 relative, as the incremental identity test).

Writes results.md and results.json into --out; exits 1 when a nightly failed, a reader
query failed, a mart differs or the file ended above --max-ratio times the fresh one.
"""

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from ingestion.calendar import sessions_between
from ingestion.paths import PROJECT_ROOT

DEFAULT_END = date(2026, 11, 20)
DEFAULT_HISTORY_START = date(2015, 1, 1)
MAX_RATIO = 1.25
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
COMPACTION_NODE = "maintenance__warehouse_file"


@dataclass
class Nightly:
    number: int
    session: str
    succeeded: bool
    seconds: float
    file_bytes: int
    compacted: bool
    started: float = field(repr=False)
    ended: float = field(repr=False)
    reader_queries: int = 0
    reader_errors: int = 0


@dataclass
class Soak:
    nightlies: list[Nightly] = field(default_factory=list)
    first_build_seconds: float = 0.0
    first_build_bytes: int = 0
    fresh_bytes: int = 0
    reader_queries: int = 0
    reader_errors: list[str] = field(default_factory=list)
    marts_equal: bool = False
    mart_difference: str = ""
    publications_seen: list[str] = field(default_factory=list)

    @property
    def final_ratio(self) -> float:
        return self.nightlies[-1].file_bytes / self.fresh_bytes

    def problems(self, max_ratio: float) -> list[str]:
        found = [
            f"nightly {n.number} ({n.session}) failed" for n in self.nightlies if not n.succeeded
        ]
        if self.reader_errors:
            found.append(f"{len(self.reader_errors)} reader queries failed")
        if not self.marts_equal:
            found.append(f"marts differ from a fresh build: {self.mart_difference}")
        if self.final_ratio > max_ratio:
            found.append(f"file {self.final_ratio:.3f}x the fresh build (limit {max_ratio}x)")
        return found


def _environment(root: Path, history_start: date) -> dict[str, str]:
    return {
        "DAGSTER_HOME": str(root / "dagster_home"),
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "LANDING_DIR": str(root / "landing"),
        "HISTORY_START": history_start.isoformat(),
        "DO_NOT_TRACK": "1",
    }


def _new_root(root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "dagster_home").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", root / "dagster_home")
    return root


def _file_bytes(warehouse: Path) -> int:
    from ingestion.compaction import file_bytes

    return file_bytes(warehouse)


@contextlib.contextmanager
def _output_to(log: TextIO) -> Any:
    """Send this process's stdout and stderr (dbt's and Dagster's lines) to `log`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


class NightlyRunner:
    """Runs refresh_all_job in this process against the warehouse the environment names.

    The code location binds the warehouse path when it is imported, so the environment
    is set before the first import of `orchestration`.
    """

    def __init__(self, root: Path, history_start: date, compaction: bool) -> None:
        os.environ.update(_environment(root, history_start))
        self.warehouse = root / "warehouse.duckdb"
        self.log_path = root / "runs.log"
        self.run_config: dict[str, Any] = dict(QUIET_LOGS)
        if not compaction:
            self.run_config["ops"] = {COMPACTION_NODE: {"config": {"growth_ratio": 1e9}}}

    def run(self, session: date) -> tuple[bool, bool]:
        """One refresh through `session`: (succeeded, compacted)."""
        from dagster import DagsterInstance, execute_job, reconstructable

        from orchestration.run import refresh_all_job

        os.environ["SAMPLE_END_DATE"] = session.isoformat()
        with (
            self.log_path.open("a", encoding="utf-8") as log,
            _output_to(log),
            DagsterInstance.get() as instance,
        ):
            result = execute_job(
                reconstructable(refresh_all_job),
                instance=instance,
                run_config=self.run_config,
                raise_on_error=False,
                tags={"dagster/partition": session.isoformat()},
            )
            compacted = any(
                bool(m.metadata["compacted"].value)
                for m in result.asset_materializations_for_node(COMPACTION_NODE)
            )
        return result.success, compacted


def _fresh_build(root: Path, history_start: date, end: date) -> int:
    """The same data built from nothing, in its own process and folder: its file size."""
    env = {
        **os.environ,
        **_environment(_new_root(root), history_start),
        "SAMPLE_END_DATE": end.isoformat(),
    }
    subprocess.run(
        [sys.executable, "-m", "orchestration.run", "refresh_all_job"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return _file_bytes(root / "warehouse.duckdb")


def _read_reader_log(log: Path, soak: Soak) -> None:
    lines = [line.split(" ", 2) for line in log.read_text(encoding="utf-8").splitlines()]
    soak.reader_queries = len(lines)
    seen: list[str] = []
    for stamp, status, detail in lines:
        moment = float(stamp)
        night = next((n for n in soak.nightlies if n.started <= moment <= n.ended), None)
        if night is not None:
            night.reader_queries += 1
        if status != "ok":
            soak.reader_errors.append(detail)
            if night is not None:
                night.reader_errors += 1
        elif not seen or seen[-1] != detail:
            seen.append(detail)
    soak.publications_seen = seen


def _compare_marts(soaked: Path, fresh: Path, soak: Soak) -> None:
    from tests.table_equality import assert_same_contents, table_contents

    marts = "where schema_name = 'marts'"
    try:
        assert_same_contents(table_contents(soaked, marts), table_contents(fresh, marts))
    except AssertionError as exc:
        soak.mart_difference = str(exc) or "a table differs"
        return
    soak.marts_equal = True


def run_soak(
    work: Path,
    nightlies: int,
    end: date = DEFAULT_END,
    history_start: date = DEFAULT_HISTORY_START,
    compaction: bool = True,
    say: Any = print,
) -> Soak:
    """Build, refresh `nightlies` times one session at a time, then compare with a fresh
    build. Runs in this process, which must not have imported `orchestration` yet."""
    sessions = sessions_between(history_start, end)[-(nightlies + 1) :]
    root = _new_root(work / "soak")
    runner = NightlyRunner(root, history_start, compaction)
    soak = Soak()
    started = time.monotonic()
    succeeded, _ = runner.run(sessions[0])
    if not succeeded:
        raise RuntimeError(f"the first build through {sessions[0]} failed")
    soak.first_build_seconds = time.monotonic() - started
    soak.first_build_bytes = _file_bytes(runner.warehouse)
    say(
        f"first build through {sessions[0]}: {soak.first_build_seconds:.1f} s, "
        f"{soak.first_build_bytes / 1e6:.1f} MB"
    )

    log, stop = root / "reader.log", root / "reader.stop"
    serving = root / "serving" / "serving.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-m", "bench.soak_reader", str(serving), str(log), str(stop)],
        cwd=PROJECT_ROOT,
    )
    try:
        for number, session in enumerate(sessions[1:], start=1):
            began = time.monotonic()
            succeeded, compacted = runner.run(session)
            ended = time.monotonic()
            night = Nightly(
                number,
                session.isoformat(),
                succeeded,
                ended - began,
                _file_bytes(runner.warehouse),
                compacted,
                began,
                ended,
            )
            soak.nightlies.append(night)
            say(
                f"nightly {number}/{nightlies} through {session}: "
                f"{'ok' if succeeded else 'FAILED'} in {night.seconds:.1f} s, "
                f"{night.file_bytes / 1e6:.1f} MB{', compacted' if compacted else ''}"
            )
    finally:
        stop.touch()
        reader.wait(timeout=600)
    _read_reader_log(log, soak)

    say(f"fresh build through {sessions[-1]} for comparison")
    fresh = work / "fresh"
    soak.fresh_bytes = _fresh_build(fresh, history_start, sessions[-1])
    _compare_marts(runner.warehouse, fresh / "warehouse.duckdb", soak)
    return soak


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def render(soak: Soak, max_ratio: float, compaction: bool) -> str:
    seconds = [n.seconds for n in soak.nightlies]
    ratios = [n.file_bytes / soak.fresh_bytes for n in soak.nightlies]
    problems = soak.problems(max_ratio)
    lines = [
        f"# Soak: {len(soak.nightlies)} nightly refreshes of the sample market",
        "",
        f"- Compaction check after each publication: {'on' if compaction else 'off'}.",
        f"- First build: {soak.first_build_seconds:.1f} s, {_mb(soak.first_build_bytes)} MB.",
        f"- Fresh build of the final data: {_mb(soak.fresh_bytes)} MB. After the last "
        f"nightly: {_mb(soak.nightlies[-1].file_bytes)} MB, **{soak.final_ratio:.3f}x** "
        f"(limit {max_ratio}x); largest after any nightly {max(ratios):.3f}x.",
        f"- Compactions: {sum(n.compacted for n in soak.nightlies)} of "
        f"{len(soak.nightlies)} nightlies.",
        f"- Time per nightly: median {statistics.median(seconds):.1f} s, "
        f"min {min(seconds):.1f} s, max {max(seconds):.1f} s.",
        f"- Reader: {soak.reader_queries} queries, {len(soak.reader_errors)} errors; "
        f"{len(soak.publications_seen)} publications seen in turn.",
        f"- Every mart equal to the fresh build's: {'yes' if soak.marts_equal else 'NO'}"
        + (f" ({soak.mart_difference})" if soak.mart_difference else "")
        + ".",
        f"- Result: {'PASSED' if not problems else 'FAILED: ' + '; '.join(problems)}.",
        "",
        "| nightly | session | seconds | file MB | vs fresh | compacted | reader queries "
        "| reader errors |",
        "| ---: | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for night, ratio in zip(soak.nightlies, ratios, strict=True):
        lines.append(
            f"| {night.number} | {night.session} | {night.seconds:.1f} | "
            f"{_mb(night.file_bytes)} | {ratio:.3f}x | {'yes' if night.compacted else ''} | "
            f"{night.reader_queries} | {night.reader_errors} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nightlies", type=int, default=60)
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END)
    parser.add_argument("--history-start", type=date.fromisoformat, default=DEFAULT_HISTORY_START)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "soak")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "soak")
    parser.add_argument("--max-ratio", type=float, default=MAX_RATIO)
    parser.add_argument(
        "--no-compaction", action="store_true", help="measure the file without compaction"
    )
    args = parser.parse_args(argv)
    compaction = not args.no_compaction
    soak = run_soak(args.work, args.nightlies, args.end, args.history_start, compaction, say=_say)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(render(soak, args.max_ratio, compaction))
    record = asdict(soak) | {"final_ratio": soak.final_ratio, "compaction": compaction}
    (args.out / "results.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    problems = soak.problems(args.max_ratio)
    _say(f"results in {args.out / 'results.md'}: " + ("; ".join(problems) or "passed"))
    return 1 if problems else 0


def _say(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
