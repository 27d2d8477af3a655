"""Small HTTP helpers shared by the sources: a polite client, a request gate, error wording."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

USER_AGENT = "digest/0.1 (daily arXiv cs.CV digest; at most 1 request per 3 s)"

# Failures worth another try: the server or the network, not our request.
TRANSIENT_EXCEPTIONS = (httpx.TimeoutException, httpx.TransportError)


def make_client(*, timeout: float = 60.0, user_agent: str = USER_AGENT) -> httpx.Client:
    """An httpx.Client with a descriptive User-Agent that follows redirects."""
    return httpx.Client(timeout=timeout, headers={"User-Agent": user_agent}, follow_redirects=True)


def is_transient_status(status: int) -> bool:
    """True for statuses a later retry may fix (429 and 5xx)."""
    return status == 429 or status >= 500


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

    def __init__(self, interval: float, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
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
