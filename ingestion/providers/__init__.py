"""Provider registry: `MARKET_DATA_PROVIDER` (or a per-dataset override) names one of these.

Live providers are imported only when chosen, so the sample market never loads httpx.
"""

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ingestion.config import Settings
from ingestion.providers.base import MarketDataProvider, ProviderError
from ingestion.universe import Universe

# name -> "module:class"; each class is built as Class(context: ProviderContext).
PROVIDERS: dict[str, str] = {
    "sample": "ingestion.providers.sample:SampleProvider",
    "fred": "ingestion.providers.fred:FredProvider",
    "yahoo": "ingestion.providers.yahoo:YahooProvider",
    "tiingo": "ingestion.providers.tiingo:TiingoProvider",
    "files": "ingestion.providers.files:FilesProvider",
}


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may use: the universe, the settings, and the environment for its
    base URL and API key (read when the provider is built, never logged)."""

    universe: Universe
    settings: Settings
    env: Mapping[str, str] = field(default_factory=dict)


def get_provider(name: str, context: ProviderContext) -> MarketDataProvider:
    """The provider called `name`, or a ProviderError listing the ones that exist."""
    try:
        module_name, class_name = PROVIDERS[name].split(":")
    except KeyError:
        raise ProviderError(
            f"provider {name!r} is not known; choose one of {sorted(PROVIDERS)}"
        ) from None
    provider_class = getattr(importlib.import_module(module_name), class_name)
    return provider_class(context)


__all__ = ["PROVIDERS", "MarketDataProvider", "ProviderContext", "ProviderError", "get_provider"]
