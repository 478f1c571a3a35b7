"""Every mart built through Dagster from real history in ../shared/data/real (files provider).

Skipped when the folder is absent. Expected values are worked by hand from the files.
"""

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from ingestion.paths import PROJECT_ROOT
from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import raw_checks
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.shared import MarketDataResource, build_resources

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
MISSING = ["AMD", "ANF", "CSCO", "ONEQ", "PARR", "TXRH"]  # per the folder's README

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (REAL / "prices").is_dir(), reason=f"no real data at {REAL}"),
]


@pytest.fixture(scope="module")
def real_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    path = folder / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARKET_DATA_DIR", str(REAL))
        patch.setenv("LANDING_DIR", str(folder / "landing"))
        resources = {
            **build_resources(str(path)),
            "market_data": MarketDataResource(
                provider="files", history_start="2024-06-03", end_date="2026-08-21"
            ),
        }
        result = materialize(
            [*ingestion_assets, warehouse_dbt_models, *raw_checks],
            resources=resources,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    return path, result


def _one(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()


def test_the_build_succeeds_and_names_every_missing_symbol(real_build):
    _path, result = real_build
    assert result.success
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    missing = checks[("raw/prices", "every_symbol_loaded")]
    assert not missing.passed
    assert missing.metadata["failed"].value == MISSING
    for symbol in MISSING:
        assert f"{symbol}: files: no price file for symbol '{symbol}'" in missing.description
    assert checks[("raw/rates", "every_series_loaded")].passed
    # Everything dbt tests (including the marts' invariants) passes on real data.
    dbt_failures = [
        name for (asset, name), e in checks.items() if not e.passed and not asset.startswith("raw/")
    ]
    assert dbt_failures == []


def test_missing_symbols_are_absent_not_invented(real_build):
    path, _result = real_build
    (present,) = _one(
        path,
        "select count(distinct symbol) from raw.prices where symbol in "
        "('AMD', 'ANF', 'CSCO', 'ONEQ', 'PARR', 'TXRH')",
    )
    assert present == 0
    (symbols,) = _one(path, "select count(distinct symbol) from raw.prices")
    assert symbols == 30


def test_rut_vs_spx_on_the_last_session_worked_by_hand(real_build):
    path, _result = real_build
    spread_1d, spread_ytd = _one(
        path,
        "select spread_1d, spread_ytd from marts.divergence_daily "
        "where pair_id = 'rut_vs_spx' and session_date = '2026-08-21'",
    )
    # RUT.csv lines 2552-2553: close 2992.43 then 3017.87; SPX.csv: 7641.16 then 7674.37.
    assert spread_1d == pytest.approx(3017.87 / 2992.43 - 7674.37 / 7641.16, abs=1e-12)
    # Year end (line 2393 of both): RUT 2481.91, SPX 6845.5.
    assert spread_ytd == pytest.approx(3017.87 / 2481.91 - 7674.37 / 6845.5, abs=1e-12)


def test_the_fed_cuts_of_2024_and_2025_are_policy_events(real_build):
    path, _result = real_build
    with duckdb.connect(str(path), read_only=True) as con:
        events = con.execute(
            "select event_date::varchar, action, change_bps, target_upper "
            "from marts.policy_events order by event_date"
        ).fetchall()
    # DFEDTARU.csv: 5.50 -> 5.00 on 2024-09-19, then 25 bp cuts on 2024-11-08, 2024-12-19,
    # 2025-09-18, 2025-10-30 and 2025-12-11.
    assert events[:6] == [
        ("2024-09-19", "cut", -50.0, 5.0),
        ("2024-11-08", "cut", -25.0, 4.75),
        ("2024-12-19", "cut", -25.0, 4.5),
        ("2025-09-18", "cut", -25.0, 4.25),
        ("2025-10-30", "cut", -25.0, 4.0),
        ("2025-12-11", "cut", -25.0, 3.75),
    ]


def test_every_mart_has_rows(real_build):
    path, _result = real_build
    with duckdb.connect(str(path), read_only=True) as con:
        marts = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        empty = [
            m for m in marts if con.execute(f'select count(*) from marts."{m}"').fetchone()[0] == 0
        ]
    # No estimates in the folder: the two earnings marts are empty, everything else is not.
    assert sorted(empty) == ["earnings_growth_gap", "earnings_outlook"]
    assert len(marts) == 13


def test_stock_performance_covers_every_stock_with_a_price_file(real_build):
    path, _result = real_build
    with duckdb.connect(str(path), read_only=True) as con:
        stocks = {
            row[0]
            for row in con.execute(
                "select symbol from universe.instruments where kind = 'stock'"
            ).fetchall()
        }
        weeks = dict(
            con.execute(
                "select symbol, count(*) from marts.stock_performance_weekly group by symbol"
            ).fetchall()
        )
        (last_week,) = con.execute(
            "select max(week_ending) from marts.stock_performance_weekly"
        ).fetchone()
    with_files = {symbol for symbol in stocks if (REAL / "prices" / f"{symbol}.csv").is_file()}
    assert stocks - with_files == {"AMD", "ANF", "CSCO", "PARR", "TXRH"}
    assert set(weeks) == with_files
    # 2024-06-07 to 2026-08-21: 116 ISO weeks, every one closing on a session with prices.
    assert set(weeks.values()) == {116}
    assert str(last_week) == "2026-08-21"


def test_rut_vs_spx_has_relative_cycles_on_real_history(real_build):
    path, _result = real_build
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select peak_date, depth, recovery_date, sessions_underwater, is_current, "
            "rank_by_duration from marts.relative_cycles where pair_id = 'rut_vs_spx' "
            "order by peak_date"
        ).fetchall()
        (latest_since,) = con.execute(
            "select max_by(sessions_since_rs_high, session_date) from marts.divergence_daily "
            "where pair_id = 'rut_vs_spx'"
        ).fetchone()
    assert rows
    assert all(depth <= -0.05 for _peak, depth, *_ in rows)
    assert sum(is_current for *_, is_current, _rank in rows) <= 1
    assert min(rank for *_, rank in rows) == 1
    for _peak, _depth, recovery, sessions, is_current, _rank in rows:
        assert is_current == (recovery is None)
        if is_current:
            assert sessions == latest_since
