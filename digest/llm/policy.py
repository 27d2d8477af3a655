"""Retry policy around one logical LLM request: every attempt goes through the limiter and is reported."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base

from digest.errors import AuthError, LLMError, QuotaExhausted, RateLimited, TransientError
from digest.llm.base import Attachment, Generation, Provider
from digest.llm.ratelimit import Limiter
from digest.secrets import redact

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 60.0
MAX_WAIT_S = 600.0  # a server asking for longer than this is out of quota for our purposes


@dataclass
class CallRecord:
    """One HTTP request as the store's llm_calls table wants it."""

    started_at: float  # Unix time (time.time()) when the request was sent
    latency_s: float
    status: int | None  # HTTP status; None when no response (timeout, connection error)
    outcome: str  # "ok" or the error kind: rate_limited, quota_exhausted, auth, transient, bad_request, ...
    attempt: int  # 1-based attempt number within this logical request
    provider: str = ""
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_thinking: int = 0  # billed as output by Gemini; not included in tokens_out
    finish_reason: str | None = None
    retry_after: float | None = None
    error: str | None = None  # short and secret-free

    @property
    def error_kind(self) -> str | None:
        """None for a success, else the error kind (same as outcome)."""
        return None if self.outcome == "ok" else self.outcome


OnCall = Callable[[CallRecord], None]


def short_error(message: str, *, limit: int = 300) -> str:
    """One line, bounded, through the redactor."""
    return redact(" ".join(str(message).split()))[:limit]


def backoff_delay(
    attempt: int, rand: Callable[[], float], *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S
) -> float:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, scaled by 0.5-1.0."""
    raw = min(cap, base * 2 ** max(0, attempt - 1))
    return raw * (0.5 + 0.5 * rand())


def rate_limit_delay(hint: float | None, attempt: int, rand: Callable[[], float]) -> float:
    """The server's hint plus up to 10 % (at least 1 s) of jitter; backoff when there is no hint."""
    if hint is None:
        return backoff_delay(attempt, rand)
    return hint + rand() * max(1.0, 0.1 * hint)


class _ServerHintWait(wait_base):
    """Tenacity wait: a 429 waits the server's hint (plus jitter), a transient failure backs off
    exponentially but never less than the server's hint."""

    def __init__(self, rand: Callable[[], float]) -> None:
        self.rand = rand

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        attempt = retry_state.attempt_number
        if isinstance(exc, RateLimited):
            return rate_limit_delay(exc.retry_after, attempt, self.rand)
        hint = exc.retry_after if isinstance(exc, LLMError) else None
        return max(backoff_delay(attempt, self.rand), hint or 0.0)


def _worth_retrying(max_wait_s: float) -> retry_if_exception:
    # A 429 or 5xx asking to wait more than max_wait_s is a spent quota for our purposes: raise it at once.
    return retry_if_exception(
        lambda exc: isinstance(exc, (TransientError, RateLimited)) and (exc.retry_after or 0.0) <= max_wait_s
    )


def call_with_policy(
    provider: Provider,
    prompt: str,
    *,
    schema: type[BaseModel] | None = None,
    attachments: list[Attachment] | None = None,
    limiter: Limiter,
    max_attempts: int,
    on_call: OnCall | None = None,
    sleep: Callable[[float], None] | None = None,
    rand: Callable[[], float] = random.random,
    max_wait_s: float = MAX_WAIT_S,
    may_retry: Callable[[], bool] | None = None,
) -> Generation:
    """Send the request, retrying 429s and transient failures; raise the last error with `.attempts` set.

    QuotaExhausted and AuthError stop the limiter (no worker should spend another call) and raise at
    once; BadRequest raises at once. `sleep=None` waits on the limiter, so stop() cuts waits short.
    `may_retry` is asked before each retry (a daily request budget); False raises the last error.
    """
    stop = stop_after_attempt(max(1, max_attempts))
    if may_retry is not None:
        stop = stop | (lambda _state: not may_retry())
    retrying = Retrying(
        stop=stop,
        wait=_ServerHintWait(rand),
        retry=_worth_retrying(max_wait_s),
        sleep=sleep or limiter.pause,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            return _attempt(
                provider,
                prompt,
                schema=schema,
                attachments=attachments,
                limiter=limiter,
                on_call=on_call,
                number=attempt.retry_state.attempt_number,
                max_wait_s=max_wait_s,
            )
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def _attempt(
    provider: Provider,
    prompt: str,
    *,
    schema: type[BaseModel] | None,
    attachments: list[Attachment] | None,
    limiter: Limiter,
    on_call: OnCall | None,
    number: int,
    max_wait_s: float = MAX_WAIT_S,
) -> Generation:
    """One request through the limiter, reported to on_call however it ends."""
    model = getattr(provider, "model", "")
    try:
        slot = limiter.acquire()
    except LLMError as exc:  # LimiterStopped: no request was sent
        exc.attempts = number - 1  # type: ignore[attr-defined]
        raise
    started_at, t0 = time.time(), time.perf_counter()
    try:
        gen = provider.generate(prompt, schema=schema, attachments=attachments)
    except LLMError as exc:
        latency = time.perf_counter() - t0
        # Stop before releasing the slot, so no waiting worker slips one more request in.
        if isinstance(exc, QuotaExhausted):
            limiter.stop(f"LLM quota exhausted: {short_error(str(exc), limit=160)}", cause=exc)
        elif isinstance(exc, AuthError):
            limiter.stop(f"LLM API key rejected: {short_error(str(exc), limit=160)}", cause=exc)
        elif (
            isinstance(exc, (RateLimited, TransientError)) and (exc.retry_after or 0.0) > max_wait_s
        ):  # not retried
            limiter.stop(f"rate limited: the server asks to wait {exc.retry_after:.0f} s", cause=exc)
        limiter.release(slot, "rate_limited" if isinstance(exc, (RateLimited, QuotaExhausted)) else "error")
        _report(
            on_call,
            CallRecord(
                started_at=started_at,
                latency_s=latency,
                status=exc.status,
                outcome=exc.kind,
                attempt=number,
                provider=provider.name,
                model=model,
                retry_after=exc.retry_after,
                error=short_error(str(exc)),
            ),
        )
        exc.attempts = number  # type: ignore[attr-defined]
        raise
    except BaseException as exc:
        limiter.release(slot, "error")
        _report(
            on_call,
            CallRecord(
                started_at=started_at,
                latency_s=time.perf_counter() - t0,
                status=None,
                outcome="error",
                attempt=number,
                provider=provider.name,
                model=model,
                error=short_error(f"{type(exc).__name__}: {exc}"),
            ),
        )
        raise
    latency = time.perf_counter() - t0
    limiter.release(slot, "ok", latency_s=latency)
    _report(
        on_call,
        CallRecord(
            started_at=started_at,
            latency_s=latency,
            status=gen.status,
            outcome="ok",
            attempt=number,
            provider=provider.name,
            model=gen.model or model,
            tokens_in=gen.usage.tokens_in,
            tokens_out=gen.usage.tokens_out,
            tokens_thinking=gen.usage.tokens_thinking,
            finish_reason=gen.finish_reason,
        ),
    )
    return gen


def _report(on_call: OnCall | None, record: CallRecord) -> None:
    if on_call is not None:
        on_call(record)
