"""The instrument universe, read from the dbt seed CSVs that analysts edit."""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ingestion.paths import SEEDS_DIR

BASKET_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,14}$")
UNIVERSE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# A provider's own code (Yahoo's ^GSPC, Stooq's AAPL.US ...): it goes into URLs and file
# names, so nothing that could separate, quote or escape.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9^][A-Za-z0-9^._=-]{0,29}$")
KINDS = {"index", "etf", "stock"}
ROLES = {"small_cap", "tech", "large_cap", "equal_weight", "sector", "stock"}
STYLES = {"", "cyclical", "defensive", "growth"}


class UniverseError(ValueError):
    """A seed file holds a row the pipeline cannot use; the message names file and row."""


@dataclass(frozen=True)
class Instrument:
    symbol: str
    name: str
    kind: str
    role: str
    sector: str | None
    style: str | None
    benchmark_symbol: str | None
    codes: dict[str, str]

    def code_for(self, provider: str) -> str | None:
        return self.codes.get(provider) or None


@dataclass(frozen=True)
class Pair:
    pair_id: str
    long_symbol: str
    short_symbol: str


@dataclass(frozen=True)
class Basket:
    """An equal-weight basket of instruments, usable as a pair leg by its id."""

    basket_id: str
    members: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class RateSeries:
    series_id: str
    name: str
    frequency: str
    codes: dict[str, str]


@dataclass(frozen=True)
class EstimateUniverse:
    universe: str
    name: str
    benchmark_symbol: str
    codes: dict[str, str]


