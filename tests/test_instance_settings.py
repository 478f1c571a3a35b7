"""What the checked-in configuration promises: the run queue and the warehouse pool of
dagster.yaml as Dagster reads them, the UI on 127.0.0.1 only, and a strict `make audit`."""

import shutil
import subprocess

from dagster import DagsterInstance

from ingestion.paths import PROJECT_ROOT


def test_dagster_yaml_queues_runs_and_serialises_warehouse_steps(tmp_path):
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", tmp_path)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert config.pool_config.default_pool_limit == 1
        assert config.pool_config.pool_granularity.value == "op"
        assert config.run_queue_config.max_concurrent_runs == 2
        assert config.run_queue_config.tag_concurrency_limits == [
            {"key": "landing_file", "limit": 1}
        ]
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 60


def _recipe(target: str) -> str:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_ui_listens_on_localhost_only():
    # orchestration.ui hands its options to `dagster dev` as they are
    [command] = [line for line in _recipe("ui").splitlines() if "orchestration.ui" in line]
    assert " -h 127.0.0.1 " in command


def test_make_audit_checks_every_pin_strictly():
    [command] = [line for line in _recipe("audit").splitlines() if "pip-audit" in line]
    assert "--requirement requirements.lock" in command
    assert "--strict" in command
