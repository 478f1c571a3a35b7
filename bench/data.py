"""The scaled market: prices from the sample provider, stored once per size as Parquet
chunks, and the two ways of loading them into raw.prices that the benchmark times.

Values are exactly those of `SampleProvider.prices`: each symbol's path depends only on
its name and the session, so the generated stocks are ordinary sample-market stocks.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from ingestion.calendar import sessions_between
from ingestion.config import Settings
from ingestion.loader import RAW_TABLES, ensure_raw_schema, load_frame, new_load_id
from ingestion.providers.sample import SampleProvider
from ingestion.refresh import refresh_estimates, refresh_rates, refresh_sessions
from ingestion.schemas import PRICES
from ingestion.universe import Universe, load_universe

CHUNK_SYMBOLS = 100
PRICE_COLUMNS = "symbol, session_date, open, high, low, close, adj_close, volume, source"


@dataclass(frozen=True)
class IngestTiming:
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def chunk_paths(root: Path) -> list[Path]:
    return sorted((root / "prices").glob("chunk_*.parquet"))


def generate_prices(
    root: Path,
    seeds_dir: Path,
    start: date,
    end: date,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write every instrument's sample prices from start to end as Parquet chunks of
    CHUNK_SYMBOLS symbols; returns the number of rows. Chunks already there are kept."""
    universe = load_universe(seeds_dir)
    provider = SampleProvider(universe)
    folder = root / "prices"
    folder.mkdir(parents=True, exist_ok=True)
    symbols = universe.symbols
    chunks = [symbols[i : i + CHUNK_SYMBOLS] for i in range(0, len(symbols), CHUNK_SYMBOLS)]
    con = duckdb.connect()
    rows = 0
    for number, chunk in enumerate(chunks):
        path = folder / f"chunk_{number:04d}.parquet"
        if not path.exists():
            frame = provider.prices(chunk, start, end)
            partial = path.with_suffix(".partial")
            con.register("frame", frame)
            con.execute(
                f"copy (select {PRICE_COLUMNS} from frame) to '{partial}' (format parquet)"
            ).fetchall()
            con.unregister("frame")
            partial.rename(path)
        rows += con.execute(f"select count(*) from '{path}'").fetchall()[0][0]
        if progress:
            progress(number + 1, len(chunks))
    con.close()
    return rows


def read_chunks(root: Path, last_session: date) -> Iterator[pd.DataFrame]:
    """Each chunk as a pandas frame, only sessions up to `last_session`."""
    con = duckdb.connect()
    for path in chunk_paths(root):
        yield con.execute(
            f"select {PRICE_COLUMNS} from '{path}' where session_date <= ? "
            "order by symbol, session_date",
            [last_session],
        ).df()
    con.close()


def session_rows(root: Path, session: date) -> pd.DataFrame:
    """Every symbol's row of one session (the nightly increment)."""
    con = duckdb.connect()
    frame = con.execute(
        f"select {PRICE_COLUMNS} from read_parquet('{root / 'prices'}/chunk_*.parquet') "
        "where session_date = ? order by symbol",
        [session],
    ).df()
    con.close()
    return frame


def _as_loaded(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["session_date"] = pd.to_datetime(frame["session_date"]).astype("datetime64[ns]")
    frame["volume"] = frame["volume"].astype("Int64")
    return frame


def ingest_with_loader(
    con: duckdb.DuckDBPyConnection, frames: Iterator[pd.DataFrame]
) -> IngestTiming:
    """The project's loader path: `load_frame` (staged, compared, inserted, logged in one
    transaction) per chunk. Only the loads are timed, not reading the chunks."""
    rows, seconds = 0, 0.0
    for frame in frames:
        frame = _as_loaded(frame)
        started = time.perf_counter()
        load_frame(
            con,
            table="prices",
            dataset=PRICES,
            frame=frame,
            asset="raw/prices",
            provider="sample",
            window=(frame["session_date"].min().date(), frame["session_date"].max().date()),
            scope=f"bench chunk of {frame['symbol'].nunique()} symbols",
        )
        seconds += time.perf_counter() - started
        rows += len(frame)
    return IngestTiming(rows, seconds)


def ingest_bulk(con: duckdb.DuckDBPyConnection, frames: Iterator[pd.DataFrame]) -> IngestTiming:
    """DuckDB's own bulk insert straight from each pandas frame, no comparison with the
    stored rows (right for an empty table only). Only the inserts are timed."""
    rows, seconds = 0, 0.0
    load_id = new_load_id()
    for frame in frames:
        started = time.perf_counter()
        con.register("chunk_frame", frame)
        con.execute(
            f"insert into raw.prices select {PRICE_COLUMNS}, now()::timestamp, ? from chunk_frame",
            [load_id],
        ).fetchall()
        con.unregister("chunk_frame")
        seconds += time.perf_counter() - started
        rows += len(frame)
    return IngestTiming(rows, seconds)


def load_other_raw_tables(
    con: duckdb.DuckDBPyConnection, seeds_dir: Path, start: date, end: date, landing: Path
) -> None:
    """Sessions, rates and estimates through the project's refresh functions (not timed)."""
    universe: Universe = load_universe(seeds_dir)
    settings = Settings(
        warehouse_path=Path(":memory:"),
        provider="sample",
        history_start=start,
        end_date=end,
        lookback_sessions=5,
        landing_dir=landing,
    )
    provider = SampleProvider(universe)
    quiet: Callable[[str], None] = lambda _message: None  # noqa: E731
    refresh_sessions(con, settings, quiet)
    refresh_rates(con, provider, universe, settings, quiet)
    refresh_estimates(con, provider, universe, settings, quiet)


def open_fresh_warehouse(path: Path, primary_key: bool = True) -> duckdb.DuckDBPyConnection:
    """An empty warehouse with the raw schema; without `primary_key`, raw.prices has the
    same columns but no key (to measure what maintaining the key costs)."""
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    if not primary_key:
        con.execute("create schema if not exists raw")
        ddl = RAW_TABLES["prices"].replace(",\n            primary key (symbol, session_date)", "")
        con.execute(ddl)
    ensure_raw_schema(con)
    return con


def last_sessions(start: date, end: date, count: int) -> list[date]:
    """The last `count` sessions up to `end`: held back from the base load, appended one
    per nightly increment."""
    return sessions_between(start, end)[-count:]


def open_existing(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path))
