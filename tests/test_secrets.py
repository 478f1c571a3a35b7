"""API keys reach providers from the environment and never show up in what a run
records: event logs, metadata, check descriptions or landing file names."""

import json

from dagster import DagsterInstance, materialize

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.shared import build_resources

CANARY = "canarykey0123456789abcdef0123456"


def _observations():
    rows = [
        {"realtime_start": "2024-03-28", "realtime_end": "2024-03-28", "date": d, "value": v}
        for d, v in (("2024-03-26", "4.62"), ("2024-03-27", "4.55"), ("2024-03-28", "4.59"))
    ]
    return {
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


def test_the_fred_key_is_used_but_never_recorded(httpserver, monkeypatch, tmp_path):
    monkeypatch.setenv("FRED_API_KEY", CANARY)
    monkeypatch.setenv("RATES_PROVIDER", "fred")
    monkeypatch.setenv("FRED_API_BASE_URL", httpserver.url_for("/fred/series/observations"))
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("HISTORY_START", "2024-03-26")
    monkeypatch.setenv("SAMPLE_END_DATE", "2024-03-28")
    httpserver.expect_request("/fred/series/observations").respond_with_json(_observations())

    resources = build_resources(str(tmp_path / "warehouse.duckdb"))
    instance = DagsterInstance.ephemeral()
    result = materialize([ingestion_assets[2]], resources=resources, instance=instance)
    assert result.success

    # The key was sent to the server ...
    sent = [request.args.get("api_key") for request, _response in httpserver.log]
    assert sent == [CANARY] * 5
    # ... and appears nowhere in the run's records or on disk.
    records = instance.all_logs(result.run_id)
    text = json.dumps([str(record) for record in records])
    assert CANARY not in text
    assert all(CANARY not in str(path) for path in (tmp_path / "landing").rglob("*"))
