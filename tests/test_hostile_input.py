"""Injection strings through every entry point that takes names from configuration or files:
each is refused with an error naming where it came from, or (paths) used literally; nothing
stored changes and no statement but the pipeline's own ever runs.

Rows the warehouse would reject (a price on a Saturday, an estimate from 2099) stop at the
provider or landing boundary, alone: the file, line and date are named, nothing of that
key or file is stored, every other key loads and the marts are rebuilt and published."""

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingestion.config import ConfigError, Settings
from ingestion.landing import estimates_zone, process_landing_zone
from ingestion.loader import connect, ensure_raw_schema
from ingestion.paths import SEEDS_DIR
from ingestion.providers import ProviderContext, ProviderError, get_provider
from ingestion.providers.files import FilesProvider
from ingestion.providers.sample import SampleProvider
from ingestion.refresh import load_landing_file, refresh_prices
from ingestion.universe import Universe, UniverseError, load_universe
from serving import cli
from serving.publish import publish

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


# -- rows the warehouse would reject, stopped at the boundary ----------------------------
QUIET = lambda _message: None  # noqa: E731
SATURDAY = "2026-08-22"
PRICE_HEADER = "date,open,high,low,close,adj_close,volume"


def _price_lines(market: SampleProvider, symbol: str, start: date, end: date) -> list[str]:
    frame = market.prices([symbol], start, end)
    frame["date"] = frame["session_date"].dt.strftime("%Y-%m-%d")
    columns = ["date", "open", "high", "low", "close", "adj_close", "volume"]
    return frame.to_csv(columns=columns, index=False, lineterminator="\n").splitlines()[1:]


def vendor_folder(root: Path, universe: Universe, start: date, end: date) -> None:
    """A files-provider folder (prices, rates, estimates) exported from the sample market."""
    market = SampleProvider(universe)
    for symbol in universe.symbols:
        lines = [PRICE_HEADER, *_price_lines(market, symbol, start, end)]
        path = root / "prices" / f"{symbol}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "rates").mkdir(exist_ok=True)
    for series_id in universe.series_ids:
        frame = market.rates([series_id], start, end)
        frame["observation_date"] = frame["observation_date"].dt.strftime("%Y-%m-%d")
        frame = frame.rename(columns={"value": series_id})
        path = root / "rates" / f"{series_id}.csv"
        frame.to_csv(path, columns=["observation_date", series_id], index=False)
    (root / "estimates").mkdir(exist_ok=True)
    frame = market.estimates(universe.universe_names, start, end)
    frame["as_of_date"] = frame["as_of_date"].dt.strftime("%Y-%m-%d")
    frame.to_csv(root / "estimates" / "sample.csv", index=False)


