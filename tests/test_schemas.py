"""ingestion.schemas.validate: valid frames pass, each broken rule is reported precisely,
and no rule is looser than the dbt test the warehouse runs on the same column."""

import re
import subprocess
import sys
from datetime import UTC, date, datetime

import pandas as pd
import pytest
import yaml

from ingestion.boundary import RETURN_BOUNDS
from ingestion.calendar import today_in_new_york
from ingestion.paths import DBT_PROJECT_DIR, PROJECT_ROOT
from ingestion.schemas import (
    ESTIMATES,
    MAX_REPORTED_PROBLEMS,
    PRICES,
    RATES,
    FrameValidationError,
    validate,
)

PROVIDER = "acme"


def prices_frame():
    return pd.DataFrame(
        {
            "symbol": ["SPX", "SPX", "RUT"],
            "session_date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-02"]),
            "open": [100.0, 101.0, 50.0],
            "high": [102.0, 103.0, 51.0],
            "low": [99.0, 100.0, 49.0],
            "close": [101.0, 102.0, 50.5],
            "adj_close": [101.0, 102.0, 50.5],
            "volume": pd.array([10, 20, 30], dtype="Int64"),
            "source": "test",
        }
    )


def rates_frame():
    return pd.DataFrame(
        {
            "series_id": ["DFF", "DFF", "DGS2"],
            "observation_date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-02"]),
            "value": [5.33, 5.33, 4.33],
            "source": "test",
        }
    )


def estimates_frame():
    return pd.DataFrame(
        {
            "universe": ["sp500", "sp500", "russell_2000"],
            "fiscal_year": [2024, 2025, 2024],
            "as_of_date": pd.to_datetime(["2024-07-01", "2024-07-01", "2024-07-01"]),
            "eps_growth_pct": [8.5, 12.0, 14.25],
            "source": "test",
        }
    )


def _error(frame, dataset, today: date | None = None):
    with pytest.raises(FrameValidationError) as info:
        validate(frame, dataset, PROVIDER, today=today)
    return info.value


def _assert_header(error, dataset_name):
    message = str(error)
    assert f"provider '{PROVIDER}'" in message
    assert f"invalid {dataset_name} frame" in message
    assert error.provider == PROVIDER
    assert error.dataset == dataset_name


# -- valid frames -----------------------------------------------------------------------
def test_valid_prices_pass_and_are_coerced():
    frame = prices_frame()
    frame["volume"] = [10, 20, 30]  # plain int64, coerced to nullable Int64
    frame["open"] = [100, 101, 50]  # ints coerced to float
    checked = validate(frame, PRICES, PROVIDER)
    assert list(checked.columns) == list(PRICES.columns)
    assert str(checked["volume"].dtype) == "Int64"
    assert str(checked["open"].dtype) == "float64"
    assert str(checked["session_date"].dtype) == "datetime64[ns]"
    assert checked["close"].tolist() == [101.0, 102.0, 50.5]
    assert checked.index.tolist() == [0, 1, 2]


def test_valid_prices_columns_may_come_in_any_order():
    frame = prices_frame()
    reordered = frame[list(reversed(frame.columns))]
    checked = validate(reordered, PRICES, PROVIDER)
    assert list(checked.columns) == list(PRICES.columns)


def test_index_without_volume_or_open_passes():
    frame = prices_frame()
    frame["volume"] = pd.array([None, None, None], dtype="Int64")
    frame.loc[0, ["open", "high", "low", "adj_close"]] = None
    checked = validate(frame, PRICES, PROVIDER)
    assert checked["volume"].isna().all()
    assert pd.isna(checked.loc[0, "open"])


def test_valid_rates_and_estimates_pass():
    rates = validate(rates_frame(), RATES, PROVIDER)
    assert list(rates.columns) == ["series_id", "observation_date", "value", "source"]
    estimates = validate(estimates_frame(), ESTIMATES, PROVIDER)
    assert list(estimates.columns) == [
        "universe",
        "fiscal_year",
        "as_of_date",
        "eps_growth_pct",
        "source",
    ]
    assert str(estimates["fiscal_year"].dtype) == "int64"


