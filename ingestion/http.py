"""HTTP for live providers: timeouts, retries with backoff, a polite rate limit, and a
landing copy of every response body before anything parses it.

Retries (tenacity): connection errors, timeouts, 429 (waiting at least its Retry-After)
and 5xx, with exponential backoff and jitter; any other 4xx fails at once. Secrets in
query strings never reach logs, errors or landing file names: messages name the provider
and what was asked for (a symbol or series), never the URL with its parameters. A response
that quotes a key back (some error pages do) has it replaced by `<redacted>` before the body
is kept, parsed or quoted in an error.
"""

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ingestion.errors import ProviderError

USER_AGENT = "market-divergence-warehouse/0.1 (research pipeline; python-httpx)"
SAFE_LABEL = re.compile(r"[^A-Za-z0-9._-]+")
REDACTED = b"<redacted>"
SECRET_PARAMS = frozenset({"api_key", "apikey", "token", "access_token"})
SECRET_HEADERS = frozenset({"authorization", "x-api-key"})
# `name=value` of a secret parameter in a URL, whatever the value's length.
SECRET_QUERY_VALUE = re.compile(
    rf"\b((?:{'|'.join(sorted(SECRET_PARAMS))})=)[^&\s\"']+", re.IGNORECASE
)
MIN_SECRET_CHARS = 8  # shorter values would redact ordinary text


def secret_values(headers: Mapping[str, str], params: Mapping[str, str] | None) -> list[str]:
    """The credentials a request carries: key-like query parameters and the value (and the
    token after a scheme such as `Token` or `Bearer`) of authorization headers."""
    found = [v for k, v in (params or {}).items() if k.lower() in SECRET_PARAMS]
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            found.extend([value, value.split(" ", 1)[-1]])
    return sorted({v for v in found if len(v) >= MIN_SECRET_CHARS}, key=len, reverse=True)


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


def redact(body: bytes, secrets: list[str]) -> bytes:
    for secret in secrets:
        body = body.replace(secret.encode(), REDACTED)
    return body


class RetryableHTTPError(ProviderError):
    """A response worth asking again for (429 or 5xx); carries any Retry-After seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class HttpSettings:
    timeout_seconds: float = 20.0
    connect_timeout_seconds: float = 5.0
    attempts: int = 4
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    min_interval_seconds: float = 0.5
    max_retry_after_seconds: float = 60.0


@dataclass
class LandingZone:
    """Keeps every raw response body under <root>/<provider>/<day>/, pruned by age."""

    root: Path
    retention_days: int = 30

    def keep(self, provider: str, label: str, body: bytes, suffix: str) -> Path:
        now = datetime.now(UTC)
        folder = self.root / provider / now.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        safe = SAFE_LABEL.sub("_", label)[:80] or "response"
        path = folder / f"{now.strftime('%H%M%S%f')}_{safe}.{suffix}"
        path.write_bytes(body)
        return path

    def prune(self, provider: str, now: datetime | None = None) -> int:
        """Delete day folders older than the retention; returns how many files went."""
        cutoff = (now or datetime.now(UTC)).date() - timedelta(days=self.retention_days)
        removed = 0
        base = self.root / provider
        if not base.is_dir():
            return 0
        for day in base.iterdir():
            try:
                day_date = datetime.strptime(day.name, "%Y-%m-%d").date()
            except ValueError:
                continue
            if day.is_dir() and day_date < cutoff:
                for item in day.iterdir():
                    item.unlink()
                    removed += 1
                day.rmdir()
        return removed


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableHTTPError | httpx.TransportError)


@dataclass
class HttpClient:
    """One provider's HTTP session."""

    provider: str
    landing: LandingZone | None = None
    settings: HttpSettings = field(default_factory=HttpSettings)
    headers: Mapping[str, str] = field(default_factory=dict)
    _last_request: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.landing is not None:
            self.landing.prune(self.provider)
        timeout = httpx.Timeout(
            self.settings.timeout_seconds, connect=self.settings.connect_timeout_seconds
        )
        self._client = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, **self.headers},
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def _pause(self) -> None:
        with self._lock:
            wait = self.settings.min_interval_seconds - (time.monotonic() - self._last_request)
            if wait > 0:
                time.sleep(wait)
            self._last_request = time.monotonic()

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(
            initial=self.settings.backoff_initial_seconds, max=self.settings.backoff_max_seconds
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableHTTPError) and exc.retry_after is not None:
            return min(max(backoff, exc.retry_after), self.settings.max_retry_after_seconds)
        return backoff

    def get(self, url: str, params: Mapping[str, str] | None, label: str, suffix: str) -> bytes:
        """GET and return the body; `label` (a symbol or series) names it in errors."""

        secrets = secret_values(self.headers, params)
        hide_in_logs(*secrets)

        @retry(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self.settings.attempts),
            wait=self._wait,
            reraise=True,
        )
        def attempt() -> bytes:
            self._pause()
            try:
                response = self._client.get(url, params=params)
            except httpx.TimeoutException as exc:
                raise httpx.TransportError(
                    f"{self.provider}: {label}: request timed out ({type(exc).__name__})"
                ) from None
            content = redact(response.content, secrets)
            if self.landing is not None and response.status_code >= 400:
                # Error bodies are kept too: they are what a support ticket needs.
                self.landing.keep(
                    self.provider, f"{label}.http{response.status_code}", content, suffix
                )
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableHTTPError(
                    f"{self.provider}: {label}: HTTP {response.status_code}",
                    _retry_after_seconds(response.headers.get("Retry-After")),
                )
            if response.status_code >= 400:
                text = content.decode(response.encoding or "utf-8", "replace")
                snippet = text[:200].replace("\n", " ")
                raise ProviderError(
                    f"{self.provider}: {label}: HTTP {response.status_code}: {snippet}"
                )
            return content

        try:
            body = attempt()
        except httpx.TransportError as exc:
            raise ProviderError(
                f"{self.provider}: {label}: no response after "
                f"{self.settings.attempts} attempts ({exc})"
            ) from None
        except RetryableHTTPError as exc:
            raise ProviderError(
                f"{exc} after {self.settings.attempts} attempts, giving up"
            ) from None
        if self.landing is not None:
            self.landing.keep(self.provider, label, body, suffix)
        return body
