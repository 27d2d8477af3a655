"""`digest prune --before D`: drop old listings under the store lock, keeping analysed papers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from digest.config import Config
from digest.storage import store_lock
from digest.store import Store


def prune(cfg: Config, before: dt.date) -> tuple[int, int, int]:
    """Drop the listings of dates before `before`; (listings dropped, store bytes before, after)."""
    path = Path(cfg.store.path)
    if not path.exists():
        return 0, 0, 0
    with store_lock(path, timeout_s=cfg.store.lock_timeout_s):
        size_before = path.stat().st_size
        store = Store(path)
        try:
            dropped = store.prune(before)
        finally:
            store.close()
        return dropped, size_before, path.stat().st_size
