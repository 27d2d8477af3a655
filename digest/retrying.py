"""Servers' retry hints (Retry-After headers, "retry in 29s" messages, protobuf durations): one parser."""

from __future__ import annotations

import email.utils
import math
import re
import time

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
HINT_CEILING_S = 7 * 86400.0  # any hint past this is read as this: "much later" (a week), never inf or huge
_RETRY_IN = re.compile(r"(?:retry|try again) in\s+((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)", re.IGNORECASE)


def sane(seconds: float | None) -> float | None:
    """A server's delay made safe: NaN is no hint, a negative one is 0, inf or a huge one is HINT_CEILING_S
    (every caller then treats it as "too long to wait", and no clock arithmetic overflows)."""
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(0.0, seconds), HINT_CEILING_S)


def parse_duration(text: str) -> float | None:
    """Seconds in a Go/protobuf-style duration: "29s", "29.08s", "6ms", "1m30s", "1h2m"."""
    text = text.strip()
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sane(sum(float(n) * scale[u] for n, u in parts))


def retry_hint_from_message(message: str | None) -> float | None:
    """The largest "Please retry in 29.08s" / "try again in 6ms" delay in an error message."""
    if not message:
        return None
    found = [parse_duration(m) for m in _RETRY_IN.findall(message)]
    values = [v for v in found if v is not None]
    return max(values) if values else None


def retry_after_header(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return sane(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return sane(when.timestamp() - (time.time() if now is None else now))


def max_hint(*values: float | None) -> float | None:
    """The largest of the hints that are present."""
    present = [v for v in values if v is not None]
    return max(present) if present else None
