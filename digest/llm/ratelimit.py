"""A shared request limiter: a sliding 60 s window and an in-flight cap that follows the observed latency."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from digest.errors import LLMError

WINDOW_S = 60.0
MARGIN = 0.03  # pace 3 % slower than the quota: clocks and network delays differ
LATENCY_SAMPLES = 5  # recent successful requests whose slowest answer sets the in-flight limit
# A first request still running after this long (in a 60 s window) is being answered: a bad key or a spent
# quota is refused at once. Concurrency opens then, not only at its answer, so a slow first answer (15 s and
# more) does not leave the pace a whole latency behind.
OPEN_AFTER_S = 5.0


class LimiterStopped(LLMError):
    """The limiter was stopped (quota gone, bad key, SIGTERM): no more requests this run."""

    kind = "stopped"

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


@dataclass
class Slot:
    """One admitted request; release() records how it ended."""

    started: float
    outcome: str | None = None  # "ok" | "rate_limited" | "error"


class Limiter:
    """Thread-safe gate shared by all workers.

    - starts are paced evenly: one every `window_s / rpm` seconds (plus a small safety margin), so
      never more than `rpm` in any 60 s window and no burst at the start of a minute for the server to
      refuse (rpm < 1 works the same: one start per 60/rpm s);
    - at most about rpm x latency / 60 + 1 requests in flight (the slowest of the last few answers),
      capped by `max_concurrency`: enough to keep the pace while answers are slow, and no more, so a
      stop (quota, key) finds few requests already sent;
    - the first request goes alone: concurrency opens after one succeeds, or once it has been running for
      OPEN_AFTER_S (a rejection comes at once), so a bad key costs one call;
    - after a 429 the rate drops to what the server admitted in the last 60 s and stays there
      for the rest of the run (a free-tier quota does not come back within a run; probing upwards
      would buy one more 429 per minute).

    `sleep=None` waits on an internal condition so `stop()` wakes waiters at once; tests pass a
    fake `clock` and a `sleep` that advances it.
    """

    def __init__(
        self,
        rpm: float,
        max_concurrency: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        window_s: float = WINDOW_S,
        margin: float = MARGIN,
    ) -> None:
        if rpm <= 0 or max_concurrency < 1 or window_s <= 0:
            raise ValueError("rpm and window_s must be > 0 and max_concurrency >= 1")
        self.window_s = float(window_s)  # 60 s in production; benchmarks may shrink time
        self.rpm = float(rpm)
        self.max_concurrency = int(max_concurrency)
        self.margin = float(margin)  # our clock and the server's never agree to the millisecond
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._starts: deque[Slot] = deque()  # requests started inside the window, with their outcome
        # Starts are due on a grid: origin + n * interval. A stall (the first call going alone, a slow
        # answer) leaves the grid behind; the requests then catch up as fast as the sliding window allows,
        # so latency overlaps pacing instead of adding to it.
        self._grid_origin: float | None = None
        self._grid_count = 0
        self._grid_rate: float | None = None
        self._flying: list[Slot] = []  # admitted and not yet released, oldest first
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._opened = False  # set by the first success
        self._lowered_rpm: float | None = None
        self._stopped: str | None = None
        self._stop_cause: BaseException | None = None
        self.rate_limited_count = 0

    # state ---------------------------------------------------------------------------------------
    def effective_rpm(self) -> float:
        """The rate in force now (lowered after a 429)."""
        with self._cond:
            return self._rate()

    def in_flight(self) -> int:
        """Requests admitted and not yet released."""
        with self._cond:
            return len(self._flying)

    def concurrency_limit(self) -> int:
        """Requests allowed in flight now: 1 until a success, then rpm x observed latency / window + 1."""
        with self._cond:
            return self._cap()

    def _cap(self) -> int:
        # The oldest request still running bounds the latency from below, before any answer tells it.
        running = self._clock() - self._flying[0].started if self._flying else 0.0
        if not self._opened and running < self._open_after():
            return 1
        if (
            self._opened and not self._latencies
        ):  # successes reported without a latency: only the cap is known
            return self.max_concurrency
        need = math.ceil(self._rate() * max([running, *self._latencies]) / self.window_s) + 1
        return max(1, min(self.max_concurrency, need))

    def _open_after(self) -> float:
        return OPEN_AFTER_S * self.window_s / WINDOW_S

    def _rate(self) -> float:
        return self.rpm if self._lowered_rpm is None else min(self.rpm, self._lowered_rpm)

    def _prune(self, now: float) -> None:
        horizon = now - self.window_s * (1.0 + self.margin) * max(1.0, 1.0 / self.rpm)
        while self._starts and self._starts[0].started <= horizon:
            self._starts.popleft()

    def _delay(self, now: float) -> float:
        """Seconds until one more request may start (0: now): the grid, then the sliding window."""
        rate = self._rate()
        window = self.window_s * (1.0 + self.margin)
        interval = window / rate
        if self._grid_origin is None or self._grid_rate != rate:
            self._grid_origin, self._grid_count, self._grid_rate = now, 0, rate  # (re)start the grid
        due = self._grid_origin + self._grid_count * interval
        if due < now - window:  # idle time is banked for one window at most
            self._grid_origin += (now - window) - due
            due = now - window
        delay = max(0.0, due - now)
        # Catching up is one start at a time, a second apart (scaled with the window), never a burst:
        # a burst would all land before the server's first 429 could stop it.
        if self._starts:
            delay = max(delay, self._starts[-1].started + min(self.window_s / 60.0, interval) - now)
        # Never more than the rate in any window, counting what the server admitted (requests sent
        # before a 429 at the old pace are still in its window; refused ones are not).
        self._prune(now)
        allowed, span = (int(rate), window) if rate >= 1 else (1, interval)
        admitted = [s.started for s in self._starts if s.outcome != "rate_limited" and s.started > now - span]
        if len(admitted) >= allowed:
            delay = max(delay, admitted[-allowed] + span - now)
        return delay

    def seed(self, ages: list[float]) -> None:
        """Count requests an earlier process sent `ages` seconds ago against the window (a `retry`
        started right after a `run` must not go over the rate)."""
        with self._cond:
            now = self._clock()
            for age in sorted(ages, reverse=True):
                if 0 <= age < self.window_s:
                    self._starts.append(Slot(started=now - age, outcome="ok"))
            if self._starts:
                rate = self._rate()
                self._grid_origin, self._grid_count, self._grid_rate = self._starts[-1].started, 1, rate

    # acquire / release -------------------------------------------------------------------------
    def acquire(self) -> Slot:
        """Block until a request may start; raise LimiterStopped if stop() was called."""
        with self._cond:
            while True:
                if self._stopped is not None:
                    raise LimiterStopped(self._stopped, cause=self._stop_cause)
                if len(self._flying) >= self._cap():
                    # woken by release() or stop(); the cap also grows while a request runs on
                    self._wait(self._open_after() / 5)
                    continue
                now = self._clock()
                delay = self._delay(now)
                if delay > 0:
                    self._wait(max(delay, 1e-3))
                    continue
                slot = Slot(started=now)
                self._starts.append(slot)
                self._flying.append(slot)
                self._grid_count += 1
                return slot

    def _wait(self, seconds: float) -> None:
        if self._sleep is None:
            self._cond.wait(timeout=seconds)
            return
        self._cond.release()
        try:
            self._sleep(seconds)
        finally:
            self._cond.acquire()

    def release(self, slot: Slot, outcome: str | None = None, *, latency_s: float | None = None) -> None:
        """End a request: "ok" opens concurrency (sized by its latency); "rate_limited" lowers the rate."""
        outcome = outcome or slot.outcome or "error"
        with self._cond:
            self._flying = [s for s in self._flying if s is not slot]
            slot.outcome = outcome
            now = self._clock()
            if outcome == "ok":
                self._opened = True
                if latency_s is not None:
                    self._latencies.append(latency_s)
            elif outcome == "rate_limited":
                self.rate_limited_count += 1
                self._prune(now)
                # Admitted: every start in the window the server did not refuse, answered or still in
                # flight (with slow answers most admitted requests are still running at this moment).
                admitted = float(
                    sum(
                        1
                        for s in self._starts
                        if s.outcome != "rate_limited" and s.started > now - self.window_s
                    )
                )
                # Nothing admitted yet says nothing about the quota: the server's retry hint (which the
                # policy waits) is all we know, so the pace is left alone.
                if admitted >= 1:
                    self._lowered_rpm = (
                        admitted if self._lowered_rpm is None else min(self._lowered_rpm, admitted)
                    )
            self._cond.notify_all()

    def stop(self, reason: str = "stopped", *, cause: BaseException | None = None) -> None:
        """Refuse further requests and wake every waiter (they raise LimiterStopped)."""
        with self._cond:
            if self._stopped is None:
                self._stopped = reason
                self._stop_cause = cause
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early if stop() is called (used between retries)."""
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
            return
        deadline = self._clock() + seconds
        with self._cond:
            while self._stopped is None:
                left = deadline - self._clock()
                if left <= 0:
                    return
                self._cond.wait(timeout=left)
