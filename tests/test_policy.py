"""call_with_policy: waits, backoff, immediate failures, bounded attempts, one record per request."""

from __future__ import annotations

import threading

import pytest

from digest.config import LLMConfig
from digest.errors import AuthError, BadRequest, QuotaExhausted, RateLimited, TransientError
from digest.llm import build_provider
from digest.llm.base import Generation, Usage
from digest.llm.policy import CallRecord, backoff_delay, call_with_policy, short_error
from digest.llm.ratelimit import Limiter, LimiterStopped
from digest.schemas import Analysis, Rerank
from tests.fakes.fake_llm import FakeLLM, example_text
from tests.fakes.llm_server import FakeLLMServer, Reply

KEY = "AIzaSyFAKE-policy-key-0123456789abcd"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _fake_time_limiter(rpm: float, conc: int) -> Limiter:
    clock = FakeClock()
    return Limiter(rpm, conc, clock=clock, sleep=clock.sleep)


class Harness:
    def __init__(self, script, *, max_attempts: int = 6, rand: float = 0.5) -> None:
        self.provider = FakeLLM(script)
        self.limiter = _fake_time_limiter(60, 4)
        self.records: list[CallRecord] = []
        self.sleeps: list[float] = []
        self.max_attempts = max_attempts
        self.rand = rand

    def call(self, **kw) -> Generation:
        return call_with_policy(
            self.provider,
            "prompt",
            schema=None,
            attachments=None,
            limiter=self.limiter,
            max_attempts=self.max_attempts,
            on_call=self.records.append,
            sleep=self.sleeps.append,
            rand=lambda: self.rand,
            **kw,
        )


def test_429_then_ok_waits_the_hint():
    h = Harness([RateLimited("429", status=429, retry_after=29.08), "ok"])
    assert h.call().text == "ok"
    assert len(h.sleeps) == 1
    assert 29.08 <= h.sleeps[0] <= 29.08 + 2.908  # hint + at most 10 % jitter
    assert [r.outcome for r in h.records] == ["rate_limited", "ok"]
    assert h.records[0].retry_after == 29.08 and h.records[0].status == 429
    # nothing admitted yet: the pace is left alone, the hint did the waiting
    assert h.limiter.rate_limited_count == 1 and h.limiter.effective_rpm() == h.limiter.rpm


def test_429_without_hint_backs_off():
    h = Harness([RateLimited("429", status=429), "ok"], rand=0.0)
    h.call()
    assert h.sleeps == [1.0]


def test_5xx_exponential_backoff_with_jitter():
    h = Harness([TransientError("500", status=500)] * 3 + ["ok"], rand=1.0)
    h.call()
    assert h.sleeps == [2.0, 4.0, 8.0]
    assert [r.attempt for r in h.records] == [1, 2, 3, 4]


def test_backoff_is_capped_and_jittered():
    assert backoff_delay(10, lambda: 1.0) == 60.0
    assert backoff_delay(1, lambda: 0.0) == 1.0
    assert 30 <= backoff_delay(7, lambda: 0.0) <= 60


def test_transient_retry_after_is_honoured():
    h = Harness([TransientError("503", status=503, retry_after=20), "ok"], rand=0.0)
    h.call()
    assert h.sleeps == [20]


def test_quota_raises_at_once_with_one_call_and_stops_limiter():
    h = Harness([QuotaExhausted("per day", status=429, retry_after=41), "never"])
    with pytest.raises(QuotaExhausted) as info:
        h.call()
    assert info.value.attempts == 1
    assert h.provider.call_count == 1 and h.sleeps == []
    with pytest.raises(LimiterStopped) as stopped:
        h.call()
    assert stopped.value.attempts == 0 and isinstance(stopped.value.cause, QuotaExhausted)
    assert len(h.records) == 1  # no request was sent after the stop


def test_auth_error_raises_at_once_and_stops_limiter():
    h = Harness([AuthError("bad key; check $GEMINI_API_KEY", status=400)])
    with pytest.raises(AuthError):
        h.call()
    assert h.provider.call_count == 1
    with pytest.raises(LimiterStopped):
        h.limiter.acquire()


def test_bad_request_raises_at_once():
    h = Harness([BadRequest("400", status=400), "never"])
    with pytest.raises(BadRequest) as info:
        h.call()
    assert info.value.attempts == 1 and h.provider.call_count == 1
    h.limiter.release(h.limiter.acquire())  # the limiter still admits requests


def test_attempts_are_bounded_and_reported():
    h = Harness([TransientError("500", status=500)] * 10, max_attempts=3)
    with pytest.raises(TransientError) as info:
        h.call()
    assert info.value.attempts == 3
    assert h.provider.call_count == 3 and len(h.sleeps) == 2 and len(h.records) == 3


def test_huge_rate_limit_hint_is_not_waited():
    h = Harness([RateLimited("429", retry_after=3600)])
    with pytest.raises(RateLimited):
        h.call()
    assert h.sleeps == []


def test_on_call_for_every_request_with_tokens():
    gen = Generation(text="{}", finish_reason="stop", usage=Usage(tokens_in=120, tokens_out=30), model="m-1")
    h = Harness([TransientError("timed out"), RateLimited("429", retry_after=1), gen])
    h.call()
    assert [r.outcome for r in h.records] == ["transient", "rate_limited", "ok"]
    ok = h.records[-1]
    assert (ok.tokens_in, ok.tokens_out, ok.model, ok.finish_reason, ok.error_kind) == (
        120,
        30,
        "m-1",
        "stop",
        None,
    )
    assert h.records[0].error_kind == "transient" and h.records[0].status is None
    assert all(r.started_at > 1e9 and r.latency_s >= 0 for r in h.records)


