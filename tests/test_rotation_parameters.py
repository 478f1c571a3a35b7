"""The relative rotation windows as dbt vars: a build with rrg_ratio_weeks 3 and
rrg_momentum_weeks 2 changes sector_rotation_weekly (checked against rs_ratio and
rs_momentum worked out in Python) and sector_leadership_weekly, and no other table; the
same vars reach dbt from the Dagster launchpad config."""

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.dbt_cli import run_dbt
from tests.table_equality import assert_same_contents, table_contents

pytestmark = pytest.mark.slow

RATIO_WEEKS, MOMENTUM_WEEKS = 3, 2
ROTATION_MARTS = ("sector_rotation_weekly", "sector_leadership_weekly")
OTHER_TABLES = (
    "where schema_name in ('staging', 'intermediate', 'marts') and table_name not in "
    + str(ROTATION_MARTS)
)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def rotation(warehouse: Path, sector: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select week_ending, rs_line, rs_ratio, rs_momentum, quadrant "
            "from marts.sector_rotation_weekly where sector_symbol = ? order by week_ending",
            [sector],
        ).fetchall()


@pytest.fixture(scope="module")
def rebuilt(built, tmp_path_factory) -> Path:
    """A copy of the sample build, rebuilt whole with the shorter windows."""
    path, _result, _instance = built
    folder = tmp_path_factory.mktemp("rotation")
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(path, copy)
    windows = {"rrg_ratio_weeks": RATIO_WEEKS, "rrg_momentum_weeks": MOMENTUM_WEEKS}
    done = run_dbt(
        copy,
        folder,
        "build",
        "--full-refresh",
        "--exclude",
        "resource_type:unit_test",
        "--vars",
        json.dumps(windows),
    )
    assert done.returncode == 0, done.stdout[-4000:]
    return copy


def test_rs_ratio_and_rs_momentum_follow_the_windows(rebuilt):
    rows = rotation(rebuilt, "XLK")
    rs_line = [row[1] for row in rows]
    # the first weeks by hand: rs_ratio from the 3rd week, rs_momentum from the 4th
    assert [row[2] for row in rows[:2]] == [None, None]
    assert [row[3] for row in rows[:3]] == [None, None, None]
    ratio_3 = 100 * rs_line[2] / ((rs_line[0] + rs_line[1] + rs_line[2]) / 3)
    ratio_4 = 100 * rs_line[3] / ((rs_line[1] + rs_line[2] + rs_line[3]) / 3)
    assert rows[2][2] == pytest.approx(ratio_3, rel=1e-12)
    assert rows[3][2] == pytest.approx(ratio_4, rel=1e-12)
    assert rows[3][3] == pytest.approx(100 * ratio_4 / ((ratio_3 + ratio_4) / 2), rel=1e-12)
    # and every week
    ratios = [
        100 * rs_line[i] / mean(rs_line[i - RATIO_WEEKS + 1 : i + 1])
        if i >= RATIO_WEEKS - 1
        else None
        for i in range(len(rs_line))
    ]
    for i, (_week, _rs_line, rs_ratio, rs_momentum, quadrant) in enumerate(rows):
        window = ratios[max(0, i - MOMENTUM_WEEKS + 1) : i + 1]
        momentum = (
            100 * ratios[i] / mean(window)
            if len(window) == MOMENTUM_WEEKS and None not in window
            else None
        )
        assert rs_ratio == (None if ratios[i] is None else pytest.approx(ratios[i], rel=1e-12))
        assert rs_momentum == (None if momentum is None else pytest.approx(momentum, rel=1e-12))
        if momentum is None:
            assert quadrant is None
        else:
            assert (
                quadrant
                == {
                    (True, True): "leading",
                    (True, False): "weakening",
                    (False, False): "lagging",
                    (False, True): "improving",
                }[(rs_ratio >= 100, rs_momentum >= 100)]
            )


def test_the_rotation_marts_change_and_nothing_else_does(built, rebuilt):
    path, _result, _instance = built
    default = rotation(path, "XLK")
    shorter = rotation(rebuilt, "XLK")
    assert [row[1] for row in default] == [row[1] for row in shorter]
    assert sum(row[2] is not None for row in shorter) == sum(
        row[2] is not None for row in default
    ) + (10 - RATIO_WEEKS)
    with (
        duckdb.connect(str(path), read_only=True) as old,
        duckdb.connect(str(rebuilt), read_only=True) as new,
    ):
        query = (
            "select week_ending, leading_count, weakening_count, lagging_count, improving_count "
            "from marts.sector_leadership_weekly order by week_ending"
        )
        assert old.execute(query).fetchall() != new.execute(query).fetchall()
        # a week's quadrant counts are the rebuilt rotation's
        (mismatched,) = new.execute(
            """
            select count(*) from marts.sector_leadership_weekly as leadership
            inner join (
                select week_ending, count(*) filter (where quadrant = 'leading') as leading
                from marts.sector_rotation_weekly group by week_ending
            ) as counted using (week_ending)
            where leadership.leading_count <> counted.leading
            """
        ).fetchone()
        assert mismatched == 0
    assert_same_contents(table_contents(path, OTHER_TABLES), table_contents(rebuilt, OTHER_TABLES))


def test_the_launchpad_config_reaches_dbt_as_vars(built, tmp_path):
    from dagster import AssetKey, DagsterInstance, materialize

    from orchestration.defs.models.assets import warehouse_dbt_models
    from orchestration.shared import build_resources

    path, _result, _instance = built
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(path, copy)
    instance = DagsterInstance.ephemeral()
    config = {"rrg_ratio_weeks": RATIO_WEEKS, "rrg_momentum_weeks": MOMENTUM_WEEKS}
    result = materialize(
        [warehouse_dbt_models],
        # both: a singular test compares them
        selection=[AssetKey(["marts", mart]) for mart in ROTATION_MARTS],
        resources=build_resources(str(copy)),
        run_config={"ops": {"warehouse_dbt_models": {"config": config}}},
        instance=instance,
    )
    assert result.success
    commands = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if "Running dbt command" in (record.user_message or "")
    ]
    assert len(commands) == 1
    assert '--vars {"rrg_momentum_weeks": 2, "rrg_ratio_weeks": 3}' in commands[0]
    rows = rotation(copy, "XLK")
    assert [row[2] is None for row in rows[:4]] == [True, True, False, False]
    assert [row[3] is None for row in rows[:4]] == [True, True, True, False]


def test_unset_parameters_are_not_passed():
    from orchestration.defs.models.assets import DbtBuildConfig

    assert DbtBuildConfig().dbt_vars() == {}
    assert DbtBuildConfig(min_relative_drawdown=0.1, full_checks=True).dbt_vars() == {
        "min_relative_drawdown": 0.1,
        "full_checks": True,
    }
