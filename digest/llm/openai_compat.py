"""Any OpenAI-compatible `/chat/completions` endpoint (OpenAI, DeepSeek, relays, local servers) via httpx."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from digest.errors import AuthError, BadRequest, LLMError, QuotaExhausted, RateLimited, TransientError
from digest.llm.base import Attachment, Generation, Usage, register
from digest.retrying import max_hint, retry_after_header, retry_hint_from_message

if TYPE_CHECKING:
    from digest.config import LLMConfig

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_FINISH = {"stop": "stop", "length": "max_tokens", "content_filter": "safety"}
_RAW_LIMIT = 2000


def pdf_text(data: bytes, *, max_chars: int) -> str:
    """Text of a PDF (pages in order) cut to max_chars; BadRequest if the file cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        chunks: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            chunks.append(text)
            size += len(text) + 1
            if size >= max_chars:
                break
    except (
        PdfReadError,
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        OSError,
        AttributeError,
        IndexError,
        RecursionError,
    ) as exc:
        raise BadRequest(f"could not read the PDF ({type(exc).__name__}: {exc})") from None
    return "\n".join(chunks)[:max_chars].strip()


def inline_attachments(prompt: str, attachments: list[Attachment] | None, *, max_chars: int) -> str:
    """The prompt followed by the text of each attachment (PDF text extracted, text/* decoded)."""
    if not attachments:
        return prompt
    pieces = [prompt]
    for att in attachments:
        label = att.name or att.mime_type
        if att.mime_type == "application/pdf":
            text = pdf_text(att.data, max_chars=max_chars)
        elif att.mime_type.startswith("text/"):
            text = att.data.decode("utf-8", errors="replace")[:max_chars]
        else:
            raise BadRequest(f"openai: cannot send a {att.mime_type} attachment as text")
        pieces.append(f"\n\n[Attachment {label}: extracted text, at most {max_chars} characters]\n{text}")
    return "".join(pieces)


@register("openai")
class OpenAICompatProvider:
    """POST {base_url}/chat/completions with a JSON response_format; errors mapped to digest.errors."""

    name = "openai"

    def __init__(
        self, cfg: LLMConfig, api_key: str | None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.cfg = cfg
        self.model = cfg.model
        self.url = (cfg.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if api_key:  # local servers may need none
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(cfg.timeout_s, connect=min(30.0, cfg.timeout_s)),
            transport=transport,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def request_body(
        self,
        prompt: str,
        *,
        schema: type[BaseModel] | None = None,
        attachments: list[Attachment] | None = None,
    ) -> dict[str, Any]:
        """The JSON body generate() posts."""
        content = inline_attachments(prompt, attachments, max_chars=self.cfg.pdf_text_chars)
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_output_tokens or 8192,
            "stream": False,
        }
        if schema is not None:
            if self.cfg.json_mode == "schema":  # None/"object": json_object, which every server knows
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema.__name__,
                        "schema": schema.model_json_schema(),
                        "strict": False,
                    },
                }
            else:
                body["response_format"] = {"type": "json_object"}
                if "json" not in content.lower():
                    # json_object mode is refused (400) unless the word "JSON" appears in the messages.
                    content += "\n\nAnswer with a single JSON object."
        body["messages"] = [{"role": "user", "content": content}]
        return body

    def generate(
        self,
        prompt: str,
        *,
        schema: type[BaseModel] | None = None,
        attachments: list[Attachment] | None = None,
    ) -> Generation:
        """One chat-completions request; raises RateLimited/QuotaExhausted/AuthError/TransientError/BadRequest."""
        body = self.request_body(prompt, schema=schema, attachments=attachments)
        try:
            response = self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise TransientError(
                f"openai: timed out after {self.cfg.timeout_s:g} s ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            raise TransientError(f"openai: connection failed ({type(exc).__name__}: {exc})") from None
        if response.status_code != 200:
            raise map_http_error(response, api_key_env=self.cfg.api_key_env)
        try:
            data = response.json()
        except ValueError:
            raise TransientError(
                "openai: response is not JSON", status=200, raw=response.text[:_RAW_LIMIT]
            ) from None
        return _to_generation(data, self.model)


def _to_generation(data: Any, model: str) -> Generation:
    try:
        return _parse_generation(data, model)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise TransientError(
            f"openai: malformed response ({type(exc).__name__})",
            status=200,
            raw=json.dumps(data, ensure_ascii=False)[:_RAW_LIMIT],
        ) from exc


def _parse_generation(data: Any, model: str) -> Generation:
    if not isinstance(data, dict) or not data.get("choices"):
        raise TransientError(
            "openai: response has no choices",
            status=200,
            raw=json.dumps(data, ensure_ascii=False)[:_RAW_LIMIT],
        )
    choice = data["choices"][0] or {}
    message = choice.get("message") or {}
    text = message.get("content") or ""
    if isinstance(text, list):  # some servers return content parts
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    reason = choice.get("finish_reason")
    finish = _FINISH.get(str(reason), "other") if reason is not None else ("stop" if text else "other")
    if message.get("refusal") and not text:
        finish = "safety"
    usage_raw = data.get("usage") or {}
    usage = Usage(
        tokens_in=int(usage_raw.get("prompt_tokens") or 0),
        tokens_out=int(usage_raw.get("completion_tokens") or 0),
    )
    return Generation(text=text, finish_reason=finish, usage=usage, model=str(data.get("model") or model))


def _error_fields(response: httpx.Response) -> tuple[str, str, str]:
    """(message, code, type) from an OpenAI-style error body; blanks when absent."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300], "", ""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or ""), str(err.get("code") or ""), str(err.get("type") or "")
    if isinstance(err, str):
        return err, "", ""
    return (str(body.get("message", "")) if isinstance(body, dict) else ""), "", ""


def map_http_error(response: httpx.Response, *, api_key_env: str) -> LLMError:
    """An HTTP error response -> the digest error it means (never quoting the key)."""
    code = response.status_code
    message, err_code, err_type = _error_fields(response)
    raw = response.text[:_RAW_LIMIT]
    short = message.split("\n", 1)[0][:300]
    header = max_hint(
        retry_after_header(response.headers.get("retry-after")), _ms(response.headers.get("retry-after-ms"))
    )
    if code == 402 or (code == 429 and "insufficient_quota" in (err_code, err_type)):
        return QuotaExhausted(
            f"openai: quota or balance exhausted (HTTP {code}): {short}", status=code, raw=raw
        )
    if code == 429:
        retry = max_hint(header, retry_hint_from_message(message))
        return RateLimited(
            f"openai: rate limited (429), retry in {retry or 0:.1f} s",
            status=code,
            retry_after=retry,
            raw=raw,
        )
    if code in (401, 403):
        # The server's message may echo part of the key: keep it out of ours.
        return AuthError(f"openai: API key rejected (HTTP {code}); check ${api_key_env}", status=code)
    if code == 408 or code >= 500:
        return TransientError(
            f"openai: server error {code}: {short}", status=code, retry_after=header, raw=raw
        )
    return BadRequest(f"openai: request refused {code}: {short}", status=code, raw=raw)


def _ms(value: str | None) -> float | None:
    try:
        return float(value) / 1000 if value else None
    except ValueError:
        return None