@dataclass(frozen=True)
class Universe:
    instruments: tuple[Instrument, ...]
    pairs: tuple[Pair, ...]
    rate_series: tuple[RateSeries, ...]
    estimate_universes: tuple[EstimateUniverse, ...]
    baskets: tuple[Basket, ...] = ()

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.instruments]

    @property
    def series_ids(self) -> list[str]:
        return [s.series_id for s in self.rate_series]

    @property
    def universe_names(self) -> list[str]:
        return [u.universe for u in self.estimate_universes]

    def instrument(self, symbol: str) -> Instrument:
        for item in self.instruments:
            if item.symbol == symbol:
                return item
        raise KeyError(f"symbol {symbol!r} is not in the instrument universe")


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; a missing file or column is an error naming the file."""
    if not path.is_file():
        raise UniverseError(f"{path}: seed file is missing")
    # utf-8-sig: spreadsheet programs often save CSV with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise UniverseError(f"{path.name}: missing column(s) {missing}")
        return [
            (n, {k: (v or "").strip() for k, v in row.items() if k is not None})
            for n, row in enumerate(reader, 2)
        ]


def _codes(row: dict[str, str], path: Path, line: int) -> dict[str, str]:
    codes = {k.removesuffix("_code"): v for k, v in row.items() if k.endswith("_code") and v}
    for provider, code in codes.items():
        _check(
            bool(CODE_PATTERN.match(code)),
            path,
            line,
            f"{provider}_code {code!r} is not valid",
        )
    return codes


def _check(ok: bool, path: Path, line: int, message: str) -> None:
    if not ok:
        raise UniverseError(f"{path.name} line {line}: {message}")


def _baskets(path: Path, symbols: set[str]) -> tuple[Basket, ...]:
    """The baskets seed: ids apart from every symbol, members that are instruments."""
    members: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    upper_symbols = {symbol.upper(): symbol for symbol in symbols}
    for line, row in _rows(path, ("basket_id", "symbol")):
        basket_id, symbol = row["basket_id"], row["symbol"]
        _check(
            bool(BASKET_PATTERN.match(basket_id)),
            path,
            line,
            f"basket_id {basket_id!r} is not valid (lower case letters, digits, _)",
        )
        _check(
            basket_id.upper() not in upper_symbols,
            path,
            line,
            f"basket_id {basket_id!r} is also the symbol "
            f"{upper_symbols.get(basket_id.upper())!r} in instruments.csv",
        )
        _check(symbol in symbols, path, line, f"symbol {symbol!r} is not in instruments.csv")
        listed = members.setdefault(basket_id, [])
        _check(symbol not in listed, path, line, f"{symbol!r} is already in basket {basket_id!r}")
        listed.append(symbol)
        if row.get("description"):
            descriptions.setdefault(basket_id, row["description"])
    return tuple(
        Basket(basket_id, tuple(listed), descriptions.get(basket_id, ""))
        for basket_id, listed in members.items()
    )


def load_universe(seeds_dir: Path = SEEDS_DIR) -> Universe:
    """Read and check the five seed files; every error names the file and line."""
    instruments: list[Instrument] = []
    path = seeds_dir / "instruments.csv"
    seen: dict[str, int] = {}
    instrument_columns = ("symbol", "name", "kind", "role", "sector", "style", "benchmark_symbol")
    for line, row in _rows(path, instrument_columns):
        symbol = row["symbol"]
        _check(
            symbol not in seen,
            path,
            line,
            f"symbol {symbol!r} is already on line {seen.get(symbol)}",
        )
        seen[symbol] = line
        _check(bool(SYMBOL_PATTERN.match(symbol)), path, line, f"symbol {symbol!r} is not valid")
        _check(
            row["kind"] in KINDS, path, line, f"kind {row['kind']!r} is not one of {sorted(KINDS)}"
        )
        _check(
            row["role"] in ROLES, path, line, f"role {row['role']!r} is not one of {sorted(ROLES)}"
        )
        _check(row["style"] in STYLES, path, line, f"style {row['style']!r} is not valid")
        instruments.append(
            Instrument(
                symbol=symbol,
                name=row["name"],
                kind=row["kind"],
                role=row["role"],
                sector=row["sector"] or None,
                style=row["style"] or None,
                benchmark_symbol=row["benchmark_symbol"] or None,
                codes=_codes(row, path, line),
            )
        )
    known = set(seen)
    for line, item in zip(seen.values(), instruments, strict=True):
        benchmark = item.benchmark_symbol
        _check(
            benchmark is None or benchmark in known,
            path,
            line,
            f"benchmark_symbol {benchmark!r} is not in instruments.csv",
        )

    baskets = _baskets(seeds_dir / "baskets.csv", known)
    legs = known | {basket.basket_id for basket in baskets}

    pairs: list[Pair] = []
    path = seeds_dir / "pairs.csv"
    for line, row in _rows(path, ("pair_id", "long_symbol", "short_symbol")):
        pair_id = row["pair_id"]
        _check(
            bool(UNIVERSE_PATTERN.match(pair_id)), path, line, f"pair_id {pair_id!r} is not valid"
        )
        for leg in ("long_symbol", "short_symbol"):
            _check(
                row[leg] in legs,
                path,
                line,
                f"{leg} {row[leg]!r} is neither in instruments.csv nor a basket of baskets.csv",
            )
        pairs.append(Pair(row["pair_id"], row["long_symbol"], row["short_symbol"]))

    series: list[RateSeries] = []
    path = seeds_dir / "rate_series.csv"
    for line, row in _rows(path, ("series_id", "name", "frequency")):
        sid = row["series_id"]
        _check(bool(SYMBOL_PATTERN.match(sid)), path, line, f"series_id {sid!r} is not valid")
        series.append(RateSeries(sid, row["name"], row["frequency"], _codes(row, path, line)))

    universes: list[EstimateUniverse] = []
    path = seeds_dir / "estimate_universes.csv"
    for line, row in _rows(path, ("universe", "name", "benchmark_symbol")):
        name = row["universe"]
        _check(bool(UNIVERSE_PATTERN.match(name)), path, line, f"universe {name!r} is not valid")
        benchmark = row["benchmark_symbol"]
        _check(
            benchmark in known,
            path,
            line,
            f"benchmark_symbol {benchmark!r} is not in instruments.csv",
        )
        universes.append(
            EstimateUniverse(name, row["name"], row["benchmark_symbol"], _codes(row, path, line))
        )

    return Universe(tuple(instruments), tuple(pairs), tuple(series), tuple(universes), baskets)
