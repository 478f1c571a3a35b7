"""The project's row_rules test, on a mart with values planted to break each kind of rule,
and its compiled SQL on hand-made rows at the bounds: it fails on exactly the planted rows
and names every rule each row breaks."""

import json

import duckdb
import pytest

from tests.conftest import copy_of_built
from tests.dbt_cli import run_dbt, target_path

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


@pytest.fixture(scope="module")
def prices_rules_sql(tmp_path_factory) -> str:
    """The SQL dbt compiles for row_rules_stg_market__prices (full checks, no stored rows)."""
    folder = tmp_path_factory.mktemp("row_rules_sql")
    done = run_dbt(
        folder / "warehouse.duckdb",
        folder,
        "compile",
        "--select",
        "stg_market__prices,test_name:row_rules",
    )
    assert done.returncode == 0, done.stdout[-4000:]
    manifest = json.loads((target_path(folder) / "manifest.json").read_text())
    [node] = [n for n in manifest["nodes"].values() if n["name"] == "row_rules_stg_market__prices"]
    return node["compiled_code"]


def test_row_rules_exclusive_and_inclusive_bounds_and_a_rule_skipped_by_its_where(
    prices_rules_sql,
):
    con = duckdb.connect()
    con.execute("attach ':memory:' as warehouse")
    con.execute("create schema warehouse.staging")
    con.execute(
        "create table warehouse.staging.stg_market__prices (symbol varchar, session_date date, "
        "open double, high double, low double, close double, price double, volume bigint, "
        "source varchar, daily_return double)"
    )
    rows = [
        ("OK", 10, 11, 9, 10.5, 10.5, 100, 0.01),
        # low's bound is exclusive: 0 itself is out of range
        ("LOW_ZERO", 1, 2, 0, 1.5, 1.5, 100, 0.01),
        # volume's and daily_return's are inclusive: 0 and -0.95 pass
        ("AT_BOUNDS", 1, 2, 0.5, 1.5, 1.5, 0, -0.95),
        # a negative close below its low, and no price
        ("BAD_CLOSE", 1, 2, 0.5, -1, None, 100, 0.01),
        ("BIG_RETURN", 1, 2, 0.5, 1.5, 1.5, 100, 10.5),
        # high below low, but without an open the high/low rule does not apply
        ("NO_OPEN", None, 1, 2, 1.5, 1.5, 100, 0.01),
    ]
    con.executemany(
        "insert into warehouse.staging.stg_market__prices values "
        "(?, date '2024-01-02', ?, ?, ?, ?, ?, ?, 'sample', ?)",
        rows,
    )
    _add_keys_and_references(con, [symbol for symbol, *_ in rows])
    failed = con.execute(
        f"select symbol, session_date::varchar, failed_rules from ({prices_rules_sql}) order by all"
    ).fetchall()
    day = "2024-01-02"
    assert failed == [
        (
            "BAD_CLOSE",
            day,
            "price is null, close out of range, high_and_low_bound_open_and_close",
        ),
        ("BIG_RETURN", day, "daily_return out of range"),
        # both rows of the key, the second also out of range
        ("DUP", "2024-01-03", "duplicate symbol, session_date"),
        ("DUP", "2024-01-03", "low out of range, duplicate symbol, session_date"),
        ("LOW_ZERO", day, "low out of range"),
        ("OK", "2024-01-06", "session_date not in stg_calendar__sessions.session_date"),
        ("UNLISTED", day, "symbol not in instruments.symbol"),
        (None, day, "symbol is null"),
    ]


def _add_keys_and_references(con: duckdb.DuckDBPyConnection, listed: list[str]) -> None:
    """The tables row_rules_stg_market__prices reads its references from, and rows that
    break a key or a reference: a key twice, an unlisted symbol, a day that is no session
    (a Saturday). A null symbol would be reported as null, not as unlisted."""
    con.execute("create schema warehouse.universe")
    con.execute("create table warehouse.universe.instruments (symbol varchar)")
    con.executemany(
        "insert into warehouse.universe.instruments values (?)", [[s] for s in [*listed, "DUP"]]
    )
    con.execute("create table warehouse.staging.stg_calendar__sessions (session_date date)")
    con.execute(
        "insert into warehouse.staging.stg_calendar__sessions values ('2024-01-02'), ('2024-01-03')"
    )
    con.execute(
        "insert into warehouse.staging.stg_market__prices values "
        "('DUP', '2024-01-03', 1, 2, 0.5, 1.5, 1.5, 100, 'sample', 0.01), "
        "('DUP', '2024-01-03', 1, 2, 0, 1.5, 1.5, 100, 'sample', 0.01), "
        "('UNLISTED', '2024-01-02', 1, 2, 0.5, 1.5, 1.5, 100, 'sample', 0.01), "
        "('OK', '2024-01-06', 1, 2, 0.5, 1.5, 1.5, 100, 'sample', 0.01), "
        "(null, '2024-01-02', 1, 2, 0.5, 1.5, 1.5, 100, 'sample', 0.01)"
    )
