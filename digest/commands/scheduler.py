"""`digest schedule`: run daily at schedule.time, catch up a missed run, retry unfinished analyses."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.config import Config
from digest.day.verdict import Verdict
from digest.errors import DigestError
from digest.fetch.calendar import due_at

log = logging.getLogger("digest.commands.scheduler")
MISFIRE_GRACE_S = 6 * 3600  # a machine that wakes up hours late still runs the day's digest
MAX_NAP_S = 60.0  # the wall clock is read again at least this often (suspend, clock changes)


class Clock(Protocol):
    """Where the scheduler gets the time and how it waits (tests drive a virtual one)."""

    def now(self, tz: dt.tzinfo) -> dt.datetime: ...
    def wait(self, seconds: float, stop: threading.Event) -> None: ...


class WallClock:
    """The real clock: naps of at most MAX_NAP_S, cut short by a stop."""

    def now(self, tz: dt.tzinfo) -> dt.datetime:
        """Now in `tz`."""
        return dt.datetime.now(tz)

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Sleep up to `seconds` (at most MAX_NAP_S) unless stopped."""
        stop.wait(max(0.0, min(seconds, MAX_NAP_S)))


class Runner(Protocol):
    """What the scheduler runs (the pipeline, given by the CLI: the scheduler sits beside it, not above)."""

    def run(self, date: dt.date) -> Any: ...
    def retry(self, date: dt.date) -> Any: ...
    def verdict(self, date: dt.date) -> Verdict: ...
    def request_stop(self, reason: str) -> None: ...
    def close(self) -> None: ...


class Daily:
    """The scheduler's jobs; one pipeline at a time (max_instances=1, one worker)."""

    def __init__(
        self, cfg: Config, runner: Callable[[Config], Runner], *, clock: Clock | None = None
    ) -> None:
        self.cfg = cfg
        self.runner = runner
        self.clock = clock or WallClock()
        self.current: Runner | None = None
        self.stopping = threading.Event()
        self.last_date: dt.date | None = None

    def now(self) -> dt.datetime:
        """Now in the reader's time zone."""
        return self.clock.now(self.cfg.tz)

    def due_time(self, day: dt.date) -> dt.datetime:
        """When the digest of `day` is due."""
        return due_at(day, self.cfg)

    def _verdict(self, day: dt.date) -> Verdict:
        """How `day` stands, asked of a runner (the scheduler reads no store)."""
        runner = self.runner(self.cfg)
        try:
            return runner.verdict(day)
        finally:
            runner.close()

    def _unfinished(self, day: dt.date, v: Verdict | None = None) -> bool:
        """The digest of `day` is written and the hourly retry could change it (the verdict says so)."""
        v = v or self._verdict(day)
        if v.complete or not v.written:
            return False
        if not v.scheduled_retry:
            log.info(
                "retry %s: nothing the retry can change (the model keeps answering in another language than "
                "`language: %s`, or the day's attempts are spent): change the model or `language`, or run "
                "`digest retry --date %s` by hand",
                day,
                self.cfg.language,
                day,
            )
        return v.scheduled_retry

    def run_needed(self) -> bool:
        """Today's digest is due, not written, and no run found there was nothing to write."""
        now = self.now()
        today = now.date()
        if now < self.due_time(today):
            return False
        v = self._verdict(today)
        return not v.written and v.last_run not in ("nothing", "complete", "partial")

    def daily(self) -> None:
        """The daily job: run today's digest."""
        self._guarded(lambda p, d: p.run(d), self.now().date(), "run")

    def retry(self) -> None:
        """The periodic job: do what retry_action decides."""
        action = self.retry_action()
        if action == "run":
            self.daily()
        elif action is not None:
            self._guarded(lambda p, d: p.retry(d), action, "retry")

    def retry_action(self) -> str | dt.date | None:
        """ "run" (today's run failed: run again), the date whose analyses to retry, or None (nothing to do)."""
        if self.run_needed():  # the morning run failed (arXiv unreachable, say): try again
            return "run"
        day = self.last_date or self.now().date()
        if self.now().date() > day and self.now() >= self.due_time(self.now().date()):
            return None  # the next day's run has taken over
        v = self._verdict(day)
        if not self._unfinished(day, v):
            return None
        resets = v.resets_at
        if resets is not None:  # a per-day 429 or llm.rpd: probing before the reset only wastes requests
            log.info(
                "retry %s: waiting for the daily LLM quota to reset at %s",
                day,
                resets.astimezone(self.cfg.tz),
            )
            return None
        return day

    def quota_resets_at(self, day: dt.date | None = None) -> dt.datetime | None:
        """When the exhausted daily LLM quota comes back (None: not known to be exhausted)."""
        return self._verdict(day or self.now().date()).resets_at

    def _guarded(self, action, day: dt.date, name: str) -> None:
        if self.stopping.is_set():
            return
        pipe = self.runner(self.cfg)
        self.current = pipe
        try:
            report = action(pipe, day)
            self.last_date = day
            log.info("%s %s: %s (%s)", name, day, report.status, report.message)
        except DigestError as exc:
            log.error("%s %s failed: %s", name, day, exc)
        except Exception:  # noqa: BLE001 - a bad day must not kill the service
            log.exception("%s %s failed unexpectedly", name, day)
        finally:
            self.current = None
            pipe.close()

    def stop(self, reason: str = "scheduler stopping") -> None:
        """Ask the job in flight to finish its current calls and stop; no job starts after it."""
        self.stopping.set()
        if self.current is not None:
            self.current.request_stop(reason)


def serve(daily: Daily) -> int:
    """Run the daily job at schedule.time and the retry job every retry_every_minutes until stopped.

    APScheduler's triggers decide the fire times (DST included); the loop is ours because its
    schedulers and executors read the wall clock themselves, and jobs run here, in the calling thread,
    so a stop lets the job in flight finish its calls and write the digest before this returns.
    """
    cfg = daily.cfg
    at, every = cfg.schedule.time, dt.timedelta(minutes=cfg.schedule.retry_every_minutes)
    start = daily.now()
    jobs: list[tuple[CronTrigger | IntervalTrigger, Callable[[], None]]] = [
        (CronTrigger(hour=at.hour, minute=at.minute, timezone=cfg.tz), daily.daily),
        (
            IntervalTrigger(
                minutes=cfg.schedule.retry_every_minutes, start_date=start + every, timezone=cfg.tz
            ),
            daily.retry,
        ),
    ]
    fires = [trigger.get_next_fire_time(None, start) for trigger, _ in jobs]
    log.info("scheduled daily at %s %s; next run %s", f"{at:%H:%M}", cfg.timezone, fires[0])
    if daily.run_needed():
        log.info("today's digest is due and missing: running it now")
        daily.daily()
    while not daily.stopping.is_set():
        now = daily.now()
        i = min(range(len(jobs)), key=lambda k: fires[k])
        if fires[i] > now:
            daily.clock.wait((fires[i] - now).total_seconds(), daily.stopping)
            continue
        if now - fires[i] <= dt.timedelta(seconds=MISFIRE_GRACE_S):
            jobs[i][1]()
        else:
            log.warning("skipped the %s job due at %s: woke up too late", jobs[i][1].__name__, fires[i])
        # fires missed while a job ran are not replayed one by one (the retry job catches up)
        fires[i] = jobs[i][0].get_next_fire_time(
            None, max(daily.now(), fires[i] + dt.timedelta(microseconds=1))
        )
    log.info("scheduler stopped")
    return 0