# -- one broken rule at a time (prices) -------------------------------------------------
BAD_ROW = "row 1 (symbol=SPX, session_date=2024-01-03)"


def test_null_symbol():
    frame = prices_frame()
    frame.loc[1, "symbol"] = None
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.startswith("row 1 (symbol=")
    assert "session_date=2024-01-03" in problem
    assert "column 'symbol' failed not_nullable" in problem


def test_duplicate_key():
    frame = prices_frame()
    frame.loc[1, "session_date"] = pd.Timestamp("2024-01-02")
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert error.problems == [
        "row 0 (symbol=SPX, session_date=2024-01-02): duplicate key (symbol, session_date)",
        "row 1 (symbol=SPX, session_date=2024-01-02): duplicate key (symbol, session_date)",
    ]
    assert "(2 problem(s))" in str(error)


def test_high_below_open_or_close():
    frame = prices_frame()
    frame.loc[1, "high"] = 101.5  # close is 102.0
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.startswith(f"{BAD_ROW}: high >= max(open, close)")
    assert "high=101.5" in problem
    assert "close=102.0" in problem


def test_low_above_open_or_close():
    frame = prices_frame()
    frame.loc[1, "low"] = 101.5  # open is 101.0
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.startswith(f"{BAD_ROW}: min(open, close) >= low")
    assert "low=101.5" in problem
    assert "open=101.0" in problem


@pytest.mark.parametrize("close", [0.0, -3.0])
def test_close_not_positive(close):
    frame = prices_frame()
    frame.loc[1, "close"] = close
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert f"{BAD_ROW}: column 'close' failed greater_than(0) (value {close})" in error.problems
    # a non-positive close is also below the low: that rule is reported on the same row
    assert all(p.startswith(BAD_ROW) for p in error.problems)


@pytest.mark.parametrize("low", [0.0, -1.0])
def test_low_not_positive(low):
    frame = prices_frame()
    frame.loc[1, "low"] = low
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert error.problems == [f"{BAD_ROW}: column 'low' failed greater_than(0) (value {low})"]


def test_negative_volume():
    frame = prices_frame()
    frame["volume"] = pd.array([10, -5, 30], dtype="Int64")
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert error.problems == [
        f"{BAD_ROW}: column 'volume' failed greater_than_or_equal_to(0) (value -5)"
    ]


def test_null_close():
    frame = prices_frame()
    frame.loc[1, "close"] = None
    error = _error(frame, PRICES)
    assert error.problems == [f"{BAD_ROW}: column 'close' failed not_nullable (value nan)"]


def test_non_numeric_close():
    frame = prices_frame()
    frame["close"] = frame["close"].astype(object)
    frame.loc[1, "close"] = "n/a"
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert f"{BAD_ROW}: column 'close' failed coerce_dtype('float64') (value n/a)" in (
        error.problems
    )
    assert "column 'close'" in str(error)


def test_unexpected_extra_column():
    frame = prices_frame()
    frame["currency"] = "USD"
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert error.problems == ["the frame as a whole: unexpected column 'currency'"]


def test_unexpected_extra_column_is_named():
    frame = prices_frame()
    frame["currency"] = "USD"
    assert "currency" in str(_error(frame, PRICES))


def test_missing_column():
    frame = prices_frame().drop(columns="source")
    error = _error(frame, PRICES)
    _assert_header(error, "prices")
    assert error.problems == ["the frame as a whole: missing column 'source'"]


def test_row_position_with_a_labelled_index():
    frame = prices_frame()
    frame.index = [10, 11, 12]
    frame.loc[11, "low"] = -1.0
    error = _error(frame, PRICES)
    assert error.problems == [f"{BAD_ROW}: column 'low' failed greater_than(0) (value -1.0)"]


