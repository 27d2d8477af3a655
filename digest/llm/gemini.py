"""Gemini through google-genai, with the SDK's own retries off: the policy decides when to retry."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from digest.errors import AuthError, BadRequest, LLMError, QuotaExhausted, RateLimited, TransientError
from digest.llm.base import Attachment, Generation, Usage, register
from digest.retrying import max_hint, parse_duration, retry_after_header, retry_hint_from_message

if TYPE_CHECKING:
    from digest.config import LLMConfig

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "safety",
    "RECITATION": "safety",
    "BLOCKLIST": "safety",
    "PROHIBITED_CONTENT": "safety",
    "SPII": "safety",
    "IMAGE_SAFETY": "safety",
    "IMAGE_PROHIBITED_CONTENT": "safety",
}
_RAW_LIMIT = 2000


def _http_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout, transport) exception classes of httpx and of httpx2, which google-genai prefers if installed."""
    modules: list[Any] = [httpx]
    try:
        import httpx2  # type: ignore[import-not-found]

        modules.append(httpx2)
    except ImportError:
        pass
    return (tuple(m.TimeoutException for m in modules), tuple(m.TransportError for m in modules))


def normalise_finish(reason: object) -> str | None:
    """Gemini finishReason -> "stop" | "max_tokens" | "safety" | "other"."""
    if reason is None:
        return None
    name = str(getattr(reason, "value", reason)).upper()
    return _FINISH.get(name, "other")


@register("gemini")
class GeminiProvider:
    """google-genai `models.generate_content` in JSON mode; errors mapped to digest.errors."""

    name = "gemini"

    def __init__(self, cfg: LLMConfig, api_key: str | None) -> None:
        if not api_key:
            raise AuthError(f"gemini: no API key; set ${cfg.api_key_env}")
        from google import genai
        from google.genai import types

        self.cfg = cfg
        self.model = cfg.model
        self._types = types
        options = types.HttpOptions(
            base_url=cfg.base_url or None,
            timeout=int(cfg.timeout_s * 1000),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),  # no SDK retries
        )
        # vertexai=False: never let GOOGLE_GENAI_USE_VERTEXAI in the environment reroute the calls.
        self._client = genai.Client(api_key=api_key, vertexai=False, http_options=options)

    def _config(self, schema: type[BaseModel] | None) -> Any:
        types = self._types
        kwargs: dict[str, Any] = {
            "temperature": self.cfg.temperature,
            "max_output_tokens": self.cfg.max_output_tokens or 16384,  # thinking counts here too
        }
        if self.cfg.thinking_budget is not None:
            # Gemini 2.5 counts thinking against max_output_tokens and bills it as output.
            kwargs["thinking_config"] = types.ThinkingConfig(thinking_budget=self.cfg.thinking_budget)
        if schema is not None:
            kwargs["response_mime_type"] = "application/json"
            if self.cfg.json_mode in (None, "schema"):
                # Plain JSON Schema ($defs, anyOf-null, minItems kept); response_schema would convert it
                # to the OpenAPI subset. json_mode "object" is the escape hatch for models that refuse it.
                kwargs["response_json_schema"] = schema.model_json_schema()
        return types.GenerateContentConfig(**kwargs)

    def _contents(self, prompt: str, attachments: list[Attachment] | None) -> list[Any]:
        types = self._types
        parts = [types.Part.from_bytes(data=a.data, mime_type=a.mime_type) for a in attachments or []]
        parts.append(types.Part.from_text(text=prompt))
        return [types.Content(role="user", parts=parts)]

    def generate(
        self,
        prompt: str,
        *,
        schema: type[BaseModel] | None = None,
        attachments: list[Attachment] | None = None,
    ) -> Generation:
        """One generateContent request; raises RateLimited/QuotaExhausted/AuthError/TransientError/BadRequest."""
        from google.genai import errors as genai_errors

        timeouts, transport = _http_errors()
        try:
            response = self._client.models.generate_content(
                model=self.model, contents=self._contents(prompt, attachments), config=self._config(schema)
            )
        except genai_errors.APIError as exc:
            raise map_api_error(exc, api_key_env=self.cfg.api_key_env) from None
        except timeouts as exc:
            raise TransientError(
                f"gemini: timed out after {self.cfg.timeout_s:g} s ({type(exc).__name__})"
            ) from None
        except (*transport, OSError) as exc:
            raise TransientError(f"gemini: connection failed ({type(exc).__name__}: {exc})") from None
        except (ValueError, json.JSONDecodeError) as exc:
            raise TransientError(f"gemini: malformed response ({type(exc).__name__})") from None
        return _to_generation(response, self.model)


