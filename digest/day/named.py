"""Papers the reader names on the command line (`analyze`, `retry --paper`): checked against the day."""

from __future__ import annotations

import datetime as dt

from digest.errors import ConfigError
from digest.ids import parse_id
from digest.models import DayPapers
from digest.store import Store


def resolve_ids(store: Store, day: DayPapers, texts: list[str]) -> list[str]:
    """Canonical ids of papers listed on the day, in the order given; ConfigError naming any that is not."""
    listed = {e.paper.id for e in day.entries}
    ids: list[str] = []
    for text in texts:
        try:
            pid = parse_id(text)[0]
        except ValueError as exc:
            raise ConfigError(
                f"{exc} (use e.g. 2506.30017, arXiv:2506.30017 or an arxiv.org/abs URL)"
            ) from None
        if pid not in listed:
            raise ConfigError(_not_listed(store, day.date, pid))
        if pid not in ids:
            ids.append(pid)
    return ids


def _not_listed(store: Store, date: dt.date, pid: str) -> str:
    elsewhere = [d for d in store.paper_dates(pid) if d != date]
    if elsewhere:
        when = ", ".join(d.isoformat() for d in elsewhere)
        return (
            f"{pid} is not listed on {date}; it was listed on {when} "
            f"(try `digest analyze --date {elsewhere[-1]} {pid}`)"
        )
    return f"{pid} is not listed on {date}, nor on any date in the store (see `digest status --date {date}`)"
