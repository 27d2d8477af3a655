from __future__ import annotations

import bisect
import datetime as dt
import functools
from zoneinfo import ZoneInfo

import pytest

from digest.config import CalendarConfig, Config
from digest.errors import ConfigError
from digest.fetch import calendar as calendar_module
from digest.fetch.calendar import announcement_for, announcement_on
from digest.models import Announcement

ET = ZoneInfo("America/New_York")
UTC = dt.UTC
D = dt.date


def et(y: int, m: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=ET)


def utc(y: int, m: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=UTC)


def cfg(*, timezone: str = "Asia/Shanghai", time: str = "09:30", holidays: list[str] | None = None) -> Config:
    return Config.model_validate(
        {"timezone": timezone, "schedule": {"time": time}, "calendar": {"holidays": holidays or []}}
    )


def window(ann) -> tuple[dt.datetime, dt.datetime]:
    assert ann is not None
    return ann.window_start, ann.window_end


# --- Shanghai reader, ordinary week (EDT) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "released", "start", "end"),
    [
        (D(2025, 6, 2), et(2025, 6, 1, 20), et(2025, 5, 29, 14), et(2025, 5, 30, 14)),
        (D(2025, 6, 3), et(2025, 6, 2, 20), et(2025, 5, 30, 14), et(2025, 6, 2, 14)),
        (D(2025, 6, 4), et(2025, 6, 3, 20), et(2025, 6, 2, 14), et(2025, 6, 3, 14)),
        (D(2025, 6, 5), et(2025, 6, 4, 20), et(2025, 6, 3, 14), et(2025, 6, 4, 14)),
        (D(2025, 6, 6), et(2025, 6, 5, 20), et(2025, 6, 4, 14), et(2025, 6, 5, 14)),
    ],
)
def test_shanghai_weekdays(day: dt.date, released: dt.datetime, start: dt.datetime, end: dt.datetime) -> None:
    ann = announcement_for(day, Config())
    assert ann is not None
    assert ann.released == released
    assert window(ann) == (start, end)


