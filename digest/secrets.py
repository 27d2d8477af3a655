"""The one redactor: what is stored, logged or printed never holds the API key, nor a part of it."""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "<redacted>"
# A part shorter than this could be an ordinary word; no real key splits into pieces that small.
MIN_PART = 6
# Key-shaped text of any provider, even one this process was not given (an error body quoting another key).
_KEY_SHAPED = re.compile(r"AIza[0-9A-Za-z_\-]{20,}|sk-[A-Za-z0-9_\-]{8,}|(?i:bearer\s+)\S+")
_known: set[str] = set()
_lock = threading.Lock()


def remember(key: str | None) -> None:
    """Redact this key from now on, and each whitespace-separated part of it (a key pasted with a newline)."""
    if not key:
        return
    with _lock:
        _known.update(p for p in {key.strip(), *key.split()} if len(p) >= MIN_PART)


def contains_secret(text: str | None) -> bool:
    """Whether the text holds a remembered key or a part of it."""
    with _lock:
        known = tuple(_known)
    return bool(text) and any(k in text for k in known)


def redact(text: str) -> str:
    """The text with every remembered key (and part) and anything key-shaped replaced by <redacted>."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)  # the whole key before its parts
    for secret in known:
        text = text.replace(secret, REDACTED)
    return _KEY_SHAPED.sub(REDACTED, text)


def key_problem(key: str) -> str | None:
    """What makes a key unusable in an HTTP header (whitespace, non-ASCII, non-printable inside), or None."""
    if any(ch.isspace() for ch in key):
        return "whitespace inside it (a copy-paste slip?)"
    if not key.isascii():
        return "a non-ASCII character in it"
    if not key.isprintable():
        return "a non-printable character in it"
    return None


class RedactingFilter(logging.Filter):
    """A handler filter that passes every record's message and traceback through redact()."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
