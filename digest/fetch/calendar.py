"""Map a digest date to the arXiv announcement it covers (pure: no I/O, no clock)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from digest.config import CalendarConfig, Config
from digest.errors import ConfigError
from digest.models import Announcement

FIRST_DATE = dt.date(2007, 4, 1)  # arXiv's current identifiers (YYMM.NNNN) start with April 2007
_LOOKBACK_DAYS = 60  # how far back to search for the previous announcement
_SUNDAY = 6
_HF_LOOKBACK_DAYS = 14  # how far back hf_dates looks for the previous digest date


def _at(day: dt.date, clock: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=tz)


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


def check_date(day: dt.date, *, today: dt.date) -> None:
    """Refuse a digest date arXiv cannot have (before FIRST_DATE) or more than a day after `today`."""
    if day < FIRST_DATE:
        raise ConfigError(
            f"date {day} is before {FIRST_DATE}, when arXiv's current paper ids begin; pick a later date"
        )
    if day > today + dt.timedelta(days=1):
        raise ConfigError(
            f"date {day} is more than a day after today ({today}); pick today or an earlier date"
        )


def due_at(day: dt.date, cfg: Config) -> dt.datetime:
    """When the digest of `day` is due: schedule.time on that day in the reader's time zone."""
    return _at(day, cfg.schedule.time, cfg.tz)


def announcement_for(day: dt.date, cfg: Config) -> Announcement | None:
    """The announcement released after the previous day's schedule.time and up to this day's, or None.

    The windows are half-open and follow the reader's wall clock (23 or 25 h across a DST change), so
    every announcement lands in exactly one digest date. A 25-hour day can hold two releases: then
    the date covers both (one window from the first's start to the second's end).
    """
    cal = cfg.calendar
    cal_tz = ZoneInfo(cal.timezone)
    moment, earliest = due_at(day, cfg), due_at(day - dt.timedelta(days=1), cfg)
    found: list[Announcement] = []
    release_day = earliest.astimezone(cal_tz).date()
    while release_day <= moment.astimezone(cal_tz).date():
        ann = announcement_on(release_day, cal)
        if ann is not None and earliest < ann.released <= moment:
            found.append(ann)
        release_day += dt.timedelta(days=1)
    if len(found) <= 1:
        return found[0] if found else None
    return Announcement(
        released=found[-1].released, window_start=found[0].window_start, window_end=found[-1].window_end
    )


def hf_dates(day: dt.date, cfg: Config) -> list[dt.date]:
    """The HuggingFace daily lists the digest of `day` reads: every list since the previous digest's, lag included.

    A date no announcement covers gets no digest, so its list (a Friday's, under lag 1) goes into the next
    digest's: none is read twice and none is skipped. Empty when `day` itself has no announcement.
    """
    if announcement_for(day, cfg) is None:
        return []
    lag = dt.timedelta(days=cfg.sources.huggingface.lag_days)
    previous = day - dt.timedelta(days=1)
    for _ in range(_HF_LOOKBACK_DAYS):
        if announcement_for(previous, cfg) is not None:
            break
        previous -= dt.timedelta(days=1)
    else:  # no digest date in sight (a long holiday list): the day's own list only
        previous = day - dt.timedelta(days=1)
    return [previous + dt.timedelta(days=i) - lag for i in range(1, (day - previous).days + 1)]
