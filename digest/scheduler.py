"""`digest schedule`: run daily at schedule.time, catch up a missed run, retry unfinished analyses."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.calendar import due_at
from digest.config import Config
from digest.errors import DigestError
from digest.state import load_day_state
from digest.store import Store

log = logging.getLogger("digest.scheduler")
MISFIRE_GRACE_S = 6 * 3600  # a machine that wakes up hours late still runs the day's digest


class Runner(Protocol):
    """What the scheduler runs (the pipeline, given by the CLI: the scheduler sits beside it, not above)."""

    def run(self, date: dt.date) -> Any: ...
    def retry(self, date: dt.date) -> Any: ...
    def request_stop(self, reason: str) -> None: ...
    def close(self) -> None: ...


class Daily:
    """The scheduler's jobs; one pipeline at a time (max_instances=1, one worker)."""

    def __init__(self, cfg: Config, runner: Callable[[Config], Runner]) -> None:
        self.cfg = cfg
        self.runner = runner
        self.current: Runner | None = None
        self.stopping = threading.Event()
        self.last_date: dt.date | None = None

    def now(self) -> dt.datetime:
        """Now in the reader's time zone."""
        return dt.datetime.now(self.cfg.tz)

    def due_time(self, day: dt.date) -> dt.datetime:
        """When the digest of `day` is due."""
        return due_at(day, self.cfg)

    def _last_run(self, day: dt.date) -> dict | None:
        if not Path(self.cfg.store.path).exists():
            return None
        store = Store(self.cfg.store.path)
        try:
            runs = [r for r in store.runs(day) if r["command"] == "run"]
        finally:
            store.close()
        return runs[-1] if runs else None

    def _unfinished(self, day: dt.date) -> bool:
        """The digest of `day` is written and something in it is failed or pending (its DayState says)."""
        if not Path(self.cfg.store.path).exists():
            return False
        store = Store(self.cfg.store.path)
        try:
            state = load_day_state(self.cfg, store, day)
        finally:
            store.close()
        return state is not None and state.written and not state.complete

    def run_needed(self) -> bool:
        """Today's digest is due, not written, and no run found there was nothing to write."""
        now = self.now()
        today = now.date()
        if now < self.due_time(today) or (Path(self.cfg.output.dir) / f"{today.isoformat()}.md").exists():
            return False
        last = self._last_run(today)
        return last is None or last["status"] not in ("nothing", "complete", "partial")

    def daily(self) -> None:
        """The daily job: run today's digest."""
        self._guarded(lambda p, d: p.run(d), self.now().date(), "run")

    def retry(self) -> None:
        """The periodic job: re-run today's failed fetch, or finish the latest date's analyses."""
        if self.run_needed():  # the morning run failed (arXiv unreachable, say): try again
            self.daily()
            return
        day = self.last_date or self.now().date()
        if self.now().date() > day and self.now() >= self.due_time(self.now().date()):
            return  # the next day's run has taken over
        if not self._unfinished(day):
            return
        resets = self.quota_resets_at()
        if resets is not None:  # a per-day 429 or llm.rpd: probing before the reset only wastes requests
            log.info("retry %s: waiting for the daily LLM quota to reset at %s", day, resets.astimezone(self.cfg.tz))
            return
        self._guarded(lambda p, d: p.retry(d), day, "retry")

    def quota_resets_at(self) -> dt.datetime | None:
        """When the exhausted daily LLM quota comes back (None: not known to be exhausted)."""
        if not Path(self.cfg.store.path).exists():
            return None
        store = Store(self.cfg.store.path)
        try:
            return store.quota_resets_at()
        finally:
            store.close()

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

    def stop(self) -> None:
        """Ask the job in flight to finish its current calls and stop."""
        self.stopping.set()
        if self.current is not None:
            self.current.request_stop("scheduler stopping")


def build_scheduler(cfg: Config, daily: Daily) -> BlockingScheduler:
    """The configured BlockingScheduler (not started)."""
    sched = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
        timezone=cfg.tz,
    )
    at = cfg.schedule.time
    sched.add_job(daily.daily, CronTrigger(hour=at.hour, minute=at.minute, timezone=cfg.tz), id="daily", name="daily digest")
    sched.add_job(daily.retry, IntervalTrigger(minutes=cfg.schedule.retry_every_minutes, timezone=cfg.tz),
                  id="retry", name="retry unfinished analyses")
    return sched


def serve(cfg: Config, runner: Callable[[Config], Runner]) -> int:
    """Run forever, each job through a fresh `runner(cfg)`; SIGTERM/SIGINT stop cleanly after the calls in flight."""
    daily = Daily(cfg, runner)
    sched = build_scheduler(cfg, daily)

    def on_signal(signum, _frame) -> None:
        log.info("received %s: stopping after the calls in flight", signal.Signals(signum).name)
        daily.stop()
        sched.shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if daily.run_needed():
        log.info("today's digest is due and missing: running it now")
        sched.add_job(daily.daily, id="catch-up", name="catch-up run")
    job = sched.get_job("daily")
    log.info("scheduled daily at %s %s; next run %s", f"{cfg.schedule.time:%H:%M}", cfg.timezone,
             getattr(job, "next_run_time", None) or "after start")
    sched.start()
    log.info("scheduler stopped")
    return 0
