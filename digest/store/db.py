"""The store's one SQLite connection: opening, a write transaction, queries, migrations, vacuum, `state`."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from digest.errors import StoreError
from digest.store.base import Tables
from digest.store.lock import guarded
from digest.store.migrations import MIGRATIONS


class Db(Tables):
    """Thread-safe access to the SQLite file; every write is one transaction. The connection the table
    families (base.Tables mixins) of `Store` share: one connection, one lock, one transaction at a time."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        with guarded(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.row_factory = sqlite3.Row
            self._migrate()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction."""
        with self._lock, guarded(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _q(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock, guarded(self.path):
            return self._db.execute(sql, args).fetchall()

    def _migrate(self) -> None:
        with self.tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path}: store schema v{current} is newer than this digest; upgrade digest"
                )
            for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
                if callable(migration):
                    migration(db)
                else:
                    for statement in filter(str.strip, migration.split(";")):
                        db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        if 0 < current < len(MIGRATIONS):
            self.vacuum()  # an existing store was rewritten: give the freed pages back to the disk

    def vacuum(self) -> None:
        """Rewrite the file without its free pages (after a migration or a prune)."""
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def value(self, name: str) -> str | None:
        """A small named value of table `state` (the quota's reset, a pruned day's counts), or None."""
        rows = self._q("SELECT value FROM state WHERE name = ?", (name,))
        return rows[0][0] if rows else None
