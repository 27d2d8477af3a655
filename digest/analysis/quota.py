"""The key's daily request quota: when it resets and what is left today (digest.day.plan fits a day to it)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from digest.store import Store


def last_reset(now: dt.datetime, tz: str) -> dt.datetime:
    """The most recent midnight in the quota's time zone (gemini: America/Los_Angeles)."""
    local = now.astimezone(ZoneInfo(tz))
    return dt.datetime.combine(local.date(), dt.time(), tzinfo=ZoneInfo(tz))


def next_reset(now: dt.datetime, tz: str) -> dt.datetime:
    """The next midnight in the quota's time zone."""
    return last_reset(now, tz) + dt.timedelta(days=1)  # wall-clock arithmetic: midnight across a DST change


class DailyQuota:
    """What is left of the key's daily requests (llm.rpd), and a stored reset after the quota ran out."""

    def __init__(self, *, rpd: int | None, tz: str, store: Store, now: dt.datetime | None = None) -> None:
        now = now or dt.datetime.now(dt.UTC)
        self.rpd = rpd
        self.tz = tz
        self.store = store
        self.resets_at = store.quota_resets_at()  # an earlier run used the quota up
        self.used = store.requests_since(last_reset(now, tz)) if rpd is not None else 0

    def left(self, sent: int) -> int | None:
        """Requests left today after `sent` more (None: the quota is unknown)."""
        return None if self.rpd is None else self.rpd - self.used - sent

    def exhausted(self, now: dt.datetime | None = None) -> dt.datetime:
        """The quota is used up: store and return when it resets."""
        self.resets_at = next_reset(now or dt.datetime.now(dt.UTC), self.tz)
        self.store.set_quota_resets_at(self.resets_at)
        return self.resets_at

    def reason(self, reader_tz: ZoneInfo) -> str:
        """Why no request is sent now, with the reset time in the reader's time zone."""
        when = self.resets_at.astimezone(reader_tz) if self.resets_at else None
        at = f"; it resets at {when:%Y-%m-%d %H:%M %Z}" if when else ""
        cap = f" (llm.rpd: {self.rpd})" if self.rpd is not None else ""
        return f"the key's daily LLM quota is used up{cap}{at}, and no request is sent before then"
