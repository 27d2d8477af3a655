"""What the sources share about HTTP: the politeness gate, one retry policy (tenacity), error wording."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
import tenacity

from digest.retrying import retry_after_header

# The one User-Agent of every request digest sends (arXiv asks robots to say who they are).
USER_AGENT = "digest/0.1 (daily arXiv cs.CV digest; at most 1 request per 3 s)"
# Failures worth another try: the server or the network, not our request.
TRANSIENT_EXCEPTIONS = (httpx.TimeoutException, httpx.TransportError)
MAX_HINT_S = 300.0  # a server's Retry-After is honoured up to this; a longer one would hang the run


class Transient(Exception):
    """A failure a later try may fix (429, 5xx, the network, an empty page), with the server's hint if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @classmethod
    def of(cls, exc: BaseException) -> Transient:
        """A network failure as Transient, named by its type and message."""
        return cls(f"{type(exc).__name__}: {one_line(exc)}")


def raise_if_transient(status: int, retry_after: str | None) -> None:
    """Raise Transient for 429 and 5xx, carrying the Retry-After header's delay."""
    if status == 429 or status >= 500:  # statuses a later retry may fix
        raise Transient(f"HTTP {status}", retry_after=retry_after_header(retry_after))


def retrying(
    *, attempts: int, base_s: float, sleep: Callable[[float], None] = time.sleep
) -> tenacity.Retrying:
    """Up to `attempts` tries on Transient; waits double from base_s, or follow the server's longer hint."""
    backoff = tenacity.wait_exponential(multiplier=base_s, max=MAX_HINT_S)

    def wait(state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        hint = getattr(failure, "retry_after", None) or 0.0
        return max(backoff(state), min(hint, MAX_HINT_S))

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        wait=wait,
        retry=tenacity.retry_if_exception_type(Transient),
        sleep=sleep,
        reraise=True,
    )


def public_url(url: str | httpx.URL) -> str:
    """The URL without query string, fragment or credentials, safe to put in an error message."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its message, or its type when it has none."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Gate:
    """At most one request per `interval` seconds, one at a time, on an injectable clock."""

    def __init__(
        self,
        interval: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.sleep = sleep
        self.clock = clock
        self.lock = threading.RLock()
        self._last: float | None = None

    def wait_turn(self) -> None:
        """Sleep until `interval` has passed since the previous request; call while holding `lock`."""
        if self._last is not None:
            wait = self._last + self.interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()

    def retry_policy(self, attempts: int) -> tenacity.Retrying:
        """`retrying` for requests through this gate: backoff from its interval (at least 1 s), on its sleep."""
        return retrying(attempts=attempts, base_s=max(self.interval, 1.0), sleep=self.sleep)
