"""The benchmark's tiny mode end to end, so it never rots: every step runs, every
baseline equals the marts on the sample pairs, and the results file has its fields."""

import json

import pytest

from bench.__main__ import main


@pytest.mark.slow
@pytest.mark.long
def test_tiny_benchmark_runs_and_its_baselines_equal_the_marts(tmp_path):
    out = tmp_path / "out"
    code = main(
        [
            "--size",
            "tiny",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
            "--e2e-repeat",
            "0",
        ]
    )
    assert code == 0

    results = json.loads((out / "results.json").read_text())
    (size,) = results["sizes"]
    assert size["size"] == "tiny"
    # 12 generated stocks + the 36 default instruments; a pair per stock + the 6 defaults.
    assert size["counts"]["symbols"] == 48
    assert size["counts"]["pairs"] == 18
    # two years of XNYS sessions, the last one appended by the nightly increment
    assert 495 <= size["counts"]["sessions"] <= 510
    assert size["counts"]["prices"] == size["counts"]["symbols"] * size["counts"]["sessions"]
    assert size["counts"]["divergence_daily"] == 18 * size["counts"]["sessions"]

    checks = {c["name"]: c for c in size["checks"]}
    for name in (
        "floor: divergence_daily",
        "floor: outperformance_streaks",
        "pandas long: divergence_daily",
        "pandas long: outperformance_streaks",
        "pandas wide: divergence_daily",
        "pandas wide: outperformance_streaks",
        "polars long: divergence_daily",
        "polars long: outperformance_streaks",
    ):
        assert checks[name]["ok"], checks[name]["problems"]
        assert checks[name]["rows"] > 100
    assert checks["floor: row counts of 13 marts"]["ok"]

    expected = {
        "ingest_bulk",
        "ingest_bulk_nokey",
        "ingest_loader",
        "dbt_run_full",
        "dbt_models_sum",
        "dbt_build_full",
        "floor",
        "dbt_raced_marts",
        "floor_raced_marts",
        "pandas_long",
        "pandas_wide",
        "polars_long",
        "nightly",
    }
    assert set(size["measures"]) == expected
    for measure in size["measures"].values():
        assert measure["min"] <= measure["median"] <= measure["max"]
        assert measure["median"] > 0
        assert 50 < measure["peak_mb"] < 4096
    ingest = size["measures"]["ingest_loader"]["extra"]
    assert ingest["rows"] == size["counts"]["prices"] - size["counts"]["symbols"]
    assert size["measures"]["nightly"]["extra"]["append_seconds"] > 0

    text = (out / "results.md").read_text()
    for field in (
        "## Machine",
        "cores",
        "duckdb",
        "dbt-core",
        "| measure |",
        "vs floor",
        "Targets",
    ):
        assert field in text
    assert (out / "build_time_vs_rows.png").read_bytes()[:4] == b"\x89PNG"