def test_row_position_with_duplicate_index_labels():
    frame = prices_frame()
    frame.index = [0, 0, 1]
    frame.iloc[1, frame.columns.get_loc("low")] = -1.0
    error = _error(frame, PRICES)
    assert error.problems == [f"{BAD_ROW}: column 'low' failed greater_than(0) (value -1.0)"]


# -- rates and estimates ----------------------------------------------------------------
def test_rates_duplicate_key():
    frame = rates_frame()
    frame.loc[1, "observation_date"] = pd.Timestamp("2024-01-02")
    error = _error(frame, RATES)
    _assert_header(error, "rates")
    assert error.problems == [
        "row 0 (series_id=DFF, observation_date=2024-01-02): "
        "duplicate key (series_id, observation_date)",
        "row 1 (series_id=DFF, observation_date=2024-01-02): "
        "duplicate key (series_id, observation_date)",
    ]


def test_rates_null_value():
    frame = rates_frame()
    frame.loc[2, "value"] = None
    error = _error(frame, RATES)
    _assert_header(error, "rates")
    assert error.problems == [
        "row 2 (series_id=DGS2, observation_date=2024-01-02): "
        "column 'value' failed not_nullable (value nan)"
    ]


def test_rates_value_out_of_range():
    frame = rates_frame()
    frame.loc[1, "value"] = 533.0  # basis points instead of percent
    error = _error(frame, RATES)
    assert error.problems == [
        "row 1 (series_id=DFF, observation_date=2024-01-03): "
        "column 'value' failed in_range(-1.0, 25.0) (value 533.0)"
    ]


def test_estimates_null_universe():
    frame = estimates_frame()
    frame.loc[1, "universe"] = None
    error = _error(frame, ESTIMATES)
    _assert_header(error, "estimates")
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.startswith("row 1 (universe=")
    assert "fiscal_year=2025, as_of_date=2024-07-01" in problem
    assert "column 'universe' failed not_nullable" in problem


def test_estimates_duplicate_key():
    frame = estimates_frame()
    frame.loc[1, "fiscal_year"] = 2024
    error = _error(frame, ESTIMATES)
    _assert_header(error, "estimates")
    assert (
        "row 1 (universe=sp500, fiscal_year=2024, as_of_date=2024-07-01): "
        "duplicate key (universe, fiscal_year, as_of_date)"
    ) in error.problems


# -- many problems ----------------------------------------------------------------------
def _thirty_bad_rows():
    n = 30
    return pd.DataFrame(
        {
            "symbol": [f"S{i:02d}" for i in range(n)],
            "session_date": pd.Timestamp("2024-01-02"),
            "open": 1.0,
            "high": 2.0,
            "low": -1.0,
            "close": 1.5,
            "adj_close": 1.5,
            "volume": 1,
            "source": "test",
        }
    )


def test_many_problems_are_capped():
    error = _error(_thirty_bad_rows(), PRICES)
    assert MAX_REPORTED_PROBLEMS == 20
    assert len(error.problems) == 20
    message = str(error)
    assert "(30 problem(s))" in message
    assert message.endswith("\n  ... and 10 more")
    assert message.count("\n  - ") == 20
    assert all("column 'low' failed greater_than(0)" in p for p in error.problems)
    assert len(set(error.problems)) == 20


def test_many_problems_reports_the_first_rows_in_order():
    error = _error(_thirty_bad_rows(), PRICES)
    assert [p.split(" ")[1] for p in error.problems] == [str(i) for i in range(20)]


# -- dates: XNYS sessions, nothing after today in New York -------------------------------
TODAY = date(2024, 3, 28)


