"""The files provider: vendor exports read from a local folder, with no network.

The folder is MARKET_DATA_DIR (`Settings.market_data_dir`), laid out as

    prices/<SYMBOL>.csv       one file per warehouse symbol, daily bars
    rates/<SERIES_ID>.csv     one FRED download per series id
    estimates/*.csv           EPS growth snapshots, every file read and concatenated

Files are named with the warehouse's own symbols and series ids (the seeds need no
`files_code` column). A file that is not there is an error naming the symbol and the
expected path, so the refresh reports a missing symbol instead of inventing it; no path is
ever followed outside the folder. The formats are read by `vendor_csv` (prices, rates) and
`estimates_csv`; their `FileFormatError`, which names the file and line, becomes a
ProviderError that also names the provider and the symbol or series.
"""

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ingestion.providers.base import ProviderError
from ingestion.providers.common import check_window, concat_sorted
from ingestion.providers.csv_reading import FileFormatError
from ingestion.providers.estimates_csv import EstimateRow, estimates_frame, read_estimate_rows
from ingestion.providers.vendor_csv import (
    SOURCE,
    parse_price_csv,
    parse_rate_csv,
    prices_frame,
    rates_frame,
)
from ingestion.universe import SYMBOL_PATTERN

if TYPE_CHECKING:
    from ingestion.providers import ProviderContext

NAME = SOURCE


class FilesProvider:
    """Prices, rates and estimates read from the files under MARKET_DATA_DIR."""

    name = NAME

    def __init__(self, context: "ProviderContext") -> None:
        self.universe = context.universe
        folder = context.settings.market_data_dir
        if folder is None:
            raise ProviderError(
                f"{NAME}: MARKET_DATA_DIR is not set; point it at a folder holding "
                "prices/<SYMBOL>.csv, rates/<SERIES_ID>.csv and estimates/*.csv"
            )
        if not folder.is_dir():
            raise ProviderError(f"{NAME}: MARKET_DATA_DIR={folder} is not a folder")
        self.root = folder.resolve()

    def _inside(self, path: Path, what: str) -> Path:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise ProviderError(
                f"{NAME}: {what}: {path} leads outside MARKET_DATA_DIR ({self.root}); refused"
            )
        return resolved

    def _file(self, folder: str, key: str, kind: str, what: str) -> Path:
        if not SYMBOL_PATTERN.match(key):
            raise ProviderError(f"{NAME}: {what} is not a valid file name")
        path = self.root / folder / f"{key}.csv"
        if not self._inside(path, what).is_file():
            raise ProviderError(f"{NAME}: no {kind} file for {what}: expected {path}")
        return path

    def _read(self, path: Path, what: str) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ProviderError(f"{NAME}: {what}: cannot read {path}: {exc}") from exc

    def prices(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        check_window(NAME, start, end)
        frames = []
        for symbol in sorted(set(symbols)):
            what = f"symbol {symbol!r}"
            if symbol not in self.universe.symbols:
                raise ProviderError(f"{NAME}: {what} is not in the instrument universe")
            path = self._file("prices", symbol, "price", what)
            try:
                frames.append(
                    parse_price_csv(
                        self._read(path, what), symbol=symbol, file=str(path), start=start, end=end
                    )
                )
            except FileFormatError as exc:
                raise ProviderError(f"{NAME}: {what}: {exc}") from None
        return concat_sorted(frames, ["symbol", "session_date"], prices_frame("", []))

    def rates(self, series: list[str], start: date, end: date) -> pd.DataFrame:
        check_window(NAME, start, end)
        known = {s.series_id: s for s in self.universe.rate_series}
        frames = []
        for series_id in sorted(set(series)):
            what = f"series {series_id!r}"
            if series_id not in known:
                raise ProviderError(f"{NAME}: {what} is not in rate_series.csv")
            path = self._file("rates", series_id, "rate", what)
            fred_code = known[series_id].codes.get("fred")
            try:
                frames.append(
                    parse_rate_csv(
                        self._read(path, what),
                        series_id=series_id,
                        file=str(path),
                        value_columns=[fred_code] if fred_code else [],
                        start=start,
                        end=end,
                    )
                )
            except FileFormatError as exc:
                raise ProviderError(f"{NAME}: {what}: {exc}") from None
        return concat_sorted(frames, ["series_id", "observation_date"], rates_frame("", []))

    def estimates(self, universes: list[str], start: date, end: date) -> pd.DataFrame:
        check_window(NAME, start, end)
        wanted = sorted(set(universes))
        what = f"estimate universe(s) {wanted}"
        unknown = sorted(set(wanted) - set(self.universe.universe_names))
        if unknown:
            raise ProviderError(f"{NAME}: estimate universe(s) {unknown} are not in the seeds")
        folder = self._inside(self.root / "estimates", what)
        files = sorted(p for p in folder.glob("*.csv") if p.is_file()) if folder.is_dir() else []
        if not files:
            raise ProviderError(
                f"{NAME}: no estimates file for {what}: expected {self.root / 'estimates'}/*.csv"
            )
        rows: list[EstimateRow] = []
        seen: dict[tuple[str, int, date], EstimateRow] = {}
        for path in files:
            resolved = self._inside(path, what)
            try:
                parsed = read_estimate_rows(
                    self._read(resolved, what), file=str(path), default_source=NAME
                )
            except FileFormatError as exc:
                raise ProviderError(f"{NAME}: {what}: {exc}") from None
            for row in parsed:
                if row.key in seen:
                    first = seen[row.key]
                    raise ProviderError(
                        f"{NAME}: {what}: {row.file} line {row.line}: universe={row.universe}, "
                        f"fiscal_year={row.fiscal_year}, as_of_date={row.as_of_date} is "
                        f"already in {first.file} line {first.line}"
                    )
                seen[row.key] = row
            rows.extend(parsed)
        present = {r.universe for r in rows}
        absent = [u for u in wanted if u not in present]
        if absent:
            raise ProviderError(
                f"{NAME}: no estimates for universe(s) {absent} in any of "
                f"{[p.name for p in files]} under {folder}"
            )
        chosen = [r for r in rows if r.universe in wanted and start <= r.as_of_date <= end]
        return estimates_frame(chosen)
