"""Canary values for every secret (FRED_API_KEY, TIINGO_API_KEY, ALERT_WEBHOOK_URL) through a
failing run on a persistent Dagster instance: servers that quote the keys back, a failed run
posted to a failing webhook. Afterwards no file written (run storage, event logs, compute
logs, landing files, the warehouse, the serving folder), no log record, no console output,
no run tag or config and no row of raw.load_log holds any of them."""

import json
import logging
import re
import shutil
from pathlib import Path

import duckdb
from dagster import DagsterInstance, build_run_status_sensor_context, materialize

from ingestion.paths import PROJECT_ROOT
from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.monitoring.sensors import run_failure_alert_sensor
from orchestration.shared import build_resources

FRED_KEY = "fredcanary5f2d8c1e9b7a4630"
TIINGO_KEY = "tiingocanary0c4b9e2f7a1d5836"
HOOK_TOKEN = "hookcanary8e1f4a7c2b9d0635"
CANARIES = (FRED_KEY, TIINGO_KEY, HOOK_TOKEN)


def _fred_observations(request):
    from werkzeug import Response

    series = request.args.get("series_id")
    if series == "DGS10":  # an error page quoting the key back, as FRED's do
        body = {"error_code": 400, "error_message": f"Bad Request. api_key {FRED_KEY} unknown"}
        return Response(json.dumps(body), status=400, content_type="application/json")
    rows = [
        {"realtime_start": "2024-03-28", "realtime_end": "2024-03-28", "date": d, "value": v}
        for d, v in (("2024-03-26", "4.62"), ("2024-03-27", "4.55"), ("2024-03-28", "4.59"))
    ]
    body = {
        "realtime_start": "2024-03-28",
        "realtime_end": "2024-03-28",
        "observation_start": "2024-03-26",
        "observation_end": "2024-03-28",
        "units": "lin",
        "output_type": 1,
        "file_type": "json",
        "order_by": "observation_date",
        "sort_order": "asc",
        "count": len(rows),
        "offset": 0,
        "limit": 100000,
        "observations": rows,
    }
    return Response(json.dumps(body), status=200, content_type="application/json")


def _everything_written(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_no_secret_reaches_any_artifact(httpserver, monkeypatch, tmp_path, caplog, capsys):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
    landing = tmp_path / "landing"
    env = {
        "DAGSTER_HOME": str(home),
        "FRED_API_KEY": FRED_KEY,
        "TIINGO_API_KEY": TIINGO_KEY,
        "ALERT_WEBHOOK_URL": httpserver.url_for(f"/hooks/{HOOK_TOKEN}"),
        "RATES_PROVIDER": "fred",
        "PRICES_PROVIDER": "tiingo",
        "FRED_API_BASE_URL": httpserver.url_for("/fred/series/observations"),
        "TIINGO_BASE_URL": httpserver.url_for("/tiingo/"),
        "LANDING_DIR": str(landing),
        "HISTORY_START": "2024-03-26",
        "SAMPLE_END_DATE": "2024-03-28",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    httpserver.expect_request("/fred/series/observations").respond_with_handler(_fred_observations)
    # Tiingo refuses the key and quotes it; every symbol fails, so the run fails.
    httpserver.expect_request(re.compile(r"^/tiingo/")).respond_with_json(
        {"detail": f"Invalid token {TIINGO_KEY}."}, status=401
    )
    httpserver.expect_request(f"/hooks/{HOOK_TOKEN}", method="POST").respond_with_data(
        "down", status=500
    )
    caplog.set_level(logging.DEBUG)

    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    with DagsterInstance.from_config(str(home)) as instance:
        result = materialize(
            ingestion_assets,
            resources=build_resources(str(warehouse)),
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=failure,
        ).for_run_failure()
        run_failure_alert_sensor(context)
        records = instance.all_logs(result.run_id)
        run = instance.get_run_by_id(result.run_id)

    # The keys were really used, and the alert really sent ...
    requests = [request for request, _response in httpserver.log]
    assert {r.args.get("api_key") for r in requests if r.path.startswith("/fred/")} == {FRED_KEY}
    assert {r.headers.get("Authorization") for r in requests if r.path.startswith("/tiingo/")} == {
        f"Token {TIINGO_KEY}"
    }
    [alert] = [r for r in requests if r.path.startswith("/hooks/")]
    # ... and the 401 and 400 bodies were kept, with the key taken out.
    kept = [p.read_bytes() for p in landing.rglob("*.json")]
    assert any(b"Invalid token <redacted>." in body for body in kept)
    assert any(b"api_key <redacted> unknown" in body for body in kept)

    # The settings of the run's own connection, which DuckDB may still hold in this process.
    with duckdb.connect(str(warehouse), config={"custom_user_agent": "dagster"}) as con:
        logged = con.execute("select coalesce(error, '') from raw.load_log").fetchall()
    assert any("HTTP 401" in error for (error,) in logged)
    output = capsys.readouterr()
    texts = {
        "event log": "\n".join(str(record) for record in records),
        "run tags and config": json.dumps([run.tags, run.run_config], default=str),
        # werkzeug is the test's HTTP server, standing in for the provider's side.
        "python logs": "\n".join(
            record.getMessage() for record in caplog.records if record.name != "werkzeug"
        ),
        "console": output.out + output.err,
        "raw.load_log": "\n".join(error for (error,) in logged),
        "alert body": alert.get_data(as_text=True),
    }
    for path in _everything_written(tmp_path):
        texts[str(path.relative_to(tmp_path))] = path.read_bytes().decode("latin-1")
    assert any("sqlite" in name or "storage" in name for name in texts)  # run storage on disk
    leaks = sorted(
        f"{where}: {canary[:10]}"
        for where, text in texts.items()
        for canary in CANARIES
        if canary in text
    )
    assert leaks == []
