"""Settings.from_env: defaults, path resolution and the errors bad values raise."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from ingestion.calendar import is_session
from ingestion.config import ConfigError, Settings
from ingestion.paths import PROJECT_ROOT

END = {"SAMPLE_END_DATE": "2024-06-28"}


def test_defaults():
    settings = Settings.from_env(END)
    assert settings.provider == "sample"
    assert settings.history_start == date(2015, 1, 1)
    assert settings.lookback_sessions == 5
    assert settings.end_date == date(2024, 6, 28)
    assert settings.warehouse_path == PROJECT_ROOT / "data" / "warehouse.duckdb"
    assert settings.warehouse_path.is_absolute()


def test_defaults_with_an_empty_environment():
    settings = Settings.from_env({})
    assert settings.provider == "sample"
    assert settings.history_start == date(2015, 1, 1)
    assert settings.lookback_sessions == 5
    assert settings.warehouse_path == PROJECT_ROOT / "data" / "warehouse.duckdb"
    # no SAMPLE_END_DATE: the last completed NYSE session, which is recent and a session
    assert is_session(settings.end_date)
    assert date.today() - timedelta(days=10) <= settings.end_date <= date.today()


def test_empty_values_fall_back_to_defaults():
    env = {
        **END,
        "WAREHOUSE_PATH": "",
        "MARKET_DATA_PROVIDER": "  ",
        "HISTORY_START": " ",
    }
    settings = Settings.from_env(env)
    assert settings.warehouse_path == PROJECT_ROOT / "data" / "warehouse.duckdb"
    assert settings.provider == "sample"
    assert settings.history_start == date(2015, 1, 1)


def test_values_are_read():
    env = {
        "SAMPLE_END_DATE": " 2024-04-05 ",
        "HISTORY_START": "2023-11-01",
        "REFRESH_LOOKBACK_SESSIONS": "12",
        "MARKET_DATA_PROVIDER": " Sample ",
    }
    settings = Settings.from_env(env)
    assert settings.end_date == date(2024, 4, 5)
    assert settings.history_start == date(2023, 11, 1)
    assert settings.lookback_sessions == 12
    assert settings.provider == "sample"


def test_relative_warehouse_path_is_resolved_from_the_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({**END, "WAREHOUSE_PATH": "build/wh.duckdb"})
    assert settings.warehouse_path == PROJECT_ROOT / "build" / "wh.duckdb"
    assert settings.warehouse_path.is_absolute()
    assert tmp_path not in settings.warehouse_path.parents


def test_relative_warehouse_path_with_parent_steps_is_normalised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({**END, "WAREHOUSE_PATH": "../elsewhere/wh.duckdb"})
    assert settings.warehouse_path == PROJECT_ROOT.parent / "elsewhere" / "wh.duckdb"


def test_absolute_warehouse_path_is_kept(tmp_path):
    target = tmp_path / "somewhere" / "wh.duckdb"
    settings = Settings.from_env({**END, "WAREHOUSE_PATH": str(target)})
    assert settings.warehouse_path == target


def test_home_in_warehouse_path_is_expanded():
    settings = Settings.from_env({**END, "WAREHOUSE_PATH": "~/wh.duckdb"})
    assert settings.warehouse_path == Path.home() / "wh.duckdb"


@pytest.mark.parametrize("name", ["HISTORY_START", "SAMPLE_END_DATE"])
@pytest.mark.parametrize("value", ["2024-13-01", "01/02/2024", "yesterday", "2024-02-30"])
def test_malformed_date_names_variable_and_value(name, value):
    env = {**END, name: value}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert name in message
    assert value in message
    assert "YYYY-MM-DD" in message


def test_history_start_after_end_date():
    env = {"SAMPLE_END_DATE": "2024-06-28", "HISTORY_START": "2024-07-01"}
    with pytest.raises(ConfigError, match=r"HISTORY_START=2024-07-01") as info:
        Settings.from_env(env)
    assert "2024-06-28" in str(info.value)


def test_history_start_equal_to_end_date_is_allowed():
    settings = Settings.from_env({"SAMPLE_END_DATE": "2024-06-28", "HISTORY_START": "2024-06-28"})
    assert settings.history_start == settings.end_date == date(2024, 6, 28)


def test_history_start_in_the_future():
    future = (date.today() + timedelta(days=30)).isoformat()
    with pytest.raises(ConfigError, match="HISTORY_START") as info:
        Settings.from_env({"HISTORY_START": future})
    assert future in str(info.value)


@pytest.mark.parametrize("value", ["five", "2.5", "-1", "5 sessions"])
def test_non_integer_lookback(value):
    with pytest.raises(ConfigError, match="REFRESH_LOOKBACK_SESSIONS") as info:
        Settings.from_env({**END, "REFRESH_LOOKBACK_SESSIONS": value})
    assert repr(value) in str(info.value)


def test_lookback_with_a_superscript_digit_is_a_config_error():
    with pytest.raises(ConfigError, match="REFRESH_LOOKBACK_SESSIONS"):
        Settings.from_env({**END, "REFRESH_LOOKBACK_SESSIONS": "²"})


def test_empty_lookback_falls_back_to_the_default():
    assert Settings.from_env({**END, "REFRESH_LOOKBACK_SESSIONS": ""}).lookback_sessions == 5


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)