def _to_generation(response: Any, model: str) -> Generation:
    meta = response.usage_metadata
    usage = Usage(
        tokens_in=int(getattr(meta, "prompt_token_count", 0) or 0),
        tokens_out=int(getattr(meta, "candidates_token_count", 0) or 0),
        tokens_thinking=int(getattr(meta, "thoughts_token_count", 0) or 0),
    )
    used = response.model_version or model
    candidates = response.candidates or []
    if not candidates:
        # A blocked prompt has promptFeedback and no candidates: the caller re-asks or gives up.
        return Generation(text="", finish_reason="safety", usage=usage, model=used)
    cand = candidates[0]
    parts = (cand.content.parts if cand.content is not None else None) or []
    text = "".join(p.text for p in parts if p.text and not p.thought)
    finish = normalise_finish(cand.finish_reason)
    if finish is None:
        finish = "stop" if text else "other"
    return Generation(text=text, finish_reason=finish, usage=usage, model=used)


def _details(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("details"), list):
            return [d for d in err["details"] if isinstance(d, dict)]
    return []


def _is_daily(details: list[dict[str, Any]], message: str) -> bool:
    for d in details:
        if not str(d.get("@type", "")).endswith("QuotaFailure"):
            continue
        for v in d.get("violations") or []:
            if "PerDay" in str(v.get("quotaId", "")) or str(v.get("quotaValue", "")) == "0":
                return True
    # A limit of 0 (model not in the free tier) will not pass by waiting either.
    return "limit: 0," in message


def map_api_error(exc: Any, *, api_key_env: str) -> LLMError:
    """google.genai.errors.APIError -> the digest error it means (never quoting the key)."""
    code = int(getattr(exc, "code", 0) or 0)
    body = getattr(exc, "details", None)
    message = str(getattr(exc, "message", "") or "")
    status = str(getattr(exc, "status", "") or "")
    raw = json.dumps(body, ensure_ascii=False)[:_RAW_LIMIT] if body is not None else None
    details = _details(body)
    short = message.split("\n", 1)[0][:300]
    reasons = {str(d.get("reason", "")) for d in details if str(d.get("@type", "")).endswith("ErrorInfo")}
    if code == 429:
        retry = max_hint(_retry_info(details), retry_hint_from_message(message), _header_hint(exc))
        if _is_daily(details, message):
            return QuotaExhausted(
                f"gemini: quota exhausted for today (429 {status}): {short}",
                status=code,
                retry_after=retry,
                raw=raw,
            )
        return RateLimited(
            f"gemini: rate limited (429 {status}), retry in {retry or 0:.1f} s",
            status=code,
            retry_after=retry,
            raw=raw,
        )
    if code in (401, 403) or any(r.startswith("API_KEY_") for r in reasons):
        return AuthError(
            f"gemini: API key rejected (HTTP {code} {status}); check ${api_key_env}", status=code, raw=raw
        )
    if code == 408 or code >= 500:
        return TransientError(
            f"gemini: server error {code} {status}: {short}",
            status=code,
            retry_after=_header_hint(exc),
            raw=raw,
        )
    return BadRequest(f"gemini: request refused {code} {status}: {short}", status=code, raw=raw)


def _retry_info(details: list[dict[str, Any]]) -> float | None:
    for d in details:
        if str(d.get("@type", "")).endswith("RetryInfo") and d.get("retryDelay"):
            return parse_duration(str(d["retryDelay"]))
    return None


def _header_hint(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        return retry_after_header(headers.get("retry-after"))
    except Exception:  # a foreign response type; the hint is optional
        return None
