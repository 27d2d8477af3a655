"""Limiter: sliding window, concurrency cap, first call alone, lowering after 429, stop; retry-hint parsers."""

from __future__ import annotations

import email.utils
import threading
import time

import pytest

from digest.llm.ratelimit import (
    Limiter,
    LimiterStopped,
)
from digest.retrying import parse_duration, retry_after_header, retry_hint_from_message
from tests.fakes.llm_server import load_fixture
from tests.helpers_sources import FakeClock


def _limiter(rpm: float, conc: int = 1, margin: float = 0.0) -> tuple[Limiter, FakeClock]:
    clock = FakeClock(0.0)
    return Limiter(rpm, conc, clock=clock, sleep=clock.sleep, margin=margin), clock


def _run(limiter: Limiter, clock: FakeClock, outcome: str = "ok") -> float:
    slot = limiter.acquire()
    limiter.release(slot, outcome)
    return clock.now


def test_starts_are_paced_evenly_within_rpm():
    limiter, clock = _limiter(3)
    starts = [_run(limiter, clock) for _ in range(7)]
    assert starts == [0, 20, 40, 60, 80, 100, 120]
    for i in range(len(starts)):  # never more than 3 starts in any 60 s
        assert sum(1 for t in starts if starts[i] - 60 < t <= starts[i]) <= 3


def test_margin_paces_slightly_slower_than_the_quota():
    limiter, clock = _limiter(10, margin=0.03)
    starts = [_run(limiter, clock) for _ in range(11)]
    assert starts[1] == pytest.approx(6.18)
    assert starts[10] > 60  # the 11th start never shares a server-side minute with the 1st


def test_idle_time_is_banked_for_one_window_at_most():
    limiter, clock = _limiter(2)
    _run(limiter, clock)
    clock.now = 300
    assert [_run(limiter, clock) for _ in range(4)] == [300, 301, 360, 361]


def test_a_slow_first_call_is_caught_up_within_the_window():
    # the first call goes alone and takes 20 s; the grid (one start every 6 s) is behind, so the
    # next starts catch up at once, but never more than 10 in any 60 s
    limiter, clock = _limiter(10, conc=4)
    first = limiter.acquire()
    clock.now = 20
    limiter.release(first, "ok")
    starts = [0.0]
    for _ in range(10):  # 11 calls in all: one more than the rate
        starts.append(_run(limiter, clock))
    assert starts[1:4] == [20, 21, 22]  # due at 6, 12 and 18: caught up, one second apart
    assert starts[4] == 24  # back on the grid
    for i in range(len(starts)):
        assert sum(1 for t in starts if starts[i] - 60 < t <= starts[i]) <= 10
    assert starts[-1] - starts[0] <= 1.1 * 10 * 6  # latency overlapped the pacing (without: 20 + 9 * 6)


def test_fractional_rpm_spaces_starts():
    limiter, clock = _limiter(0.5)
    assert [_run(limiter, clock) for _ in range(3)] == [0, 120, 240]


def test_first_request_goes_alone_until_one_succeeds():
    limiter = Limiter(1000, 4)
    first = limiter.acquire()
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(limiter.acquire()))
    t.start()
    time.sleep(0.1)
    assert got == []  # blocked: nothing has succeeded yet
    limiter.release(first, "error")  # a failure does not open concurrency
    t.join(1)
    assert len(got) == 1
    third: list[object] = []
    t3 = threading.Thread(target=lambda: third.append(limiter.acquire()))
    t3.start()
    time.sleep(0.1)
    assert third == []
    limiter.release(got[0], "ok")  # now concurrency opens
    t3.join(1)
    extra = [limiter.acquire() for _ in range(3)]
    assert limiter.in_flight() == 4
    for s in [*third, *extra]:
        limiter.release(s, "ok")


def test_a_first_call_still_running_after_a_few_seconds_opens_concurrency():
    # A bad key or a spent quota is refused at once; a request still running after 5 s is being answered.
    limiter, clock = _limiter(30, conc=8)
    first = limiter.acquire()
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(limiter.acquire()), daemon=True)
    t.start()
    t.join(10)  # only bounds a hang (the fake clock moves when the limiter sleeps)
    assert len(got) == 1 and limiter.in_flight() == 2
    assert clock.now == pytest.approx(5.0)  # alone until the first had run 5 s, then opened at once
    assert limiter.concurrency_limit() >= 2  # sized by how long the first has been running
    limiter.release(first, "ok", latency_s=5.0)
    limiter.release(got[0], "ok", latency_s=1.0)


def test_concurrency_cap_with_threads():
    limiter = Limiter(10_000, 3)
    _run_real(limiter)
    active = 0
    peak = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal active, peak
        slot = limiter.acquire()
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.03)
        with lock:
            active -= 1
        limiter.release(slot, "ok")

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert peak == 3
    assert limiter.in_flight() == 0


