"""Error types raised by library code; only cli.py maps them to exit codes."""

from __future__ import annotations


class DigestError(Exception):
    """Base class for every error the CLI knows how to report."""

    exit_code = 1


class ConfigError(DigestError):
    """Bad configuration or usage (exit 2)."""

    exit_code = 2


class FetchError(DigestError):
    """A source could not be fetched after retries (exit 1)."""


class ParseError(DigestError):
    """A payload did not have the expected shape (exit 1)."""


class StoreError(DigestError):
    """The store is unusable or locked (exit 1)."""


class LLMError(DigestError):
    """Base of errors raised by LLM providers."""

    kind = "llm_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        raw: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.raw = raw


class RateLimited(LLMError):
    """A 429 that will pass: wait retry_after seconds (server hint) and retry."""

    kind = "rate_limited"


class QuotaExhausted(LLMError):
    """The quota for the day (or the balance) is gone: stop all LLM work for this run."""

    kind = "quota_exhausted"
    exit_code = 3


class AuthError(LLMError):
    """The API key is missing, invalid or not allowed (exit 2)."""

    kind = "auth"
    exit_code = 2


class TransientError(LLMError):
    """5xx, timeout or connection failure: back off and retry."""

    kind = "transient"


class BadRequest(LLMError):
    """A 4xx other than auth/quota: retrying the same request will not help."""

    kind = "bad_request"


class InvalidOutput(LLMError):
    """The model answered but the answer failed validation; re-ask with the field, rule and evidence.

    `kind` is one of refusal, filler, not_json, schema, language, truncated, shape (or figure, secret);
    `field` the JSON path ("" for the whole answer); `rule` one sentence in the digest's language saying
    which rule was broken; `evidence` the offending snippet, short. str(exc) is an English line for logs.
    """

    kind = "invalid_output"

    def __init__(
        self,
        message: str,
        *,
        kind: str = "schema",
        field: str = "",
        rule: str = "",
        evidence: str = "",
        raw: str | None = None,
    ) -> None:
        super().__init__(message, raw=raw)
        self.kind = kind
        self.field = field
        self.rule = rule
        self.evidence = evidence