def test_unexpected_exception_is_recorded_and_raised():
    h = Harness([ValueError("boom")])
    with pytest.raises(ValueError):
        h.call()
    assert h.records[0].outcome == "error" and h.limiter.in_flight() == 0


def test_short_error_removes_key_shaped_text():
    msg = short_error(
        "failed with key AIzaSyABCDEFGHIJKLMNOPQRSTUVWXYZ012 and sk-abcdefghijklmnop\nnext line"
    )
    assert "AIza" not in msg and "sk-abc" not in msg and "\n" not in msg


def test_fake_llm_default_answers_validate():
    Analysis.model_validate_json(example_text(Analysis))
    Rerank.model_validate_json(FakeLLM().generate("x", schema=Rerank).text)


def test_with_real_gemini_client_and_server():
    with FakeLLMServer(api_key=KEY) as srv:
        srv.script(Reply.rate_limited(retry_s=0.25), Reply.server_error(503))
        provider = build_provider(LLMConfig(provider="gemini", base_url=srv.url, timeout_s=5), KEY)
        records: list[CallRecord] = []
        sleeps: list[float] = []
        gen = call_with_policy(
            provider,
            "分析",
            schema=Analysis,
            attachments=None,
            limiter=_fake_time_limiter(60, 2),
            max_attempts=4,
            on_call=records.append,
            sleep=sleeps.append,
            rand=lambda: 0.0,
        )
        Analysis.model_validate_json(gen.text)
        assert [r.outcome for r in records] == ["rate_limited", "transient", "ok"]
        assert sleeps[0] >= 0.25 and records[0].status == 429 and records[1].status == 503
        assert all(KEY not in (r.error or "") for r in records)
        assert srv.stats.requests == 3 and srv.leaks == []


def test_bad_key_costs_one_call_across_workers():
    with FakeLLMServer(api_key=KEY) as srv:
        provider = build_provider(
            LLMConfig(provider="gemini", base_url=srv.url, timeout_s=5), "AIzaSyWRONG-0123456789abcdefghijk"
        )
        limiter = Limiter(60, 4)
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                call_with_policy(
                    provider,
                    "x",
                    schema=None,
                    attachments=None,
                    limiter=limiter,
                    max_attempts=3,
                    on_call=None,
                    sleep=lambda s: None,
                )
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert srv.stats.requests == 1
        assert sum(isinstance(e, AuthError) for e in errors) == 1
        assert sum(isinstance(e, LimiterStopped) for e in errors) == 3


def test_quota_mid_run_stops_other_workers():
    with FakeLLMServer(per_day=3) as srv:
        cfg = LLMConfig(provider="openai", base_url=srv.openai_url, timeout_s=5)
        provider = build_provider(cfg, "sk-test-0123456789")
        limiter = Limiter(6000, 3)
        outcomes: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            try:
                call_with_policy(
                    provider,
                    "x",
                    schema=None,
                    attachments=None,
                    limiter=limiter,
                    max_attempts=3,
                    on_call=None,
                    sleep=lambda s: None,
                )
                kind = "ok"
            except (QuotaExhausted, LimiterStopped) as exc:
                kind = exc.kind
            with lock:
                outcomes.append(kind)

        threads = [threading.Thread(target=worker) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert outcomes.count("ok") == 3
        assert srv.stats.quota_exhausted >= 1
        assert srv.stats.requests <= 3 + 3  # at most the in-flight ones hit the spent quota
        assert len(outcomes) == 10


def test_limiter_adapts_to_a_stricter_server_in_real_time():
    # Time shrunk 120x: the server admits 2 per 0.5 s, the config claims 4.
    with FakeLLMServer(rpm=2, window_s=0.5) as srv:
        provider = build_provider(
            LLMConfig(provider="openai", base_url=srv.openai_url, timeout_s=5), "sk-test-0123456789"
        )
        limiter = Limiter(4, 3, window_s=0.5)
        records: list[CallRecord] = []
        lock = threading.Lock()

        def on_call(rec: CallRecord) -> None:
            with lock:
                records.append(rec)

        def worker() -> None:
            call_with_policy(
                provider,
                "x",
                schema=None,
                attachments=None,
                limiter=limiter,
                max_attempts=6,
                on_call=on_call,
                rand=lambda: 0.05,
            )  # the 1 s jitter floor would dominate here

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert srv.stats.ok == 6
        assert len(records) == srv.stats.requests  # one record per request sent
        assert srv.stats.rate_limited <= 4


def test_tenacity_drives_the_retry_loop():
    import sys

    import digest.llm.policy as policy

    assert "tenacity" in sys.modules and policy.Retrying.__module__.startswith("tenacity")
    h = Harness(
        [RateLimited("429", retry_after=5), TransientError("500", status=500, retry_after=7), "ok"], rand=0.0
    )
    assert h.call().text == "ok"
    assert h.sleeps == [5.0, 7.0]  # the server's hint beats the shorter backoff each time


def test_no_retry_beyond_the_daily_budget():
    budget = iter([True, False])
    h = Harness([TransientError("500", status=500)] * 5 + ["ok"])
    with pytest.raises(TransientError) as info:
        h.call(may_retry=lambda: next(budget))
    assert info.value.attempts == 2 and h.provider.call_count == 2  # one retry granted, the next refused