def add_saturday_to_rut(root: Path) -> int:
    """Insert a RUT bar dated Saturday 2026-08-22 after Friday's; returns its line."""
    path = root / "prices" / "RUT.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    [friday] = [i for i, line in enumerate(lines) if line.startswith("2026-08-21,")]
    lines.insert(friday + 1, f"{SATURDAY},2010.0,2020.0,2000.0,2015.0,2015.0,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return friday + 2


def _files_settings(warehouse_path: Path, root: Path, end: str) -> tuple[Settings, dict]:
    env = {
        "WAREHOUSE_PATH": str(warehouse_path),
        "HISTORY_START": "2026-08-03",
        "SAMPLE_END_DATE": end,
        "MARKET_DATA_PROVIDER": "files",
        "MARKET_DATA_DIR": str(root),
    }
    return Settings.from_env(env), env


def _rows_of(con, symbol: str) -> list[tuple]:
    return con.execute(
        "select * from raw.prices where symbol = ? order by session_date", [symbol]
    ).fetchall()


@pytest.fixture
def raw(warehouse_path):
    connection = connect(warehouse_path)
    ensure_raw_schema(connection)
    yield connection
    connection.close()


def test_a_saturday_price_fails_its_symbol_alone_naming_file_line_and_date(
    raw, warehouse_path, tmp_path, universe
):
    root = tmp_path / "vendor"
    vendor_folder(root, universe, date(2026, 8, 3), date(2026, 8, 21))
    settings, env = _files_settings(warehouse_path, root, "2026-08-21")
    provider = FilesProvider(ProviderContext(universe, settings, env))
    first = refresh_prices(raw, provider, universe, settings, QUIET)
    assert first.failures == {}
    rut_before = _rows_of(raw, "RUT")
    assert rut_before[-1][1] == date(2026, 8, 21)

    # A week later the vendor's files hold the next week, and RUT.csv also a bar dated on
    # the Saturday and a restated Thursday close: none of RUT may load.
    vendor_folder(root, universe, date(2026, 8, 3), date(2026, 8, 28))
    rut = root / "prices" / "RUT.csv"
    text = rut.read_text(encoding="utf-8")
    thursday = next(line for line in text.splitlines() if line.startswith("2026-08-20,"))
    fields = thursday.split(",")
    fields[4] = str(float(fields[4]) + 1)  # close
    rut.write_text(text.replace(thursday, ",".join(fields)), encoding="utf-8")
    line = add_saturday_to_rut(root)
    assert line == 17  # header, then 15 sessions from 2026-08-03 to 2026-08-21

    settings, env = _files_settings(warehouse_path, root, "2026-08-28")
    provider = FilesProvider(ProviderContext(universe, settings, env))
    report = refresh_prices(raw, provider, universe, settings, QUIET)
    message = (
        f"files: symbol 'RUT': {rut} line 17: date 2026-08-22 is not an XNYS session (a Saturday)"
    )
    assert report.failures == {"RUT": message}
    assert _rows_of(raw, "RUT") == rut_before
    logged = raw.execute(
        "select status, error from raw.load_log where scope = 'RUT' order by started_at"
    ).fetchall()
    assert logged == [("success", None), ("failed", message)]
    # Every other symbol loaded its new week.
    last = dict(
        raw.execute("select symbol, max(session_date) from raw.prices group by all").fetchall()
    )
    current = {symbol for symbol, day in last.items() if day == date(2026, 8, 28)}
    assert current == set(universe.symbols) - {"RUT"}


class SaturdayMarket(SampleProvider):
    """The sample market with one RUT bar on a Saturday, as a live provider might send it."""

    def prices(self, symbols, start, end):
        frame = super().prices(symbols, start, end)
        if "RUT" not in symbols:
            return frame
        extra = frame[frame["symbol"] == "RUT"].tail(1).assign(session_date=pd.Timestamp(SATURDAY))
        return pd.concat([frame, extra], ignore_index=True)


def test_a_saturday_price_from_any_provider_fails_its_symbol_alone(raw, warehouse_path, universe):
    env = {"WAREHOUSE_PATH": str(warehouse_path), "HISTORY_START": "2026-08-03"}
    settings = Settings.from_env({**env, "SAMPLE_END_DATE": "2026-08-28"})
    report = refresh_prices(raw, SaturdayMarket(universe), universe, settings, QUIET)
    [(symbol, message)] = report.failures.items()
    assert symbol == "RUT"
    # 20 sessions from 2026-08-03 to 2026-08-28, then the Saturday: row 20.
    assert message == (
        "provider 'sample' returned an invalid prices frame (1 problem(s)):\n"
        "  - row 20 (symbol=RUT, session_date=2026-08-22): session_date 2026-08-22 is not an "
        "XNYS session (a Saturday)"
    )
    assert _rows_of(raw, "RUT") == []
    symbols = {s for (s,) in raw.execute("select distinct symbol from raw.prices").fetchall()}
    assert symbols == set(universe.symbols) - {"RUT"}


FUTURE_ESTIMATE = re.compile(
    r"future\.csv line 2: as_of_date 2099-01-01 is after today in New York "
    r"\(\d{4}-\d{2}-\d{2}\)"
)


def test_an_estimates_file_from_2099_is_quarantined_and_nothing_else_lost(con, tmp_path):
    zone = tmp_path / "landing" / "estimates"
    zone.mkdir(parents=True)
    header = "as_of_date,universe,fiscal_year,eps_growth_pct,source\n"
    (zone / "future.csv").write_text(
        header + "2099-01-01,sp500,2099,9.0,\n2024-03-01,sp500,2024,99.0,\n", encoding="utf-8"
    )
    (zone / "good.csv").write_text(header + "2024-04-01,sp500,2024,8.5,\n", encoding="utf-8")
    report = process_landing_zone(con, zone, QUIET)
    [(name, reason)] = report.quarantined.items()
    assert name == "future.csv"
    assert FUTURE_ESTIMATE.fullmatch(reason)
    assert (zone / "quarantine" / "future.csv.error.txt").read_text(encoding="utf-8") == (
        reason + "\n"
    )
    assert [f.name for f in report.loaded] == ["good.csv"]
    assert con.execute(
        "select as_of_date, eps_growth_pct from raw.earnings_estimates order by 1"
    ).fetchall() == [(date(2024, 3, 1), 8.0), (date(2024, 4, 1), 8.5)]


def test_an_estimate_from_2099_in_the_vendor_folder_is_refused(tmp_path, universe):
    root = tmp_path / "vendor"
    path = root / "estimates" / "future.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "as_of_date,universe,fiscal_year,eps_growth_pct\n2099-01-01,sp500,2099,9.0\n",
        encoding="utf-8",
    )
    env = {"SAMPLE_END_DATE": "2024-03-28", "MARKET_DATA_DIR": str(root)}
    provider = FilesProvider(ProviderContext(universe, Settings.from_env(env), env))
    with pytest.raises(ProviderError) as caught:
        provider.estimates(["sp500"], date(2024, 1, 2), date(2024, 3, 28))
    prefix = f"files: estimate universe(s) ['sp500']: {root / 'estimates' / 'future.csv'} "
    message = str(caught.value)
    assert message.startswith(prefix)
    assert re.fullmatch(
        r"line 2: as_of_date 2099-01-01 is after today in New York \(\d{4}-\d{2}-\d{2}\)",
        message.removeprefix(prefix),
    )


