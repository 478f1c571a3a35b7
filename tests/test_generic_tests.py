"""The project's row_rules test, on a mart with values planted to break each kind of rule:
it fails on exactly the planted rows and names every rule each row breaks."""

import duckdb
import pytest

from tests.conftest import copy_of_built
from tests.dbt_cli import run_dbt

pytestmark = pytest.mark.slow

MART = "marts.rates_regime_daily"
AUDIT = "dbt_test__audit"


@pytest.fixture(scope="module")
def failures(built, tmp_path_factory):
    """The failing rows row_rules_rates_regime_daily stored, and dbt's output, after rows
    were broken (see the comments) and two left to pass."""
    folder = tmp_path_factory.mktemp("generic_tests")
    warehouse = copy_of_built(built, folder)
    with duckdb.connect(str(warehouse)) as con:
        for change, day in [
            # two required columns null; the two rules on policy_action then cannot hold
            ("policy_action = null, hikes_ytd = null", "2023-03-01"),
            # 99 above the 25 % ceiling; -3 below the 2-year yield's -2 floor
            ("fed_target_upper = 99, ust_2y = -3", "2023-06-01"),
            # a yield at its floor exactly, which the inclusive bound lets pass
            ("ust_2y = -2", "2023-06-02"),
            # an empty target range (the sample has 2.0 - 2.25 that day)
            ("fed_target_lower = 2.25", "2023-08-01"),
            # a value outside the accepted ones, 36 days after the last change, where
            # anything but 'hold' breaks the days-since-change rule as well
            ("policy_action = 'pause'", "2023-09-01"),
            # no lower bound: the range-order rule is not checked on this row (`where`)
            ("fed_target_lower = null", "2023-10-02"),
        ]:
            con.execute(f"update {MART} set {change} where observation_date = '{day}'")
    done = run_dbt(
        warehouse,
        folder,
        "test",
        "--select",
        "rates_regime_daily,test_name:row_rules",
        "--store-failures",
        quiet=False,
    )
    assert done.returncode != 0, done.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select observation_date::varchar as day, failed_rules, fed_target_upper, ust_2y "
            f"from {AUDIT}.row_rules_rates_regime_daily order by observation_date"
        ).fetchall()
    return rows, done.stdout


def test_row_rules_fail_on_the_planted_rows_and_name_every_rule_broken(failures):
    rows, stdout = failures
    assert [(day, failed) for day, failed, _upper, _ust in rows] == [
        (
            "2023-03-01",
            "policy_action is null, hikes_ytd is null, action_follows_the_change, "
            "days_since_change_restart_on_a_change",
        ),
        ("2023-06-01", "fed_target_upper out of range, ust_2y out of range"),
        ("2023-08-01", "target_range_is_ordered"),
        ("2023-09-01", "policy_action not accepted, days_since_change_restart_on_a_change"),
    ]
    assert "row_rules_rates_regime_daily" in stdout
    assert "Got 4 results" in stdout


def test_row_rules_return_the_failing_row_whole(failures):
    rows, _stdout = failures
    [(_day, _failed, upper, ust)] = [row for row in rows if row[0] == "2023-06-01"]
    assert (upper, ust) == (99, -3)
