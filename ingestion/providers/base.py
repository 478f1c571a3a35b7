"""The provider protocol: what every market-data source must answer.

A provider maps the warehouse's own symbols, series ids and universe names to its codes
(the `<provider>_code` columns of the seeds) and returns frames in the shapes documented
in `ingestion.schemas`. Dates are inclusive; a provider returns only what exists in the
window (no forward-filling, no invented rows).
"""

from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd

from ingestion.errors import ProviderError

__all__ = ["MarketDataProvider", "ProviderError"]


@runtime_checkable
class MarketDataProvider(Protocol):
    name: str

    def prices(self, symbols: list[str], start: date, end: date) -> pd.DataFrame:
        """Daily OHLCV per symbol and XNYS session (schema `ingestion.schemas.PRICES`)."""
        ...

    def rates(self, series: list[str], start: date, end: date) -> pd.DataFrame:
        """Observations per FRED series id (schema `ingestion.schemas.RATES`)."""
        ...

    def estimates(self, universes: list[str], start: date, end: date) -> pd.DataFrame:
        """EPS growth snapshots per universe and fiscal year (`ingestion.schemas.ESTIMATES`)."""
        ...