def test_a_price_on_a_saturday_names_provider_symbol_and_date():
    frame = prices_frame()
    frame.loc[1, "session_date"] = pd.Timestamp("2024-01-06")
    error = _error(frame, PRICES, TODAY)
    assert str(error) == (
        "provider 'acme' returned an invalid prices frame (1 problem(s)):\n"
        "  - row 1 (symbol=SPX, session_date=2024-01-06): session_date 2024-01-06 is not an "
        "XNYS session (a Saturday)"
    )


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        ("2024-01-15", "a Monday the exchange was closed"),  # Martin Luther King Jr. Day
        ("2023-04-07", "a Friday the exchange was closed"),  # Good Friday
        ("2024-01-07", "a Sunday"),
        ("1989-12-29", "before 1990-01-02, where the calendar starts"),
    ],
)
def test_a_price_on_a_day_without_a_session_is_refused(day, reason):
    frame = prices_frame()
    frame.loc[2, "session_date"] = pd.Timestamp(day)
    error = _error(frame, PRICES, TODAY)
    assert error.problems == [
        f"row 2 (symbol=RUT, session_date={day}): session_date {day} is not an XNYS session "
        f"({reason})"
    ]


def test_a_price_after_today_in_new_york_is_refused_and_today_passes():
    frame = prices_frame()  # sessions 2024-01-02 and 2024-01-03
    validate(frame, PRICES, PROVIDER, today=date(2024, 1, 3))
    error = _error(frame, PRICES, date(2024, 1, 2))
    assert error.problems == [
        "row 1 (symbol=SPX, session_date=2024-01-03): session_date 2024-01-03 is after today "
        "in New York (2024-01-02)"
    ]


def test_date_problems_and_other_rules_are_reported_in_row_order():
    frame = prices_frame()
    frame.loc[0, "session_date"] = pd.Timestamp("2024-01-06")
    frame.loc[1, "low"] = -1.0
    frame.loc[2, "session_date"] = pd.Timestamp("2024-04-01")
    error = _error(frame, PRICES, TODAY)
    assert error.problems == [
        "row 0 (symbol=SPX, session_date=2024-01-06): session_date 2024-01-06 is not an XNYS "
        "session (a Saturday)",
        "row 1 (symbol=SPX, session_date=2024-01-03): column 'low' failed greater_than(0) "
        "(value -1.0)",
        "row 2 (symbol=RUT, session_date=2024-04-01): session_date 2024-04-01 is after today "
        "in New York (2024-03-28)",
    ]


def test_rates_may_fall_on_any_day_but_not_after_today():
    frame = rates_frame()
    frame.loc[0, "observation_date"] = pd.Timestamp("2024-01-06")  # DFF is daily
    assert validate(frame, RATES, PROVIDER, today=TODAY)["observation_date"].min() == (
        pd.Timestamp("2024-01-02")
    )
    frame.loc[1, "observation_date"] = pd.Timestamp("2024-03-29")
    error = _error(frame, RATES, TODAY)
    assert error.problems == [
        "row 1 (series_id=DFF, observation_date=2024-03-29): observation_date 2024-03-29 is "
        "after today in New York (2024-03-28)"
    ]


def test_an_estimate_from_the_future_is_refused_against_the_clock():
    frame = estimates_frame()
    frame.loc[0, "as_of_date"] = pd.Timestamp("2099-01-01")
    error = _error(frame, ESTIMATES)  # today from the clock, in New York
    [problem] = error.problems
    assert re.fullmatch(
        r"row 0 \(universe=sp500, fiscal_year=2024, as_of_date=2099-01-01\): as_of_date "
        r"2099-01-01 is after today in New York \(\d{4}-\d{2}-\d{2}\)",
        problem,
    )


@pytest.mark.parametrize(
    ("now", "today"),
    [
        (datetime(2026, 12, 2, 3, 0, tzinfo=UTC), date(2026, 12, 1)),  # 22:00 EST
        (datetime(2026, 12, 2, 5, 0, tzinfo=UTC), date(2026, 12, 2)),  # 00:00 EST
        (datetime(2026, 7, 1, 3, 59), date(2026, 6, 30)),  # naive is UTC; 23:59 EDT
        (datetime(2026, 7, 1, 4, 0), date(2026, 7, 1)),
    ],
)
def test_today_is_the_date_in_new_york(now, today):
    assert today_in_new_york(now) == today