def test_shanghai_monday_utc_bounds_and_zones() -> None:
    ann = announcement_for(D(2025, 6, 2), Config())
    assert ann is not None
    assert ann.window_start == utc(2025, 5, 29, 18)  # 14:00 EDT
    assert ann.window_end == utc(2025, 5, 30, 18)
    assert ann.window_start.tzinfo is UTC and ann.window_end.tzinfo is UTC
    assert ann.released.tzinfo == ET
    assert ann.released.astimezone(ZoneInfo("Asia/Shanghai")) == dt.datetime(
        2025, 6, 2, 8, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert ann.listing_date == D(2025, 6, 2)


@pytest.mark.parametrize("day", [D(2025, 6, 7), D(2025, 6, 8)])  # Saturday, Sunday in Shanghai
def test_shanghai_weekend_has_no_announcement(day: dt.date) -> None:
    assert announcement_for(day, Config()) is None


def test_schedule_before_release_and_previous_too_old() -> None:
    # Monday 2026-01-12 07:00 CST = Sunday 18:00 EST; the release is at 20:00 EST (09:00 CST).
    assert announcement_for(D(2026, 1, 12), cfg(time="07:00")) is None
    # At 09:30 the same Monday has it.
    assert window(announcement_for(D(2026, 1, 12), cfg(time="09:30"))) == (
        utc(2026, 1, 8, 19),
        utc(2026, 1, 9, 19),
    )
    # Tuesday 07:00 CST = Monday 18:00 EST: Monday's release is still 2 h away, Sunday's is 22 h old.
    assert window(announcement_for(D(2026, 1, 13), cfg(time="07:00"))) == (
        utc(2026, 1, 8, 19),
        utc(2026, 1, 9, 19),
    )


# --- New York reader --------------------------------------------------------------------------------


def test_new_york_reader_monday_covers_sunday_evening() -> None:
    ann = announcement_for(D(2025, 6, 2), cfg(timezone="America/New_York"))
    assert ann is not None
    assert ann.released == et(2025, 6, 1, 20)
    assert window(ann) == (et(2025, 5, 29, 14), et(2025, 5, 30, 14))


def test_new_york_reader_sunday_and_monday_evening() -> None:
    # Sunday 09:30 ET: Thursday's 20:00 release is > 24 h old, Sunday's is still ahead.
    assert announcement_for(D(2025, 6, 1), cfg(timezone="America/New_York")) is None
    # At 21:00 Monday's own release (20:00) is the latest one.
    ann = announcement_for(D(2025, 6, 2), cfg(timezone="America/New_York", time="21:00"))
    assert ann is not None and ann.released == et(2025, 6, 2, 20)


# --- DST ---------------------------------------------------------------------------------------------


def test_dst_start_2026_03_08() -> None:
    sunday = announcement_on(D(2026, 3, 8), CalendarConfig())
    assert sunday is not None
    assert sunday.released == utc(2026, 3, 9, 0)  # 20:00 EDT
    assert window(sunday) == (utc(2026, 3, 5, 19), utc(2026, 3, 6, 19))  # 14:00 EST both ends
    monday = announcement_on(D(2026, 3, 9), CalendarConfig())
    assert window(monday) == (utc(2026, 3, 6, 19), utc(2026, 3, 9, 18))  # EST -> EDT
    # Shanghai Monday 09:30 CST = Sunday 21:30 EDT.
    assert announcement_for(D(2026, 3, 9), Config()) == sunday
    assert announcement_for(D(2026, 3, 10), Config()) == monday


def test_dst_end_2026_11_01() -> None:
    sunday = announcement_on(D(2026, 11, 1), CalendarConfig())
    assert sunday is not None
    assert sunday.released == utc(2026, 11, 2, 1)  # 20:00 EST
    assert window(sunday) == (utc(2026, 10, 29, 18), utc(2026, 10, 30, 18))  # 14:00 EDT both ends
    monday = announcement_on(D(2026, 11, 2), CalendarConfig())
    assert window(monday) == (utc(2026, 10, 30, 18), utc(2026, 11, 2, 19))  # EDT -> EST
    # Shanghai Monday 09:30 CST = Sunday 20:30 EST, 30 min after the release.
    assert announcement_for(D(2026, 11, 2), Config()) == sunday
    # At 08:30 CST (19:30 EST) it is not out yet, and Thursday's is > 24 h old.
    assert announcement_for(D(2026, 11, 2), cfg(time="08:30")) is None


# --- holidays ------------------------------------------------------------------------------------------


def test_mlk_monday_holiday() -> None:
    cal = CalendarConfig(holidays=[D(2026, 1, 19)])
    assert window(announcement_on(D(2026, 1, 18), cal)) == (et(2026, 1, 15, 14), et(2026, 1, 16, 14))
    assert announcement_on(D(2026, 1, 19), cal) is None
    assert window(announcement_on(D(2026, 1, 20), cal)) == (et(2026, 1, 16, 14), et(2026, 1, 20, 14))
    c = cfg(holidays=["2026-01-19"])
    assert window(announcement_for(D(2026, 1, 19), c)) == (et(2026, 1, 15, 14), et(2026, 1, 16, 14))
    assert announcement_for(D(2026, 1, 20), c) is None  # Shanghai Tuesday: nothing Monday evening
    assert window(announcement_for(D(2026, 1, 21), c)) == (et(2026, 1, 16, 14), et(2026, 1, 20, 14))


def test_without_holiday_monday_announces() -> None:
    assert window(announcement_on(D(2026, 1, 19), CalendarConfig())) == (
        et(2026, 1, 16, 14),
        et(2026, 1, 19, 14),
    )


def test_thanksgiving_thursday_holiday() -> None:
    cal = CalendarConfig(holidays=[D(2026, 11, 26)])
    assert announcement_on(D(2026, 11, 26), cal) is None
    assert window(announcement_on(D(2026, 11, 29), cal)) == (et(2026, 11, 25, 14), et(2026, 11, 27, 14))
    assert window(announcement_on(D(2026, 11, 30), cal)) == (et(2026, 11, 27, 14), et(2026, 11, 30, 14))
    assert announcement_for(D(2026, 11, 27), cfg(holidays=["2026-11-26"])) is None


def test_christmas_friday_holiday_skips_sunday() -> None:
    cal = CalendarConfig(holidays=[D(2026, 12, 25)])
    assert window(announcement_on(D(2026, 12, 24), cal)) == (et(2026, 12, 23, 14), et(2026, 12, 24, 14))
    assert announcement_on(D(2026, 12, 27), cal) is None
    assert window(announcement_on(D(2026, 12, 28), cal)) == (et(2026, 12, 24, 14), et(2026, 12, 28, 14))
    assert announcement_for(D(2026, 12, 28), cfg(holidays=["2026-12-25"])) is None
    # Without the holiday the Sunday covers Thursday -> Friday.
    assert window(announcement_on(D(2026, 12, 27), CalendarConfig())) == (
        et(2026, 12, 24, 14),
        et(2026, 12, 25, 14),
    )


def test_sunday_holiday_moves_window_to_monday() -> None:
    cal = CalendarConfig(holidays=[D(2026, 1, 18)])
    assert announcement_on(D(2026, 1, 18), cal) is None
    assert window(announcement_on(D(2026, 1, 19), cal)) == (et(2026, 1, 15, 14), et(2026, 1, 19, 14))


@pytest.mark.parametrize("day", [D(2026, 1, 16), D(2026, 1, 17)])
def test_no_announcement_friday_saturday(day: dt.date) -> None:
    assert announcement_on(day, CalendarConfig()) is None


def test_custom_times_are_used() -> None:
    cal = CalendarConfig(announce_time="19:30", cutoff_time="13:00")
    ann = announcement_on(D(2025, 6, 3), cal)
    assert ann is not None
    assert ann.released == et(2025, 6, 3, 19, 30)
    assert window(ann) == (utc(2025, 6, 2, 17), utc(2025, 6, 3, 17))


def test_holidays_without_any_announcement_raise() -> None:
    start = D(2026, 1, 1)
    cal = CalendarConfig(holidays=[start + dt.timedelta(days=i) for i in range(90) if i != 81])
    with pytest.raises(ConfigError):
        announcement_on(start + dt.timedelta(days=81), cal)  # a Monday


# --- half-open windows: every announcement in exactly one digest date ---------------------------------

ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Cairo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "UTC",
    "Pacific/Chatham",
    "America/St_Johns",
]
FIRST, LAST = D(2025, 1, 1), D(2026, 12, 31)
NEW_YORK = "America/New_York"  # CalendarConfig's zone: where arXiv's releases and cutoffs move with DST
# A full week of releases and digest dates, and a day more, either side of a day that matters.
AROUND = dt.timedelta(days=8)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@functools.cache
def _offset_changes(zone: str) -> list[dt.date]:
    """The dates in FIRST..LAST whose noon has another UTC offset than the day before's (DST starts and ends)."""
    tz = ZoneInfo(zone)

    def offset(day: dt.date) -> dt.timedelta | None:
        return dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()

    return [d for d in _days(FIRST, LAST) if offset(d) != offset(d - dt.timedelta(days=1))]


