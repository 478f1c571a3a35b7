"""A copy of the dbt project for one benchmark size: the scaled seeds and its own profile.

The project's models, macros and tests are copied unchanged; instruments.csv gains the
generated stocks and pairs.csv one pair per stock against its sector ETF. The profile
points at the size's own warehouse file with a DuckDB memory limit (spilling beside it)
and keeps the project's Spark output for the Spark build (its lake is the size's own), so
nothing is shared with the project's warehouse or its target/ folder.
"""

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingestion.paths import DBT_PROJECT_DIR

SECTOR_ETFS = ("XLK", "XLF", "XLI", "XLE", "XLY", "XLV", "XLP", "XLU", "XLB", "XLRE", "XLC")
MEMORY_LIMIT = "3GB"


@dataclass(frozen=True)
class BenchProject:
    """Where one size's dbt project, warehouse and spill folder live."""

    root: Path

    @property
    def dbt_dir(self) -> Path:
        return self.root / "dbt_project"

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_dir / "seeds"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "warehouse.duckdb"

    @property
    def spill_dir(self) -> Path:
        """DuckDB's default spill folder for a database file: beside it, `<file>.tmp`.
        (dbt-duckdb sets profile settings on every cursor, and DuckDB refuses to switch
        the temporary directory once it has spilled, so it is left at its default.)"""
        return self.warehouse.with_name(self.warehouse.name + ".tmp")

    @property
    def target_dir(self) -> Path:
        return self.dbt_dir / "target"


def stock_symbols(count: int) -> list[str]:
    return [f"S{i:04d}" for i in range(1, count + 1)]


def _sector_names(rows: list[dict[str, str]]) -> dict[str, str]:
    return {row["symbol"]: row["sector"] for row in rows if row["symbol"] in SECTOR_ETFS}


def write_seeds(seeds_dir: Path, stocks: int) -> list[tuple[str, str, str]]:
    """Append the generated stocks to instruments.csv and write one pair per stock;
    returns the pairs (pair_id, long, short) that were added."""
    path = seeds_dir / "instruments.csv"
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    sectors = _sector_names(rows)
    added: list[tuple[str, str, str]] = []
    for index, symbol in enumerate(stock_symbols(stocks)):
        etf = SECTOR_ETFS[index % len(SECTOR_ETFS)]
        row = dict.fromkeys(fields, "")
        row.update(
            symbol=symbol,
            name=f"Generated stock {symbol}",
            kind="stock",
            role="stock",
            sector=sectors[etf],
            benchmark_symbol=etf,
            sample_code=symbol,
        )
        rows.append(row)
        added.append((f"{symbol.lower()}_vs_{etf.lower()}", symbol, etf))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with (seeds_dir / "pairs.csv").open("a", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for pair_id, long_symbol, short_symbol in added:
            writer.writerow(
                [pair_id, long_symbol, short_symbol, f"{long_symbol} against {short_symbol}"]
            )
    return added


def profile(warehouse: Path) -> str:
    """The size's profile: its own DuckDB file (`bench`) and the project's Spark output,
    which reads the size's lake from LAKE_DIR (bench/spark_build.py)."""
    outputs = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    spark = outputs["market_divergence"]["outputs"]["spark"]
    bench = {
        "type": "duckdb",
        "path": str(warehouse),
        "threads": 1,
        "settings": {"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False},
    }
    return yaml.safe_dump(
        {"market_divergence": {"target": "bench", "outputs": {"bench": bench, "spark": spark}}},
        sort_keys=False,
    )


def create_project(root: Path, stocks: int) -> BenchProject:
    """Copy the dbt project under `root` with the scaled seeds and a profile of its own."""
    project = BenchProject(root)
    if project.dbt_dir.exists():
        shutil.rmtree(project.dbt_dir)
    shutil.copytree(
        DBT_PROJECT_DIR,
        project.dbt_dir,
        ignore=shutil.ignore_patterns("target*", "logs*", "dbt_packages", ".user.yml"),
    )
    write_seeds(project.seeds_dir, stocks)
    project.warehouse.parent.mkdir(parents=True, exist_ok=True)
    (project.dbt_dir / "profiles.yml").write_text(profile(project.warehouse))
    return project
