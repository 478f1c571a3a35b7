"""What every provider does the same way: refuse a backwards window, and hand back the
frames of the keys it was asked for as one frame in key order."""

from datetime import date

import pandas as pd

from ingestion.providers.base import ProviderError


def check_window(provider: str, start: date, end: date) -> None:
    """Refuse a window whose end comes before its start; the message names the provider."""
    if end < start:
        raise ProviderError(f"{provider}: window end {end} is before its start {start}")


def concat_sorted(
    frames: list[pd.DataFrame], keys: list[str], empty: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The frames as one, sorted by `keys`; `empty` (a typed frame with no rows, by default
    one without columns) when there are none."""
    if not frames:
        return pd.DataFrame() if empty is None else empty
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values(keys, ignore_index=True)
