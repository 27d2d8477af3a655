"""What every table family of the store shares: the connection's interface, row timestamps, redaction, Task.

Kept apart from db.py (which implements the connection) so that the families sit one import above it
and `digest.store` stays shallow in the house's import depth (tests/test_layers.py).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.secrets import redact


def utc_now() -> str:
    """The moment a row is written: UTC, ISO 8601, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def redacted(text: str | None) -> str | None:
    """Every text the store keeps passes the redactor: error bodies and answers can echo the key."""
    return redact(text) if text else text


@dataclass
class Task:
    """One LLM job of a date: a paper's analysis/deep dive, the summary or a rerank batch."""

    date: str
    key: str
    template: str
    status: str  # as stored: a models.TaskStatus value (ok | failed | pending)
    attempts: int = 0
    error_kind: str | None = None
    last_error: str | None = None
    last_raw: str | None = None


class Tables:
    """The base of each table family (a mixin of `Store`): what it uses of the one connection, which
    db.Db provides."""

    path: Path

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction."""
        raise NotImplementedError

    def _q(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def vacuum(self) -> None:
        """Rewrite the file without its free pages (after a migration or a prune)."""
        raise NotImplementedError

    def value(self, name: str) -> str | None:
        """A small named value of table `state` (the quota's reset, a pruned day's counts), or None."""
        raise NotImplementedError
