"""SQLite store: papers, per-date membership, scores, analysis tasks, the LLM cache and call log, runs.

One connection (db.py) carries every table family, each a mixin (on base.Tables) in its own module:
papers.py (days and their papers), picks.py (scores, selection, tasks), llm_log.py (LLM cache, call log,
quota state), records.py (written digests, runs). `open_store` opens the store of a config for a block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from digest.config import Config
from digest.store.base import Task
from digest.store.db import Db
from digest.store.llm_log import LlmLog
from digest.store.lock import store_lock
from digest.store.papers import Papers
from digest.store.picks import Picks
from digest.store.records import Records

__all__ = ["Store", "Task", "open_store"]


class Store(Papers, Picks, LlmLog, Records, Db):
    """Thread-safe access to the SQLite file; every write is one transaction."""


@contextmanager
def open_store(cfg: Config, *, lock: bool = False, create: bool = True) -> Iterator[Store | None]:
    """The store at cfg.store.path for the block, closed after it; `lock`: under the store lock throughout.

    With `create=False` and no store file, yields None and creates nothing (no store, no lock file):
    a read-only caller never leaves a store behind. Otherwise yields a Store (never None).
    """
    path = Path(cfg.store.path)
    if not create and not path.exists():
        yield None
        return
    with store_lock(path, timeout_s=cfg.store.lock_timeout_s) if lock else nullcontext():
        if not create and not path.exists():  # moved aside while this process waited for the lock
            yield None
            return
        store = Store(path)
        try:
            yield store
        finally:
            store.close()
