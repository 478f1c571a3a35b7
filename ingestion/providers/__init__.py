"""Provider registry: `MARKET_DATA_PROVIDER` names one of these."""

from collections.abc import Callable

from ingestion.providers.base import MarketDataProvider, ProviderError
from ingestion.providers.sample import SampleProvider
from ingestion.universe import Universe

PROVIDERS: dict[str, Callable[[Universe], MarketDataProvider]] = {
    "sample": SampleProvider,
}


def get_provider(name: str, universe: Universe) -> MarketDataProvider:
    """The provider called `name`, or a ProviderError listing the ones that exist."""
    try:
        factory = PROVIDERS[name]
    except KeyError:
        raise ProviderError(
            f"MARKET_DATA_PROVIDER={name!r} is not a provider; choose one of {sorted(PROVIDERS)}"
        ) from None
    return factory(universe)


__all__ = ["PROVIDERS", "MarketDataProvider", "ProviderError", "get_provider"]