def _stretches(zone: str) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive digest dates around every day that can break the windows for a reader in `zone`.

    A date's window depends only on its weekday and on the UTC offsets of the reader's zone and New York's
    (no holidays here): away from a DST change the dates repeat week by week. A week either side of every
    change, plus the first fortnight and the turn of the year, meets every case that a brute force over
    FIRST..LAST meets, with a fifth to a quarter of its dates.
    """
    marks = sorted({FIRST + AROUND, D(2026, 1, 1), *_offset_changes(zone), *_offset_changes(NEW_YORK)})
    runs: list[tuple[dt.date, dt.date]] = []
    for mark in marks:
        first, last = max(FIRST, mark - AROUND), min(LAST, mark + AROUND)
        if runs and first <= runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], max(runs[-1][1], last))
        else:
            runs.append((first, last))
    return runs


def test_the_stretches_hold_every_dst_change_of_both_zones() -> None:
    assert _offset_changes("Asia/Shanghai") == []
    assert _offset_changes(NEW_YORK) == [D(2025, 3, 9), D(2025, 11, 2), D(2026, 3, 8), D(2026, 11, 1)]
    assert len(_offset_changes("Africa/Cairo")) == len(_offset_changes("Pacific/Chatham")) == 4
    for zone in ZONES:
        runs = _stretches(zone)
        for change in _offset_changes(zone) + _offset_changes(NEW_YORK):
            assert any(first <= change - AROUND and change + AROUND <= last for first, last in runs), (
                zone,
                change,
            )
        days = sum((last - first).days + 1 for first, last in runs)
        assert days < (LAST - FIRST).days / 3, (zone, days)


def test_release_at_schedule_time_belongs_to_that_day_only() -> None:
    # 08:00 Asia/Shanghai in summer is 20:00 in New York: Thursday's release is Friday's, not Saturday's.
    c = cfg(time="08:00")
    friday = announcement_for(D(2025, 6, 6), c)
    assert friday is not None and friday.released == et(2025, 6, 5, 20)
    assert announcement_for(D(2025, 6, 7), c) is None


def test_every_announcement_lands_in_exactly_one_digest_date(monkeypatch) -> None:
    cal = CalendarConfig()
    on_day = {
        d: announcement_on(d, cal) for d in _days(FIRST - dt.timedelta(days=3), LAST + dt.timedelta(days=3))
    }
    releases = [a for a in on_day.values() if a is not None]

    def reused(day: dt.date, calendar: CalendarConfig) -> Announcement | None:
        """announcement_on is pure: announcement_for gets the answers computed above, not each again."""
        assert calendar == cal
        return on_day[day]

    monkeypatch.setattr(calendar_module, "announcement_on", reused)
    by_end = {a.window_end: i for i, a in enumerate(releases)}
    released = [a.released for a in releases]  # in order
    assert released == sorted(released)
    merged_days = 0
    for zone in ZONES:
        runs = _stretches(zone)
        for hour in range(24):
            for minute in (0, 30):
                c = cfg(timezone=zone, time=f"{hour:02d}:{minute:02d}")
                for first, last in runs:
                    used: dict[int, int] = {}
                    for day in _days(first, last):
                        ann = announcement_for(day, c)
                        if ann is None:
                            continue
                        i = by_end[ann.window_end]  # the latest release the date covers
                        assert releases[i].released == ann.released
                        while releases[i].window_start > ann.window_start:  # and any earlier one merged in
                            used[i] = used.get(i, 0) + 1
                            i -= 1
                            merged_days += 1
                        assert releases[i].window_start == ann.window_start
                        used[i] = used.get(i, 0) + 1
                    # Every release between the run's first and last digests' due times is used exactly once.
                    tz = ZoneInfo(zone)
                    lo = dt.datetime.combine(first - dt.timedelta(days=1), c.schedule.time, tzinfo=tz)
                    hi = dt.datetime.combine(last, c.schedule.time, tzinfo=tz)
                    inside = range(bisect.bisect_right(released, lo), bisect.bisect_right(released, hi))
                    assert inside and [used.get(i, 0) for i in inside] == [1] * len(inside), (
                        zone,
                        hour,
                        minute,
                        first,
                    )
                    assert sum(used.values()) == len(inside), (zone, hour, minute, first)
    assert merged_days  # Cairo's 25-hour day held two releases for some schedule times: none was lost
