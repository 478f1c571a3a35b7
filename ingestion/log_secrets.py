"""Secrets kept out of httpx's request log, without importing httpx.

httpx logs every request URL at INFO, and a webhook URL or a query-string key is a
credential: `hide_in_logs` registers values that the filter on the `httpx` logger replaces
with `<redacted>`, as it does the value of any key-like query parameter. Apart from the
HTTP client (`ingestion.http`) so that what only registers a secret (the alert sensor of
every code location load) does not pay for importing httpx.
"""

import logging
import re

REDACTED = b"<redacted>"
SECRET_PARAMS = frozenset({"api_key", "apikey", "token", "access_token"})
# `name=value` of a secret parameter in a URL, whatever the value's length.
SECRET_QUERY_VALUE = re.compile(
    rf"\b((?:{'|'.join(sorted(SECRET_PARAMS))})=)[^&\s\"']+", re.IGNORECASE
)
MIN_SECRET_CHARS = 8  # shorter values would redact ordinary text


class _HideSecrets(logging.Filter):
    """Replaces registered secret values, and the value of any key-like query parameter,
    in the records of a logger (httpx logs every request URL at INFO, and a webhook URL or
    a query-string key is a credential)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = SECRET_QUERY_VALUE.sub(rf"\g<1>{REDACTED.decode()}", message)
        for secret in sorted(self.secrets, key=len, reverse=True):
            hidden = hidden.replace(secret, REDACTED.decode())
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


_HTTPX_FILTER = _HideSecrets()


def hide_in_logs(*secrets: str) -> None:
    """Never let httpx's request log show these values."""
    logger = logging.getLogger("httpx")
    if _HTTPX_FILTER not in logger.filters:
        logger.addFilter(_HTTPX_FILTER)
    _HTTPX_FILTER.secrets.update(s for s in secrets if len(s) >= MIN_SECRET_CHARS)
