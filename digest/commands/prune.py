"""`digest prune --before D`: drop old listings under the store lock, keeping analysed papers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from digest.config import Config
from digest.day.state import Listing
from digest.store import Store, open_store


def prune(cfg: Config, before: dt.date) -> tuple[int, int, int]:
    """Drop the listings of dates before `before`; (listings dropped, store bytes before, after)."""
    path = Path(cfg.store.path)
    with open_store(cfg, lock=True, create=False) as store:
        if store is None:
            return 0, 0, 0
        size_before = path.stat().st_size  # opened: an older schema is already migrated, not pruning's work
        dropped = store.prune(before, listings=_listings(store, before))
        return dropped, size_before, path.stat().st_size


def _listings(store: Store, before: dt.date) -> dict[dt.date, str]:
    """The counts of each listing about to be pruned: its digest keeps saying how many papers the day had."""
    out = {}
    for date in (d for d in store.dates() if d < before):
        day = store.load_day(date)
        picked = {pid for pid, _ in store.load_selection(date)}
        if day is not None and any(e.paper.id not in picked for e in day.entries):
            out[date] = Listing.of(day.entries).model_copy(update={"pruned": True}).model_dump_json()
    return out