def test_a_price_that_is_not_finite_is_refused():
    frame = prices_frame()
    frame.loc[1, "adj_close"] = float("inf")
    error = _error(frame, PRICES, TODAY)
    assert error.problems == [f"{BAD_ROW}: column 'adj_close' failed finite (value inf)"]


@pytest.mark.parametrize("year", [1989, 2101])
def test_a_fiscal_year_outside_the_warehouse_range_is_refused(year):
    frame = estimates_frame()
    frame.loc[2, "fiscal_year"] = year
    error = _error(frame, ESTIMATES)
    assert error.problems == [
        f"row 2 (universe=russell_2000, fiscal_year={year}, as_of_date=2024-07-01): column "
        f"'fiscal_year' failed in_range(1990, 2100) (value {year})"
    ]


# -- the dbt tests the warehouse runs on the same columns --------------------------------
def _dbt_range(folder: str, model: str, column: str) -> dict:
    [path] = (DBT_PROJECT_DIR / "models" / "staging" / folder).glob("_*__models.yml")
    models = {m["name"]: m for m in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]}
    [ranges] = [
        t["row_rules"]["arguments"]["ranges"]
        for t in models[model]["data_tests"]
        if isinstance(t, dict) and "row_rules" in t
    ]
    return ranges[column]


def _statistics(dataset, column: str) -> dict:
    [check] = [c for c in dataset.schema.columns[column].checks if c.name != "finite"]
    return check.statistics


def test_no_boundary_range_is_looser_than_the_dbt_test():
    value = _statistics(RATES, "value")
    rate = _dbt_range("fred", "stg_fred__rates", "rate_pct")
    # Narrower than the dbt test: the blocking raw check wants -1 .. 25.
    assert (value["min_value"], value["max_value"]) == (-1.0, 25.0)
    assert rate["min_value"] <= value["min_value"] < value["max_value"] <= rate["max_value"]

    year = _statistics(ESTIMATES, "fiscal_year")
    fiscal = _dbt_range("estimates", "stg_estimates__eps_growth", "fiscal_year")
    assert (year["min_value"], year["max_value"]) == (fiscal["min_value"], fiscal["max_value"])

    growth = _statistics(ESTIMATES, "eps_growth_pct")
    fraction = _dbt_range("estimates", "stg_estimates__eps_growth", "eps_growth")
    assert (growth["min_value"], growth["max_value"]) == (
        fraction["min_value"] * 100,
        fraction["max_value"] * 100,
    )

    returns = _dbt_range("market", "stg_market__prices", "daily_return")
    assert (returns["min_value"], returns["max_value"]) == RETURN_BOUNDS
    for column in ("low", "close"):
        bound = _dbt_range("market", "stg_market__prices", column)
        assert (bound["min_value"], bound.get("inclusive")) == (0, False)
        assert _statistics(PRICES, column) == {"min_value": 0}  # greater_than(0): exclusive
    assert _dbt_range("market", "stg_market__prices", "volume") == {"min_value": 0}
    assert _statistics(PRICES, "volume") == {"min_value": 0}


IMPORT_PROBE = """
import importlib.util, sys
import ingestion.schemas
print(importlib.util.find_spec("pyspark") is not None, "pyspark.pandas" in sys.modules,
      "setuptools" in sys.modules)
"""


def test_pandera_loads_without_its_try_of_pyspark_pandas() -> None:
    """With pyspark installed, pandera's import of pyspark.pandas (which fails without
    pyarrow) is not made, and leaves nothing behind that would refuse it later."""
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if out[0] != "True":
        pytest.skip("pyspark is not installed: pandera has nothing to try")
    assert out[1:] == ["False", "False"]
    import ingestion.pandera_import  # noqa: F401  (already imported: the module state)

    assert sys.modules.get("pyspark.pandas", "absent") is not None
