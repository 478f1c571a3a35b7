"""Injection strings through every entry point that takes names from configuration or files:
each is refused with an error naming where it came from, or (paths) used literally; nothing
stored changes and no statement but the pipeline's own ever runs."""

import shutil
from pathlib import Path

import duckdb
import pytest

from ingestion import cli
from ingestion.config import ConfigError, Settings
from ingestion.landing import estimates_zone, process_landing_zone
from ingestion.loader import connect, ensure_raw_schema
from ingestion.paths import SEEDS_DIR
from ingestion.providers import ProviderContext, ProviderError, get_provider
from ingestion.publish import publish
from ingestion.refresh import load_landing_file
from ingestion.universe import UniverseError, load_universe

HOSTILE = [
    "RUT'; drop table raw.prices; --",
    'RUT"; select 1; --',
    "RUT;",
    "../../etc/passwd",
    "RUT\nDROP TABLE x",
    "$(touch /tmp/x)",
    "RUT' or '1'='1",
]
# (seed file, the value replaced, the column named in the error)
SEED_FIELDS = [
    ("instruments.csv", "\nRUT,Russell 2000 Index", "symbol"),
    ("instruments.csv", ",RUT,^RUT,^RUT,", "yahoo_code"),
    ("rate_series.csv", "\nDGS2,", "series_id"),
    ("estimate_universes.csv", "\nsp500,", "universe"),
    ("pairs.csv", "\nrut_vs_spx,", "pair_id"),
    ("pairs.csv", ",RUT,IXIC,", "long_symbol"),
]


def _seed_value(field: str, text: str) -> str:
    return {
        "symbol": f"\n{text},Russell 2000 Index",
        "yahoo_code": f",RUT,{text},^RUT,",
        "series_id": f"\n{text},",
        "universe": f"\n{text},",
        "pair_id": f"\n{text},",
        "long_symbol": f",{text},IXIC,",
    }[field]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize(("seed", "old", "field"), SEED_FIELDS)
def test_seed_values_are_refused(tmp_path, seed, old, field, text):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    path = seeds / seed
    body = path.read_text(encoding="utf-8")
    assert body.count(old) == 1
    # Quoted as CSV, so the value arrives whole, quotes and newlines included.
    value = _seed_value(field, '"' + text.replace('"', '""') + '"')
    path.write_text(body.replace(old, value), encoding="utf-8")
    with pytest.raises(UniverseError) as caught:
        load_universe(seeds)
    message = str(caught.value)
    assert message.startswith(f"{seed} line ")
    assert field in message


@pytest.fixture
def con(warehouse_path):
    connection = connect(warehouse_path)
    ensure_raw_schema(connection)
    connection.execute(
        "insert into raw.earnings_estimates values "
        "('sp500', 2024, '2024-03-01', 8.0, 'desk', now()::timestamp, 'l1')"
    )
    yield connection
    connection.close()


def _tables(con) -> list[tuple]:
    return con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables() order by all"
    ).fetchall()


@pytest.mark.parametrize("text", HOSTILE)
def test_landing_file_values_are_quarantined(con, tmp_path, text):
    zone = tmp_path / "landing" / "estimates"
    zone.mkdir(parents=True)
    quoted = '"' + text.replace('"', '""') + '"'
    (zone / "drop.csv").write_text(
        f"as_of_date,universe,fiscal_year,eps_growth_pct,source\n2024-03-01,{quoted},2024,5,\n",
        encoding="utf-8",
    )
    before = _tables(con)
    report = process_landing_zone(con, zone, lambda _message: None)
    assert list(report.quarantined) == ["drop.csv"]
    assert "is not a universe name" in report.quarantined["drop.csv"]
    assert _tables(con) == before
    assert con.execute("select count(*) from raw.earnings_estimates").fetchone() == (1,)


@pytest.mark.parametrize(
    "name", ["../../outside.csv", "/etc/passwd.csv", "..", "a/../../b.csv", "x.csv; rm -rf /"]
)
def test_a_landing_file_name_from_run_config_cannot_leave_the_zone(con, tmp_path, name):
    """The landing sensor's run config names the file; a path is refused, not followed."""
    settings = Settings.from_env(
        {"SAMPLE_END_DATE": "2024-03-28", "LANDING_DIR": str(tmp_path / "landing")}
    )
    zone = estimates_zone(settings)
    zone.mkdir(parents=True)
    outside = tmp_path / "outside.csv"
    outside.write_text(
        "as_of_date,universe,fiscal_year,eps_growth_pct\n2024-03-01,sp500,2024,99\n",
        encoding="utf-8",
    )
    report = load_landing_file(con, settings, name, lambda _message: None)
    assert report.loads == []
    [(key, reason)] = report.failures.items()
    assert key == f"landing file {name}"
    assert "not a file name of the landing zone" in reason
    assert outside.is_file()  # neither loaded nor moved
    assert con.execute("select eps_growth_pct from raw.earnings_estimates").fetchall() == [(8.0,)]


@pytest.mark.parametrize("text", HOSTILE)
def test_settings_refuse_hostile_values(text):
    for name in ("HISTORY_START", "SAMPLE_END_DATE", "REFRESH_LOOKBACK_SESSIONS"):
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({"SAMPLE_END_DATE": "2024-03-28", name: text})
        assert name in str(caught.value)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_provider_name_is_refused(universe, text):
    settings = Settings.from_env({"SAMPLE_END_DATE": "2024-03-28", "MARKET_DATA_PROVIDER": text})
    with pytest.raises(ProviderError) as caught:
        get_provider(settings.provider, ProviderContext(universe, settings, {}))
    assert "is not known" in str(caught.value)


QUOTED_FOLDER = "it's; drop table marts.x; --"


def _tiny_warehouse(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create schema universe")
        con.execute(
            "create table marts.market_pulse_daily as select date '2024-03-28' as session_date"
        )
        con.execute("create table universe.pairs as select 'rut_vs_spx' as pair_id")


def test_paths_with_quotes_are_used_literally_by_publish_and_the_cli(tmp_path, capsys):
    """ATTACH and COPY take no parameters: paths are escaped literals, never SQL."""
    warehouse = tmp_path / "warehouse.duckdb"
    _tiny_warehouse(warehouse)
    serving_dir = tmp_path / QUOTED_FOLDER
    with duckdb.connect(str(warehouse)) as con:
        publication = publish(con, serving_dir, run_id="x'); drop table marts.x; --")
        assert con.execute("select count(*) from marts.market_pulse_daily").fetchone() == (1,)
    assert publication.serving_path == serving_dir / "serving.duckdb"
    assert (serving_dir / "parquet" / "market_pulse_daily.parquet").is_file()
    code = cli.main(
        ["--serving", str(publication.serving_path), "query", "select run_id from meta.publication"]
    )
    assert code == 0
    assert "x'); drop table marts.x; --" in capsys.readouterr().out
    code = cli.main(
        ["--serving", str(publication.serving_path), "describe", "x'; drop table marts.x; --"]
    )
    assert code == 2
    assert "unknown mart" in capsys.readouterr().err
