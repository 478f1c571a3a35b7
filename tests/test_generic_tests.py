"""The project's own generic data tests, on a mart with values planted to break them: each
fails on exactly the planted rows and names the columns at fault."""

import duckdb
import pytest

from tests.conftest import copy_of_built
from tests.dbt_cli import run_dbt

pytestmark = pytest.mark.slow

MART = "marts.rates_regime_daily"
AUDIT = "dbt_test__audit"


@pytest.fixture(scope="module")
def failures(built, tmp_path_factory):
    """The failing rows each test of rates_regime_daily stored, after two rows were broken."""
    folder = tmp_path_factory.mktemp("generic_tests")
    warehouse = copy_of_built(built, folder)
    with duckdb.connect(str(warehouse)) as con:
        # one row with two required columns null, another with two values out of range
        # (99 above the 25 % ceiling; -3 below the 2-year yield's -2 floor), and a yield at
        # its floor exactly, which the inclusive bound lets pass
        con.execute(
            f"update {MART} set policy_action = null, hikes_ytd = null "
            "where observation_date = '2023-03-01'"
        )
        con.execute(
            f"update {MART} set fed_target_upper = 99, ust_2y = -3 "
            "where observation_date = '2023-06-01'"
        )
        con.execute(f"update {MART} set ust_2y = -2 where observation_date = '2023-06-02'")
    done = run_dbt(
        warehouse,
        folder,
        "test",
        "--select",
        "rates_regime_daily,test_name:not_null_columns rates_regime_daily,test_name:in_ranges",
        "--store-failures",
        quiet=False,
    )
    assert done.returncode != 0, done.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = ?", [AUDIT]
            ).fetchall()
        ]
        return {
            name.split("_rates_regime_daily")[0]: con.execute(
                f"select * from {AUDIT}.{name}"
            ).fetchdf()
            for name in tables
        }, done.stdout


def test_not_null_columns_names_each_null_column_of_the_failing_row(failures):
    stored, stdout = failures
    rows = stored["not_null_columns"]
    assert len(rows) == 1
    assert rows.loc[0, "null_columns"] == "policy_action, hikes_ytd"
    assert str(rows.loc[0, "observation_date"].date()) == "2023-03-01"
    assert "not_null_columns_rates_regime_daily" in stdout


def test_in_ranges_names_the_out_of_range_columns_and_passes_a_bound_itself(failures):
    stored, _stdout = failures
    rows = stored["in_ranges"]
    assert len(rows) == 1
    assert rows.loc[0, "out_of_range"] == "fed_target_upper, ust_2y"
    assert rows.loc[0, "fed_target_upper"] == 99
    assert rows.loc[0, "ust_2y"] == -3
    assert str(rows.loc[0, "observation_date"].date()) == "2023-06-01"
