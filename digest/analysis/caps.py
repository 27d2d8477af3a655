"""What one run may still send: the stop switch, llm.max_calls_per_run, the key's daily quota (llm.rpd, a
per-day 429: when it resets, what is left today) and llm.max_cost_usd_per_day. Shared by the worker threads
of a run, under one lock; `Caps.send` makes one logical request under them (digest.day.plan fits a day to
the quota)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from digest.config import Config, estimate_cost
from digest.errors import AuthError, LLMError, QuotaExhausted, RateLimited
from digest.llm.base import Attachment, Generation, Provider
from digest.llm.policy import MAX_WAIT_S, call_with_policy, short_error
from digest.llm.ratelimit import Limiter, LimiterStopped
from digest.store import Store

log = logging.getLogger("digest.analysis.caps")


class Stopped(Exception):
    """LLM work was stopped for this run (quota gone, bad key, budget cap, signal)."""


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


class Failed(Exception):
    """A job got no valid answer: its failure kind, a one-line message and the last raw answer."""

    def __init__(self, kind: str, msg: str, raw: str | None) -> None:
        super().__init__(msg)
        self.kind, self.msg, self.raw = kind, msg, raw


def short_line(text: str) -> str:
    """An error on one short line."""
    return short_error(" ".join(text.split()))


class Caps:
    """Requests reserved and sent by this run, and why it stopped (the first reason wins)."""

    def __init__(self, cfg: Config, *, store: Store, limiter: Limiter) -> None:
        self.cfg = cfg
        self.store = store
        self.limiter = limiter
        self.calls = 0  # requests sent (every retry counts)
        self.reserved = 0  # requests about to be sent, counted against llm.max_calls_per_run
        self.stop_reason: str | None = None
        self.held: str | None = None  # papers held back so the summary keeps its request (llm.rpd)
        self.auth_error: AuthError | None = None  # the provider refused the key
        self._lock = threading.RLock()
        self.quota = DailyQuota(rpd=cfg.llm.rpd, tz=cfg.llm.quota_reset_tz, store=store)
        if self.quota.resets_at is not None:
            self.stop(self.quota.reason(cfg.tz))

    def stop(self, reason: str) -> None:
        """Stop all LLM work: jobs not yet started stay pending."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
        self.limiter.stop()

    def requests_left(self) -> int | None:
        """Requests left today under llm.rpd (None: unknown)."""
        with self._lock:
            return self.quota.left(max(self.reserved, self.calls))

    def reserve(self, *, summary: bool = False) -> None:
        """Reserve one request under the caps, or raise Stopped."""
        llm = self.cfg.llm
        with self._lock:
            if self.stop_reason:
                raise Stopped(self.stop_reason)
            if llm.max_calls_per_run is not None and self.reserved >= llm.max_calls_per_run:
                # No new request; the ones already reserved still go (sent() stops the limiter after them).
                self.stop_reason = (
                    self.stop_reason or f"llm.max_calls_per_run ({llm.max_calls_per_run}) reached"
                )
                raise Stopped(self.stop_reason)
            if self._rpd_spent(summary=summary):
                self.held = f"llm.rpd ({llm.rpd}) requests per day: today's are used up"
                raise Stopped(self.held)
            self.reserved += 1  # reserved before sending: concurrent workers cannot overrun the cap
        if llm.max_cost_usd_per_day is not None:
            # per calendar day in `timezone`, whatever digest dates the calls were made for
            midnight = dt.datetime.combine(dt.datetime.now(self.cfg.tz).date(), dt.time(), tzinfo=self.cfg.tz)
            spent = estimate_cost(self.store.call_stats_since(midnight), self.cfg)
            if spent >= llm.max_cost_usd_per_day:
                self.stop(
                    f"llm.max_cost_usd_per_day ({llm.max_cost_usd_per_day:g} USD) reached: {spent:.4f} USD"
                )
                raise Stopped(self.stop_reason)

    def may_retry(self, *, summary: bool = False) -> bool:
        """Reserve one more request for a retry (429, 5xx) unless it would eat the summary's under llm.rpd."""
        with self._lock:
            if self._rpd_spent(summary=summary):
                return False
            self.reserved += 1
            return True

    def _rpd_spent(self, *, summary: bool) -> bool:
        """Under llm.rpd, no request is left for this job."""
        left = self.requests_left()
        return left is not None and left <= (0 if summary else 1)  # the summary keeps the last request

    def sent(self) -> None:
        """A request went out: stop at llm.max_calls_per_run, or when it used the day's last (llm.rpd)."""
        with self._lock:
            self.calls += 1
            cap = self.cfg.llm.max_calls_per_run
            if cap is not None and self.calls >= cap:
                self.stop(f"llm.max_calls_per_run ({cap}) reached")
            if self.quota.left(self.calls) == 0:  # llm.rpd used up: nothing more until the reset
                self.quota_exhausted()

    def quota_exhausted(self) -> None:
        """The key's daily quota is gone (a per-day 429 or llm.rpd): store its reset and stop."""
        self.quota.exhausted()
        self.stop(self.quota.reason(self.cfg.tz))

    def send(
        self,
        provider: Provider,
        prompt: str,
        *,
        schema: type[BaseModel],
        attachments: list[Attachment] | None,
        max_attempts: int,
        on_call: Callable[[Any], None],
        summary: bool = False,
    ) -> Generation:
        """One logical request under the retry policy; the provider's errors stop the run (Stopped) or fail
        the job (Failed)."""
        try:
            return call_with_policy(
                provider,
                prompt,
                schema=schema,
                attachments=attachments,
                limiter=self.limiter,
                max_attempts=max_attempts,
                on_call=on_call,
                may_retry=lambda: self.may_retry(summary=summary),
            )
        except QuotaExhausted as exc:
            log.info("quota exhausted: %s", short_error(str(exc)))
            self.quota_exhausted()
            raise Stopped(self.stop_reason) from exc
        except AuthError as exc:
            self.auth_error = exc
            self.stop(f"invalid API key: {short_error(str(exc))}")
            raise Stopped(self.stop_reason) from exc
        except LimiterStopped as exc:
            # Another worker stopped the limiter (quota, bad key, cap, signal): this one stays pending.
            raise Stopped(self.stop_reason or str(exc)) from exc
        except LLMError as exc:
            if isinstance(exc, RateLimited) or (exc.retry_after or 0.0) > MAX_WAIT_S:
                # Still refused after every attempt, or told to wait longer than we would: the quota is
                # effectively gone for now. Keep the rest pending instead of failing paper after paper.
                wait = f" (server asks to wait {exc.retry_after:.0f} s)" if exc.retry_after else ""
                what = "rate limited" if isinstance(exc, RateLimited) else "server unavailable"
                self.stop(f"{what}{wait}: {short_error(str(exc))}")
            if self.stop_reason:
                raise Stopped(self.stop_reason) from exc
            raise Failed(exc.kind, short_line(str(exc)), None) from exc