def _run_real(limiter: Limiter) -> None:
    limiter.release(limiter.acquire(), "ok")


def test_rate_lowered_to_admitted_after_429_and_kept():
    limiter, clock = _limiter(10)
    starts = [_run(limiter, clock) for _ in range(4)]
    assert starts == [0, 6, 12, 18]
    clock.now = 24
    _run(limiter, clock, "rate_limited")
    assert limiter.effective_rpm() == 4  # four successes in the last 60 s
    # the four admitted starts are still in the server's window: wait until the first leaves it,
    # then pace at 4 per minute
    assert _run(limiter, clock) == 60
    assert _run(limiter, clock) == 66
    clock.now = 500
    assert limiter.effective_rpm() == 4  # kept for the run: the quota does not come back
    _run(limiter, clock)
    clock.now = 520
    _run(limiter, clock, "rate_limited")
    assert limiter.effective_rpm() == 1  # one admitted in the last minute: lowered again, never raised


def test_429_before_any_success_keeps_the_pace_and_leaves_waiting_to_the_hint():
    limiter, clock = _limiter(10)
    _run(limiter, clock, "rate_limited")
    assert limiter.effective_rpm() == 10  # nothing admitted yet: no evidence of the real quota
    clock.now = 29.1  # the policy slept the server's hint
    assert _run(limiter, clock) == 29.1
    assert _run(limiter, clock) == 30.1  # behind the grid: caught up, a second after the last start
    _run(limiter, clock, "rate_limited")
    assert limiter.effective_rpm() == 2  # now two were admitted in the last minute


def test_in_flight_limit_follows_rpm_times_latency():
    limiter, clock = _limiter(15, 8)
    assert limiter.concurrency_limit() == 1  # the first request goes alone
    limiter.release(limiter.acquire(), "ok", latency_s=15.0)
    assert limiter.concurrency_limit() == 5  # 15/min x 15 s = 3.75 in flight, + 1
    slots = [limiter.acquire() for _ in range(5)]
    assert limiter.in_flight() == 5
    for s in slots[:4]:
        limiter.release(s, "ok", latency_s=1.0)
    assert limiter.concurrency_limit() == 5  # the slowest of the last five answers still counts
    limiter.release(slots[4], "ok", latency_s=1.0)
    assert limiter.concurrency_limit() == 2  # fast answers now: 0.25 in flight, + 1
    slow, _ = _limiter(15, 8)
    slow.release(slow.acquire(), "ok", latency_s=600.0)
    assert slow.concurrency_limit() == 8  # capped by llm.max_concurrency


def test_stop_wakes_waiters_and_refuses_new_requests():
    limiter = Limiter(1, 1)
    _run_real(limiter)  # the next start would wait ~60 s
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            limiter.acquire()
        except LimiterStopped as exc:
            errors.append(exc)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    limiter.stop("quota exhausted")
    t.join(2)
    assert time.monotonic() - t0 < 1
    assert len(errors) == 1 and "quota" in str(errors[0])
    with pytest.raises(LimiterStopped):
        limiter.acquire()


def test_pause_returns_early_on_stop():
    limiter = Limiter(10, 1)
    threading.Timer(0.05, limiter.stop).start()
    t0 = time.monotonic()
    limiter.pause(30)
    assert time.monotonic() - t0 < 2


def test_invalid_arguments():
    with pytest.raises(ValueError):
        Limiter(0, 1)
    with pytest.raises(ValueError):
        Limiter(10, 0)


def test_parse_duration():
    assert parse_duration("29s") == 29
    assert parse_duration("29.083414095s") == pytest.approx(29.083414095)
    assert parse_duration("6ms") == pytest.approx(0.006)
    assert parse_duration("1m30s") == 90
    assert parse_duration("soon") is None


def test_retry_hints_from_recorded_messages():
    gemini = load_fixture("gemini_429_free_tier.json")["error"]["message"]
    assert retry_hint_from_message(gemini) == pytest.approx(29.083414095)
    openai = load_fixture("openai_compat_429_openai.json")["error"]["message"]
    assert retry_hint_from_message(openai) == pytest.approx(0.006)
    assert retry_hint_from_message("Please try again in 1m12.5s.") == pytest.approx(72.5)
    assert retry_hint_from_message("no hint") is None


def test_retry_after_header():
    assert retry_after_header("12") == 12
    now = time.time()
    assert retry_after_header(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(
        30, abs=1
    )
    assert retry_after_header("garbage") is None
    assert retry_after_header(None) is None


def test_seeded_with_an_earlier_process_calls_the_window_is_respected():
    limiter, clock = _limiter(3)
    clock.now = 100.0
    limiter.seed([50.0, 30.0, 10.0, 75.0])  # 75 s ago is outside the window
    # three requests in the last 60 s already: the next waits until the one 50 s ago leaves
    assert _run(limiter, clock) == 110.0