@pytest.mark.slow
def test_the_marts_are_rebuilt_and_published_without_the_refused_rows(tmp_path, universe):
    """Through Dagster and dbt: a Saturday bar in RUT.csv and a 2099 estimates drop fail
    RUT and the drop alone; every dbt test passes and the marts are published."""
    from dagster import AssetCheckSeverity, DagsterInstance, materialize

    from orchestration.defs.ingestion.assets import ingestion_assets
    from orchestration.defs.ingestion.checks import raw_checks
    from orchestration.defs.models.assets import warehouse_dbt_models
    from orchestration.defs.serving.assets import published_marts
    from orchestration.shared import MarketDataResource, build_resources

    root = tmp_path / "vendor"
    vendor_folder(root, universe, date(2026, 6, 1), date(2026, 8, 28))
    line = add_saturday_to_rut(root)
    zone = tmp_path / "landing" / "estimates"
    zone.mkdir(parents=True)
    (zone / "future.csv").write_text(
        "as_of_date,universe,fiscal_year,eps_growth_pct\n2099-01-01,sp500,2099,9.0\n",
        encoding="utf-8",
    )
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARKET_DATA_DIR", str(root))
        patch.setenv("LANDING_DIR", str(tmp_path / "landing"))
        resources = {
            **build_resources(str(warehouse)),
            "market_data": MarketDataResource(
                provider="files", history_start="2026-06-01", end_date="2026-08-28"
            ),
        }
        result = materialize(
            [*ingestion_assets, warehouse_dbt_models, published_marts, *raw_checks],
            resources=resources,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    assert result.success
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    prices = checks[("raw/prices", "every_symbol_loaded")]
    assert prices.metadata["failed"].value == ["RUT"]
    assert prices.description == (
        f"RUT: files: symbol 'RUT': {root / 'prices' / 'RUT.csv'} line {line}: date "
        "2026-08-22 is not an XNYS session (a Saturday)"
    )
    estimates = checks[("raw/earnings_estimates", "every_universe_loaded")]
    assert estimates.metadata["failed"].value == ["landing file future.csv"]
    assert re.fullmatch(
        r"landing file future\.csv: future\.csv line 2: as_of_date 2099-01-01 is after today "
        r"in New York \(\d{4}-\d{2}-\d{2}\)",
        estimates.description,
    )
    assert (zone / "quarantine" / "future.csv.error.txt").is_file()
    # No dbt test failed; the sample market's warnings (a large move) may come and go.
    failed = sorted(
        name
        for (_asset, name), e in checks.items()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    )
    assert failed == ["every_symbol_loaded", "every_universe_loaded"]

    serving = warehouse.parent / "serving" / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        daily = dict(
            con.execute(
                "select pair_id, max(session_date) from marts.divergence_daily group by all"
            ).fetchall()
        )
        (last_estimate,) = con.execute(
            "select max(as_of_date) from marts.earnings_outlook"
        ).fetchone()
    # The pairs without RUT are current; those with it have no rows at all.
    assert daily == {"iwm_vs_qqq": date(2026, 8, 28), "rsp_vs_spy": date(2026, 8, 28)}
    assert last_estimate == date(2026, 8, 3)
