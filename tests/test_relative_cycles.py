"""relative_cycles and the drawdown columns of divergence_daily on the sample build,
against the underwater periods recomputed in Python from divergence_daily's rs_line."""

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.dbt_cli import run_dbt

pytestmark = pytest.mark.slow

PAIR = "rut_vs_ixic"  # the sample pair with the most highs of rs_line


@dataclass(frozen=True)
class Period:
    peak_date: date
    peak_rs_line: float
    trough_date: date
    trough_rs_line: float
    depth: float
    recovery_date: date | None
    sessions_to_trough: int
    sessions_underwater: int
    is_current: bool


def rs_lines(warehouse: Path, pair_id: str) -> tuple[list[date], list[float]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select session_date, rs_line from marts.divergence_daily "
            "where pair_id = ? order by session_date",
            [pair_id],
        ).fetchall()
    return [row[0] for row in rows], [row[1] for row in rows]


def underwater_periods(dates: list[date], values: list[float], threshold: float) -> list[Period]:
    """From each high (above every earlier value) to the first later value above it."""
    periods = []

    def close(peak: int, recovery: int | None) -> None:
        end = len(values) if recovery is None else recovery
        below = range(peak + 1, end)
        if not below:
            return
        trough = min(below, key=lambda i: (values[i], i))
        depth = values[trough] / values[peak] - 1
        if depth < 0 and depth <= -threshold:
            periods.append(
                Period(
                    peak_date=dates[peak],
                    peak_rs_line=values[peak],
                    trough_date=dates[trough],
                    trough_rs_line=values[trough],
                    depth=depth,
                    recovery_date=None if recovery is None else dates[recovery],
                    sessions_to_trough=trough - peak,
                    sessions_underwater=(len(values) - 1 if recovery is None else recovery) - peak,
                    is_current=recovery is None,
                )
            )

    peak = 0
    for i in range(1, len(values)):
        if values[i] > values[peak]:
            close(peak, i)
            peak = i
    close(peak, None)
    return periods


def duration_ranks(periods: list[Period]) -> list[int]:
    return [
        1 + sum(o.sessions_underwater > p.sessions_underwater for o in periods) for p in periods
    ]


def mart_rows(warehouse: Path, pair_id: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select peak_date, peak_rs_line, trough_date, trough_rs_line, depth, recovery_date, "
            "sessions_to_trough, sessions_underwater, is_current, rank_by_duration "
            "from marts.relative_cycles where pair_id = ? order by peak_date",
            [pair_id],
        ).fetchall()


def assert_mart_matches(warehouse: Path, pair_id: str, threshold: float) -> int:
    dates, values = rs_lines(warehouse, pair_id)
    periods = underwater_periods(dates, values, threshold)
    expected = [
        (
            p.peak_date,
            p.peak_rs_line,
            p.trough_date,
            p.trough_rs_line,
            pytest.approx(p.depth, rel=1e-12, abs=1e-15),
            p.recovery_date,
            p.sessions_to_trough,
            p.sessions_underwater,
            p.is_current,
            rank,
        )
        for p, rank in zip(periods, duration_ranks(periods), strict=True)
    ]
    assert mart_rows(warehouse, pair_id) == expected
    return len(periods)


@pytest.fixture(scope="module")
def shallow_build(built, tmp_path_factory) -> Path:
    """The sample build with relative_cycles rebuilt keeping every underwater period."""
    path, _result, _instance = built
    folder = tmp_path_factory.mktemp("relative_cycles")
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(path, copy)
    done = run_dbt(
        copy,
        folder,
        "build",
        "--select",
        "relative_cycles",
        "--exclude",
        "resource_type:unit_test",
        "--vars",
        "{min_relative_drawdown: 0}",
    )
    assert done.returncode == 0, done.stdout[-4000:]
    return copy


def test_each_pair_has_its_deep_periods_at_the_default_threshold(built):
    path, _result, _instance = built
    with duckdb.connect(str(path), read_only=True) as con:
        pairs = [row[0] for row in con.execute("select pair_id from universe.pairs").fetchall()]
    counts = {pair_id: assert_mart_matches(path, pair_id, 0.05) for pair_id in pairs}
    # The sample's small caps trail every benchmark from the first weeks on: one long
    # period per pair, still open; against the Magnificent 7 basket too.
    assert counts == {
        "rut_vs_ixic": 1,
        "rut_vs_ndx": 1,
        "rut_vs_spx": 1,
        "iwm_vs_qqq": 1,
        "rsp_vs_spy": 1,
        "rut_vs_mag7": 1,
    }


def test_every_underwater_period_of_a_pair_without_a_threshold(shallow_build):
    assert assert_mart_matches(shallow_build, PAIR, 0.0) == 4
    rows = mart_rows(shallow_build, PAIR)
    assert [row[8] for row in rows] == [False, False, False, True]
    # two periods of equal duration share a rank
    assert sorted(row[9] for row in rows) == [1, 2, 3, 3]


def test_shallow_periods_are_skipped_not_merged(built, shallow_build):
    path, _result, _instance = built
    deep = mart_rows(path, PAIR)
    every = mart_rows(shallow_build, PAIR)
    assert len(deep) < len(every)
    assert all(row[:9] in [other[:9] for other in every] for row in deep)


def test_the_drawdown_from_the_high_to_date_and_the_sessions_since_it(built):
    path, _result, _instance = built
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select rs_line, rs_line_high, rs_line_drawdown, sessions_since_rs_high "
            "from marts.divergence_daily where pair_id = ? order by session_date",
            [PAIR],
        ).fetchall()
    high, since, expected = None, 0, []
    for rs_line, *_ in rows:
        if high is None or rs_line > high:
            high, since = rs_line, 0
        else:
            since += 1
        expected.append((rs_line, high, pytest.approx(rs_line / high - 1, abs=1e-15), since))
    assert rows == expected
    # the first session and four later highs, all in September 2021
    assert sum(row[3] == 0 for row in rows) == 5
    assert min(row[2] for row in rows) < -0.3


def test_the_current_period_runs_to_the_latest_session(built):
    path, _result, _instance = built
    with duckdb.connect(str(path), read_only=True) as con:
        mismatched = con.execute(
            """
            select cycles.pair_id
            from marts.relative_cycles as cycles
            inner join (
                select pair_id, max_by(sessions_since_rs_high, session_date) as since
                from marts.divergence_daily group by pair_id
            ) as latest using (pair_id)
            where cycles.is_current and cycles.sessions_underwater <> latest.since
            """
        ).fetchall()
    assert mismatched == []
