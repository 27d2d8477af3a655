"""Map a digest date to the arXiv announcement it covers (pure: no I/O, no clock)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from digest.config import CalendarConfig, Config
from digest.errors import ConfigError
from digest.models import Announcement

_LOOKBACK_DAYS = 60  # how far back to search for the previous announcement
_SUNDAY = 6


def _hhmm(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def _at(day: dt.date, hhmm: str, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, _hhmm(hhmm), tzinfo=tz)


def _is_working_day(day: dt.date, cal: CalendarConfig) -> bool:
    """A Mon-Fri that is not a holiday: a day whose 14:00 can be a cutoff."""
    return day.weekday() < 5 and day not in cal.holidays


def _candidate_cutoff(day: dt.date, cal: CalendarConfig) -> dt.date | None:
    """The cutoff date an announcement on `day` would have, ignoring whether its window is empty."""
    if day in cal.holidays:
        return None
    if day.weekday() < 4:  # Mon-Thu: cutoff the same day
        return day
    if day.weekday() != _SUNDAY:  # Fri, Sat: arXiv does not announce
        return None
    for back in range(1, _LOOKBACK_DAYS + 1):
        earlier = day - dt.timedelta(days=back)
        if _is_working_day(earlier, cal):
            return earlier
    return None


def _cutoff_date(day: dt.date, cal: CalendarConfig) -> dt.date | None:
    """The cutoff date of the announcement released on `day`, or None when none is released."""
    cutoff = _candidate_cutoff(day, cal)
    if cutoff is None or cutoff == day:  # Mon-Thu announcements never have an empty window
        return cutoff
    previous = _previous_cutoff(day, cal)
    return cutoff if previous is None or cutoff > previous else None


def _previous_cutoff(day: dt.date, cal: CalendarConfig) -> dt.date | None:
    """The cutoff date of the nearest announcement released before `day`."""
    for back in range(1, _LOOKBACK_DAYS + 1):
        cutoff = _cutoff_date(day - dt.timedelta(days=back), cal)
        if cutoff is not None:
            return cutoff
    return None


def announcement_on(release_day: dt.date, cal: CalendarConfig) -> Announcement | None:
    """The announcement arXiv releases on `release_day` (a date in cal.timezone), or None."""
    cutoff = _cutoff_date(release_day, cal)
    if cutoff is None:
        return None
    start = _previous_cutoff(release_day, cal)
    if start is None:
        raise ConfigError(
            f"calendar.holidays leave no arXiv announcement in the {_LOOKBACK_DAYS} days before {release_day}"
        )
    tz = ZoneInfo(cal.timezone)
    return Announcement(
        released=_at(release_day, cal.announce_time, tz),
        window_start=_at(start, cal.cutoff_time, tz).astimezone(dt.UTC),
        window_end=_at(cutoff, cal.cutoff_time, tz).astimezone(dt.UTC),
    )


def announcement_for(day: dt.date, cfg: Config) -> Announcement | None:
    """The announcement released in the 24 h before `day` at schedule.time (reader's tz), or None."""
    cal = cfg.calendar
    cal_tz = ZoneInfo(cal.timezone)
    moment = _at(day, cfg.schedule.time, cfg.tz)
    earliest = moment - dt.timedelta(hours=24)
    release_day = moment.astimezone(cal_tz).date()
    first_day = earliest.astimezone(cal_tz).date()
    while release_day >= first_day:
        ann = announcement_on(release_day, cal)
        if ann is not None and ann.released <= moment:
            return ann if ann.released >= earliest else None
        release_day -= dt.timedelta(days=1)
    return None
