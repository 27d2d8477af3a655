"""A local fake Gemini + OpenAI-compatible HTTP server for tests and benchmarks.

One server answers both protocols:
  POST /v1/models/{model}:generateContent   (also /v1beta/...; what google-genai sends)
  POST .../chat/completions                 (any prefix, e.g. /v1/chat/completions)

Configurable: latency, a requests-per-window quota answered with the real 429 bodies, a per-day
quota, an expected API key, scripted replies (consumed in order) and a responder callable.
It counts what it served and records every request with credentials redacted.

    with FakeLLMServer(rpm=5, latency=0.05) as srv:
        cfg = LLMConfig(provider="gemini", base_url=srv.url)            # gemini
        cfg = LLMConfig(provider="openai", base_url=srv.openai_url)     # openai-compatible
        srv.script(Reply.rate_limited(), Reply(text='{"a": 1}'))
        ...
        srv.stats.requests, srv.stats.rate_limited, srv.stats.tokens_in
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fakes.fake_llm import example_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_GEMINI_PATH = re.compile(r"^/(?P<ver>v1[a-z0-9]*)/models/(?P<model>[^/:]+):generateContent$")
_AUTH_HEADERS = ("authorization", "x-goog-api-key", "api-key", "x-api-key")


def load_fixture(name: str) -> Any:
    """A recorded JSON payload from tests/fixtures."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class Reply:
    """One answer. kind "ok" renders text in the caller's protocol; other kinds render real error bodies."""

    text: str = ""
    finish: str = "stop"  # ok only: stop | max_tokens | safety (candidate blocked) | blocked (prompt blocked)
    kind: str = "ok"  # ok | rate_limited | per_day | server_error | auth_invalid | raw | drop
    status: int = 200
    body: Any = None  # kind "raw": dict/list (JSON-encoded) or str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    retry_s: float | None = None  # rate_limited: the hint put in the body/headers
    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_thinking: int = 0  # Gemini thoughtsTokenCount (ignored for OpenAI)
    delay: float | None = None  # extra seconds before answering this one

    @classmethod
    def rate_limited(cls, retry_s: float = 29.083414095) -> Reply:
        """A per-minute 429 (Gemini RESOURCE_EXHAUSTED with RetryInfo / OpenAI rate_limit_exceeded)."""
        return cls(kind="rate_limited", status=429, retry_s=retry_s)

    @classmethod
    def per_day(cls) -> Reply:
        """The daily quota is gone (Gemini PerDay QuotaFailure / OpenAI insufficient_quota)."""
        return cls(kind="per_day", status=429)

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        """A 5xx with the provider's real error body."""
        return cls(kind="server_error", status=status)

    @classmethod
    def auth_invalid(cls) -> Reply:
        """Gemini 400 API_KEY_INVALID / OpenAI 401 invalid_api_key."""
        return cls(kind="auth_invalid", status=400)

    @classmethod
    def raw(cls, status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
        """Send exactly this status and body (a recorded fixture, say)."""
        return cls(kind="raw", status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def drop(cls) -> Reply:
        """Close the connection without answering (a connection error for the client)."""
        return cls(kind="drop", status=0)


@dataclass
class FakeRequest:
    """What the server received (credentials redacted; `auth_ok` says whether the key matched)."""

    protocol: str  # gemini | openai
    method: str
    path: str
    model: str
    headers: dict[str, str]
    body: Any
    prompt: str
    attachments: list[tuple[str, bytes]]
    schema: dict[str, Any] | None
    auth_ok: bool
    index: int
    received_at: float = field(default_factory=time.monotonic)  # when the request arrived
    status: int = 0  # filled in once answered


@dataclass
class Stats:
    requests: int = 0
    ok: int = 0
    rate_limited: int = 0  # per-window 429s
    quota_exhausted: int = 0  # per-day 429s
    auth_errors: int = 0
    server_errors: int = 0
    other_errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


Responder = Callable[[FakeRequest], "Reply | str | dict[str, Any] | list[Any]"]


def default_responder(req: FakeRequest) -> Reply:
    """A JSON answer valid for the request's schema (Chinese placeholder strings), else short text."""
    if req.schema is not None:
        return Reply(text=json.dumps(example_json(req.schema), ensure_ascii=False))
    return Reply(text="好的。")


class FakeLLMServer:
    """Threaded HTTP server on 127.0.0.1 (ephemeral port) speaking Gemini and OpenAI chat completions."""

    def __init__(
        self,
        *,
        latency: float | Callable[[FakeRequest], float] = 0.0,
        rpm: int | None = None,
        window_s: float = 60.0,
        per_day: int | None = None,
        api_key: str | None = None,
        responder: Responder | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.latency = latency
        self.rpm = rpm
        self.window_s = window_s
        self.per_day = per_day
        self.api_key = api_key
        self.responder: Responder = responder or default_responder
        self.clock = clock
        self.requests: list[FakeRequest] = []
        self.stats = Stats()
        self.leaks: list[str] = []  # where a presented credential showed up outside the auth header
        self._script: deque[Reply] = deque()
        self._admitted: deque[float] = deque()
        self._day_count = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        """Bind an ephemeral port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-llm-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for google-genai (`HttpOptions.base_url`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """Base URL for an OpenAI-compatible client (`{openai_url}/chat/completions`)."""
        return f"{self.url}/v1"

    # scripting -------------------------------------------------------------------------------
    def script(self, *replies: Reply | str) -> None:
        """Queue replies for the next requests (before the responder; quotas and auth still apply first)."""
        with self._lock:
            self._script.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    def reset(self) -> None:
        """Forget requests, counters, quotas used and the script."""
        with self._lock:
            self.requests.clear()
            self.stats = Stats()
            self.leaks.clear()
            self._script.clear()
            self._admitted.clear()
            self._day_count = 0

    def stats_dict(self) -> dict[str, int]:
        """A snapshot of the counters."""
        with self._lock:
            return asdict(self.stats)

    # the decision --------------------------------------------------------------------------------
    def _decide(self, req: FakeRequest) -> Reply:
        with self._lock:
            if self.api_key is not None and not req.auth_ok:
                return Reply.auth_invalid()
            if self.per_day is not None and self._day_count >= self.per_day:
                return Reply.per_day()
            if self.rpm is not None:
                now = self.clock()
                while self._admitted and self._admitted[0] <= now - self.window_s:
                    self._admitted.popleft()
                if len(self._admitted) >= self.rpm:
                    wait = self._admitted[0] + self.window_s - now
                    return Reply.rate_limited(retry_s=max(wait, 0.001))
                self._admitted.append(now)
            self._day_count += 1
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return scripted
        out = self.responder(req)
        if isinstance(out, Reply):
            return out
        if isinstance(out, str):
            return Reply(text=out)
        return Reply(text=json.dumps(out, ensure_ascii=False))

    def _count(self, req: FakeRequest, reply: Reply, status: int, tin: int, tout: int) -> None:
        with self._lock:
            req.status = status
            s = self.stats
            if reply.kind == "ok" and status == 200:
                s.ok += 1
                s.tokens_in += tin
                s.tokens_out += tout
            elif reply.kind == "rate_limited" or (reply.kind == "raw" and status == 429):
                s.rate_limited += 1
            elif reply.kind == "per_day":
                s.quota_exhausted += 1
            elif reply.kind == "auth_invalid" or status in (401, 403):
                s.auth_errors += 1
            elif status >= 500:
                s.server_errors += 1
            else:
                s.other_errors += 1

    # rendering ---------------------------------------------------------------------------------
    def _render(self, req: FakeRequest, reply: Reply) -> tuple[int, dict[str, str], bytes, int, int]:
        """Status, headers, body, tokens in/out for a reply in the request's protocol."""
        gemini = req.protocol == "gemini"
        headers = dict(reply.headers)
        tin = tout = 0
        if reply.kind == "ok":
            tin = reply.tokens_in if reply.tokens_in is not None else _estimate_in(req)
            tout = reply.tokens_out if reply.tokens_out is not None else max(1, len(reply.text) // 4)
            body = (_gemini_ok if gemini else _openai_ok)(req, reply, tin, tout)
            status = reply.status
        elif reply.kind == "raw":
            status, body = reply.status, reply.body
        elif reply.kind == "rate_limited":
            retry = reply.retry_s if reply.retry_s is not None else 29.083414095
            status = 429
            if gemini:
                body = _gemini_rate_limited(req.model, self.rpm, retry)
            else:
                body = _openai_rate_limited(req.model, self.rpm, retry)
                headers.setdefault("retry-after", str(max(1, math.ceil(retry))))
                headers.setdefault("retry-after-ms", str(int(retry * 1000)))
        elif reply.kind == "per_day":
            status = 429
            body = _gemini_per_day(req.model, self.per_day) if gemini else _OPENAI_QUOTA
        elif reply.kind == "server_error":
            status = reply.status
            body = _gemini_server_error(status) if gemini else _OPENAI_SERVER_ERROR
        elif reply.kind == "auth_invalid":
            status, body = (400, _GEMINI_KEY_INVALID) if gemini else (401, _OPENAI_KEY_INVALID)
        else:
            raise ValueError(f"unknown reply kind {reply.kind!r}")
        if isinstance(body, (dict, list)):
            data = json.dumps(body, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json; charset=UTF-8")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = bytes(body or b"")
        return status, headers, data, tin, tout

    def _check_leak(
        self, credential: str | None, index: int, path: str, raw: bytes, headers: dict[str, str]
    ) -> None:
        """Record any place other than the auth header where the presented key appears."""
        secrets = {s for s in (credential, self.api_key) if s and len(s) >= 6}
        for secret in secrets:
            if secret in path:
                self.leaks.append(f"request {index}: key in URL")
            if secret.encode() in raw:
                self.leaks.append(f"request {index}: key in body")
            for k, v in headers.items():
                if k.lower() not in _AUTH_HEADERS and secret in v:
                    self.leaks.append(f"request {index}: key in header {k}")

    def _latency_for(self, req: FakeRequest) -> float:
        return float(self.latency(req)) if callable(self.latency) else float(self.latency)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # benchmarks open many connections at once


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        return

    def do_GET(self) -> None:  # noqa: N802
        self._send(404, {}, b'{"error": {"code": 404, "message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        m = _GEMINI_PATH.match(path)
        if m:
            protocol, model = "gemini", m["model"]
        elif path.endswith("/chat/completions"):
            protocol, model = "openai", ""
        else:
            self._send(404, {}, b'{"error": {"code": 404, "message": "unknown path"}}')
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send(400, {}, b'{"error": {"code": 400, "message": "body is not JSON"}}')
            return
        credential = self._credential(protocol, query)
        with fake._lock:
            index = len(fake.requests)
            fake._check_leak(credential, index, self.path, raw, dict(self.headers.items()))
        req = _parse(
            protocol,
            model,
            body,
            self.command,
            path,
            self._redacted_headers(),
            index,
            auth_ok=fake.api_key is None or credential == fake.api_key,
        )
        with fake._lock:
            fake.requests.append(req)
            fake.stats.requests += 1
            fake.stats.in_flight += 1
            fake.stats.max_in_flight = max(fake.stats.max_in_flight, fake.stats.in_flight)
        try:
            reply = fake._decide(req)
            # Quota and key checks answer at once, as Gemini's and OpenAI's do; only work takes time.
            instant = reply.kind in ("rate_limited", "per_day", "auth_invalid")
            pause = (0.0 if instant else fake._latency_for(req)) + (reply.delay or 0.0)
            if pause > 0:
                time.sleep(pause)
            if reply.kind == "drop":
                fake._count(req, reply, 0, 0, 0)
                self.close_connection = True
                self.connection.close()
                return
            status, headers, data, tin, tout = fake._render(req, reply)
            fake._count(req, reply, status, tin, tout)
            self._send(status, headers, data)
        finally:
            with fake._lock:
                fake.stats.in_flight -= 1

    def _credential(self, protocol: str, query: str) -> str | None:
        if protocol == "gemini":
            return self.headers.get("x-goog-api-key")
        auth = self.headers.get("Authorization") or ""
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def _redacted_headers(self) -> dict[str, str]:
        return {k: ("<redacted>" if k.lower() in _AUTH_HEADERS else v) for k, v in self.headers.items()}

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.close_connection = True


# request parsing -------------------------------------------------------------------------------------
def _parse(
    protocol: str,
    model: str,
    body: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    index: int,
    *,
    auth_ok: bool,
) -> FakeRequest:
    texts: list[str] = []
    attachments: list[tuple[str, bytes]] = []
    schema: dict[str, Any] | None = None
    if protocol == "gemini":
        for content in body.get("contents") or []:
            for part in content.get("parts") or []:
                if "text" in part:
                    texts.append(part["text"])
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    mime = inline.get("mimeType") or inline.get("mime_type") or ""
                    attachments.append((mime, _b64(inline.get("data") or "")))
        gen = body.get("generationConfig") or {}
        schema = gen.get("responseJsonSchema") or gen.get("responseSchema")
    else:
        model = str(body.get("model") or "")
        for msg in body.get("messages") or []:
            content = msg.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.extend(p.get("text", "") for p in content if isinstance(p, dict))
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
    return FakeRequest(
        protocol=protocol,
        method=method,
        path=path,
        model=model,
        headers=headers,
        body=body,
        prompt="\n".join(texts),
        attachments=attachments,
        schema=schema,
        auth_ok=auth_ok,
        index=index,
    )


def _b64(data: str) -> bytes:
    # google-genai sends URL-safe base64 without padding
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _estimate_in(req: FakeRequest) -> int:
    return max(1, len(req.prompt) // 4 + sum(len(data) // 100 for _, data in req.attachments))


# response bodies ---------------------------------------------------------------------------------------
_GEMINI_FINISH = {"stop": "STOP", "max_tokens": "MAX_TOKENS", "safety": "SAFETY", "other": "OTHER"}
_OPENAI_FINISH = {
    "stop": "stop",
    "max_tokens": "length",
    "safety": "content_filter",
    "blocked": "content_filter",
    "other": "stop",
}


def _gemini_ok(req: FakeRequest, reply: Reply, tin: int, tout: int) -> dict[str, Any]:
    usage = {
        "promptTokenCount": tin,
        "candidatesTokenCount": tout,
        "totalTokenCount": tin + tout + reply.tokens_thinking,
    }
    if reply.tokens_thinking:
        usage["thoughtsTokenCount"] = reply.tokens_thinking
    base = {"usageMetadata": usage, "modelVersion": req.model, "responseId": f"fake-{req.index}"}
    if reply.finish == "blocked":
        usage.pop("candidatesTokenCount")
        return {"promptFeedback": {"blockReason": "SAFETY"}, **base}
    cand: dict[str, Any] = {"finishReason": _GEMINI_FINISH.get(reply.finish, "OTHER"), "index": 0}
    if reply.finish != "safety":
        cand["content"] = {"parts": [{"text": reply.text}], "role": "model"}
    return {"candidates": [cand], **base}


def _openai_ok(req: FakeRequest, reply: Reply, tin: int, tout: int) -> dict[str, Any]:
    content = None if reply.finish in ("safety", "blocked") else reply.text
    return {
        "id": f"chatcmpl-fake-{req.index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": _OPENAI_FINISH.get(reply.finish, "stop"),
            }
        ],
        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout},
    }


def _gemini_rate_limited(model: str, rpm: int | None, retry_s: float) -> dict[str, Any]:
    """The recorded free-tier 429, narrowed to the per-minute request quota that this window enforces."""
    body = copy.deepcopy(load_fixture("gemini_429_free_tier.json"))
    err = body["error"]
    limit = rpm if rpm is not None else 10
    head = err["message"].split("\n* ", 1)[0]
    err["message"] = (
        f"{head}\n* Quota exceeded for metric: generativelanguage.googleapis.com/"
        f"generate_content_free_tier_requests, limit: {limit}, model: {model}\n"
        f"Please retry in {retry_s:.9f}s."
    )
    for detail in err["details"]:
        if detail["@type"].endswith("QuotaFailure"):
            detail["violations"] = [
                {**v, "quotaDimensions": {**v["quotaDimensions"], "model": model}, "quotaValue": str(limit)}
                for v in detail["violations"]
                if v["quotaId"].startswith("GenerateRequestsPerMinute")
            ]
        if detail["@type"].endswith("RetryInfo"):
            detail["retryDelay"] = f"{int(retry_s)}s"
    return body


def _gemini_per_day(model: str, per_day: int | None) -> dict[str, Any]:
    body = copy.deepcopy(load_fixture("gemini_429_per_day.json"))
    err = body["error"]
    limit = per_day if per_day is not None else 20
    err["message"] = err["message"].replace(
        "limit: 20, model: gemini-2.5-flash-lite", f"limit: {limit}, model: {model}"
    )
    for detail in err["details"]:
        for v in detail.get("violations", []):
            v["quotaValue"] = str(limit)
            v["quotaDimensions"]["model"] = model
    return body


def _gemini_server_error(status: int) -> dict[str, Any]:
    if status == 503:
        return {
            "error": {
                "code": 503,
                "message": "The model is overloaded. Please try again later.",
                "status": "UNAVAILABLE",
            }
        }
    return {
        "error": {
            "code": status,
            "message": "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
            "status": "INTERNAL",
        }
    }


_GEMINI_KEY_INVALID = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": "API key not valid. Please pass a valid API key.",
            },
        ],
    }
}


def _openai_rate_limited(model: str, rpm: int | None, retry_s: float) -> dict[str, Any]:
    body = copy.deepcopy(load_fixture("openai_compat_429_openai.json"))
    limit = rpm if rpm is not None else 10
    body["error"]["message"] = (
        f"Rate limit reached for {model or 'model'} in organization org-fake on requests per min (RPM): "
        f"Limit {limit}, Used {limit}, Requested 1. Please try again in {retry_s:.3f}s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    body["error"]["type"] = "requests"
    return body


_OPENAI_QUOTA = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
}
_OPENAI_KEY_INVALID = {
    "error": {
        "message": "Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
_OPENAI_SERVER_ERROR = {
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose extractable text is `text` (ASCII), for attachment tests."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
